"""Accidents under State Council Decree 493 (issue 14, item 4), on a moving clock: the grade from deaths,
serious injuries and direct loss (the highest any of them gives; the decision table accident_grade), the
enterprise's report within 1 hour (art. 9), the county's report to the city within 2 hours and the
city's further up for 较大 and above (arts. 10–11), recorded; the investigation report within 60 days,
extended with approval by at most 60 days (art. 29), calendar days ending at the end of their last day, or of
the first working day after it (Civil Code arts. 201-203: the expected instants come from the platform's
calendar); the closing approval. Cases started on the version that counted 60 × 24 hours from the accident
(tests/bpmn/accident_2026_exact_days.bpmn, the released one) keep it."""
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flows import end_of
from test_accident import close, complete, named_task, report, report_up

from workflows.engine import clock

LOCAL = ZoneInfo("Asia/Shanghai")
EXACT_DAYS = Path(__file__).resolve().parent / "bpmn" / "accident_2026_exact_days.bpmn"
BPMN_DIR = EXACT_DAYS.parent.parent.parent / "bpmn"


def calendar_days(app, start: datetime, days: int) -> datetime:
    """Where ``days`` calendar days after ``start`` end on the platform's calendar (moved off a rest day)."""
    from web.extensions import db
    from workflows.services import working_days

    with app.app_context():
        return working_days.period_end(db.session, start, days, "days")


def escalations(api, case_id: int) -> list[tuple[str, str]]:
    history = api("keqiao_supervisor").get(f"/cases/{case_id}").json["history"]
    return [(h["detail"]["to"], h["detail"]["text"]) for h in history if h["event"] == "authority_notified"]


def by_enterprise(api, app, **figures) -> dict:
    """An accident the enterprise itself reports (its art. 9 report is the case's opening)."""
    resp = report(api, app, "kq_bottled_admin", source="enterprise", **figures)
    assert resp.status_code == 201, resp.json
    return resp.json


@pytest.mark.parametrize(("deaths", "injuries", "loss", "grade"), [
    (0, 0, 0, "general"),
    (2, 9, 9_990_000, "general"),  # just under every 较大 boundary
    (3, 0, 0, "larger"),
    (0, 10, 0, "larger"),
    (0, 0, 10_000_000, "larger"),
    (9, 49, 49_999_999.99, "larger"),
    (10, 0, 0, "major"),
    (0, 50, 0, "major"),
    (0, 0, 50_000_000, "major"),
    (3, 50, 0, "major"),  # the highest that any of the three gives
    (29, 99, 99_999_999, "major"),
    (30, 0, 0, "especially_major"),
    (0, 100, 0, "especially_major"),
    (0, 0, 100_000_000, "especially_major"),
], ids=["none", "just-under", "3-deaths", "10-injured", "10-million", "top-of-larger", "10-deaths", "50-injured",
        "50-million", "highest-of-three", "top-of-major", "30-deaths", "100-injured", "100-million"])
def test_grade_at_each_boundary(app, api, deaths, injuries, loss, grade):
    case = by_enterprise(api, app, deaths=deaths, serious_injuries=injuries, direct_loss=loss)
    data = case["data"]
    assert data["grade"] == grade and data["report_up"] is (grade != "general")
    assert data["decisions"]["accident_grade"]["grade"] == grade
    # The enterprise reported: no report is asked of it; the county's report to the city is.
    names = sorted(t["name"] for t in api("keqiao_supervisor").get(f"/cases/{case['id']}").json["tasks"])
    assert names == ["Task_report_city", "Task_response"]


def test_the_enterprise_reports_within_an_hour_or_the_county_is_told(app, api, engine):
    occurred = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    case = report(api, app, occurred_at=occurred.isoformat()).json  # an emergency call, not the enterprise
    staff = api("kq_bottled_staff")
    task = named_task(staff, case["id"], "Task_enterprise_report")
    assert datetime.fromisoformat(task["due_at"]) == occurred + timedelta(hours=1)
    assert engine.run_due_timers(occurred + timedelta(minutes=59)) == 0
    assert escalations(api, case["id"]) == []
    assert engine.run_due_timers(occurred + timedelta(minutes=61)) == 1
    [(to, text)] = escalations(api, case["id"])
    assert to == "county" and "1 小时" in text and "第九条" in text
    inspector_notes = api("keqiao_inspector").get("/notifications?per_page=100").json["items"]
    assert any(n["case_id"] == case["id"] and "1 小时" in n["text"] for n in inspector_notes)
    # The report is still owed; its figures are kept as the enterprise reported them.
    bad = staff.post(f"/tasks/{task['id']}/complete", {"data": {"enterprise_reporter": "站长", "reported_deaths": -1}})
    assert bad.status_code == 422 and {"situation", "reported_deaths"} <= set(bad.json["error"]["fields"])
    done = complete(staff, task, {"situation": "爆燃，3 人死亡", "enterprise_reporter": "站长李四",
                                  "reported_deaths": 3})
    assert done["data"]["reported_deaths"] == 3 and done["data"]["grade"] == "general"  # the first report's figures
    # ... and it did not hold up the county's report to the city, open all along.
    assert any(t["name"] == "Task_report_city" for t in api("keqiao_supervisor").get(f"/cases/{case['id']}")
               .json["tasks"])


def test_an_enterprise_report_in_time_tells_nobody(app, api, engine):
    occurred = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    case = report(api, app, occurred_at=occurred.isoformat()).json
    staff = api("kq_bottled_staff")
    complete(staff, named_task(staff, case["id"], "Task_enterprise_report"),
             {"situation": "泄漏，无伤亡", "enterprise_reporter": "站长李四"})
    assert engine.run_due_timers(occurred + timedelta(minutes=61)) == 0
    assert escalations(api, case["id"]) == []


def test_the_county_reports_to_the_city_within_two_hours_for_every_grade(app, api, engine):
    case = by_enterprise(api, app)  # 一般: still reported to the city
    supervisor = api("keqiao_supervisor")
    task = named_task(supervisor, case["id"], "Task_report_city")
    due = datetime.fromisoformat(task["due_at"])
    assert timedelta(hours=1, minutes=59) < due - datetime.now(UTC) <= timedelta(hours=2)
    assert engine.run_due_timers(datetime.now(UTC) + timedelta(minutes=118)) == 0
    assert engine.run_due_timers(datetime.now(UTC) + timedelta(minutes=121)) == 1
    [(to, text)] = escalations(api, case["id"])
    assert to == "city" and "2 小时" in text
    admin_notes = api("admin").get("/notifications?per_page=100").json["items"]
    assert any(n["case_id"] == case["id"] and "2 小时" in n["text"] for n in admin_notes)

    missing = supervisor.post(f"/tasks/{task['id']}/complete", {"data": {"reporter": "张三", "method": "pigeon"}})
    assert missing.status_code == 422
    assert {"reported_at", "reported_to", "method"} <= set(missing.json["error"]["fields"])
    done = report_up(api, case["id"])
    # A general accident goes no further than the city.
    assert done["data"]["grade"] == "general" and not any(t["name"] == "Task_report_up" for t in done["tasks"])
    [record] = done["data"]["upward_reports"]
    assert record["reporter"] == "值班员张三" and record["reported_to"] == "绍兴市应急管理局"
    assert record["method"] == "phone" and record["reported_at"]
    completed = [h for h in done["history"] if h["event"] == "task_completed" and h["task"] == "县级上报市级"]
    assert completed[0]["actor"] == "keqiao_supervisor"


def test_a_county_report_in_time_tells_the_city_nothing(app, api, engine):
    case = by_enterprise(api, app)
    report_up(api, case["id"])
    assert engine.run_due_timers(datetime.now(UTC) + timedelta(minutes=121)) == 0
    assert escalations(api, case["id"]) == []


def test_a_larger_accident_goes_on_from_the_city_and_each_report_is_recorded(app, api):
    case = by_enterprise(api, app, deaths=3)
    report_up(api, case["id"])
    admin = api("admin")
    task = named_task(admin, case["id"], "Task_report_up")
    assert task["role"] == "city_admin"
    assert timedelta(hours=1, minutes=59) < datetime.fromisoformat(task["due_at"]) - datetime.now(UTC) \
        <= timedelta(hours=2)
    done = report_up(api, case["id"], "admin", to="浙江省应急管理厅")
    reports = done["data"]["upward_reports"]
    assert [r["reported_to"] for r in reports] == ["绍兴市应急管理局", "浙江省应急管理厅"]
    # The county cannot do the city's report.
    assert not any(t["name"] == "Task_report_up" for t in api("keqiao_supervisor").get("/tasks?scope=all")
                   .json["items"])


def to_investigation(api, app, occurred: datetime) -> tuple[dict, dict]:
    case = by_enterprise(api, app, occurred_at=occurred.isoformat())
    report_up(api, case["id"])
    staff = api("kq_bottled_staff")
    complete(staff, named_task(staff, case["id"], "Task_response"),
             {"measures": "关阀抢修", "finished_at": (occurred + timedelta(hours=1)).isoformat()})
    inspector = api("keqiao_inspector")
    return case, named_task(inspector, case["id"], "Task_investigate")


def ask_extension(api, task, days, status=200):
    resp = api("keqiao_inspector").post(f"/tasks/{task['id']}/complete", {"data": {
        "action": "request_extension", "extension_days": days, "extension_reason": "需技术鉴定"}})
    assert resp.status_code == status, resp.json
    return resp.json


def decide_extension(api, case_id, data, status=200):
    supervisor = api("keqiao_supervisor")
    task = named_task(supervisor, case_id, "Task_extension")
    resp = supervisor.post(f"/tasks/{task['id']}/complete", {"data": data})
    assert resp.status_code == status, resp.json
    return resp.json


def test_the_investigation_is_due_in_sixty_days(app, api, engine):
    occurred = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    case, task = to_investigation(api, app, occurred)
    due = calendar_days(app, occurred, 60)
    assert datetime.fromisoformat(task["due_at"]) == due
    assert engine.run_due_timers(due - timedelta(minutes=1)) == 0
    assert engine.run_due_timers(due + timedelta(minutes=1)) == 1
    [(to, text)] = escalations(api, case["id"])
    assert to == "city" and "第二十九条" in text
    # Still owed after the deadline; a report states its figures.
    missing = api("keqiao_inspector").post(f"/tasks/{task['id']}/complete",
                                           {"data": {"action": "submit", "cause": " ", "deaths": -1}})
    assert missing.status_code == 422 and {"cause", "deaths"} <= set(missing.json["error"]["fields"])
    done = complete(api("keqiao_inspector"), task, {"action": "submit", "cause": "角阀老化", "deaths": 0,
                                                    "serious_injuries": 1, "direct_loss": 20000})
    assert done["data"]["casualties"] == 1 and done["data"]["economic_loss"] == 20000
    assert [t["name"] for t in done["tasks"]] == ["Task_conclude"]


def test_an_approved_extension_moves_the_deadline_by_at_most_sixty_days(app, api, engine):
    occurred = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    case, task = to_investigation(api, app, occurred)
    over = ask_extension(api, task, 61, status=422)
    assert "extension_days" in over["error"]["fields"]
    for bad in ({"extension_days": 0}, {"extension_days": "many"}, {}):
        resp = api("keqiao_inspector").post(f"/tasks/{task['id']}/complete", {"data": {
            "action": "request_extension", "extension_reason": "x", **bad}})
        assert resp.status_code == 422 and "extension_days" in resp.json["error"]["fields"], bad
    no_reason = api("keqiao_inspector").post(f"/tasks/{task['id']}/complete", {"data": {
        "action": "request_extension", "extension_days": 10}})
    assert no_reason.status_code == 422 and "extension_reason" in no_reason.json["error"]["fields"]

    ask_extension(api, task, 30)
    assert decide_extension(api, case["id"], {"decision": "approve", "approved_days": 61},
                            status=422)["error"]["fields"].keys() == {"approved_days"}
    decide_extension(api, case["id"], {"decision": "approve", "approved_days": 30, "comment": "同意延期 30 日"})
    task = named_task(api("keqiao_inspector"), case["id"], "Task_investigate")
    # The 30 days run on from the end of the 60, counted the same way.
    first = calendar_days(app, calendar_days(app, occurred, 60), 30)
    assert datetime.fromisoformat(task["due_at"]) == first
    assert engine.run_due_timers(calendar_days(app, occurred, 60) + timedelta(days=1)) == 0  # the old one is gone
    assert escalations(api, case["id"]) == []

    over = ask_extension(api, task, 31, status=422)  # 30 of the 60 days are left
    assert "extension_days" in over["error"]["fields"]
    ask_extension(api, task, 30)
    decide_extension(api, case["id"], {"decision": "approve", "approved_days": 30})
    task = named_task(api("keqiao_inspector"), case["id"], "Task_investigate")
    second = calendar_days(app, first, 30)
    assert datetime.fromisoformat(task["due_at"]) == second
    spent = ask_extension(api, task, 1, status=422)  # the law allows no more
    assert "extension_days" in spent["error"]["fields"]
    assert engine.run_due_timers(second - timedelta(minutes=1)) == 0
    assert engine.run_due_timers(second + timedelta(minutes=1)) == 1
    assert [to for to, _text in escalations(api, case["id"])] == ["city"]


def test_an_investigation_that_finds_a_larger_accident_sends_it_up_from_the_city(app, api):
    occurred = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    case, task = to_investigation(api, app, occurred)  # first reported with no casualties: 一般
    done = complete(api("keqiao_inspector"), task, {"action": "submit", "cause": "爆燃", "deaths": 1,
                                                    "serious_injuries": 12, "direct_loss": 300000})
    assert done["data"]["grade"] == "larger" and done["data"]["decisions"]["accident_grade"]["grade"] == "larger"
    admin = api("admin")
    late = named_task(admin, case["id"], "Task_report_up_late")
    assert late["role"] == "city_admin"
    done = complete(admin, late, {"reporter": "市局值班员", "reported_at": datetime.now(UTC).isoformat(),
                                  "reported_to": "浙江省应急管理厅", "method": "fax"})
    assert [r["reported_to"] for r in done["data"]["upward_reports"]] == ["绍兴市应急管理局", "浙江省应急管理厅"]
    assert [t["name"] for t in done["tasks"]] == ["Task_conclude"]


def test_a_refused_extension_keeps_the_deadline(app, api, engine):
    occurred = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    case, task = to_investigation(api, app, occurred)
    ask_extension(api, task, 20)
    decide_extension(api, case["id"], {"decision": "refuse", "comment": "理由不足"})
    task = named_task(api("keqiao_inspector"), case["id"], "Task_investigate")
    due = calendar_days(app, occurred, 60)
    assert datetime.fromisoformat(task["due_at"]) == due
    data = api("keqiao_supervisor").get(f"/cases/{case['id']}").json["data"]
    assert data["extension_granted_days"] == 0
    assert engine.run_due_timers(due + timedelta(minutes=1)) == 1


AUG_5 = datetime(2026, 8, 5, 10, 0, tzinfo=LOCAL)  # the 60th day after is 2026-10-04, in the National Day holiday


def working_day(app, day: date) -> bool:
    from web.extensions import db
    from workflows.services import working_days

    with app.app_context():
        return working_days.load(db.session).is_working_day(day)


def test_an_investigation_due_in_the_national_day_holiday_is_due_on_the_first_working_day_after_it(
        app, api, engine):
    """Art. 29's 60 days as Civil Code arts. 201-203 count them: an accident on 2026-08-05 at 10:00 has its
    60th day on 10-04, a holiday, so the report is due at the end of the first working day after the holiday,
    not at 10:00 on 10-04; and an extension of 30 days runs on from that end, itself moved off a rest day."""
    sixtieth = AUG_5.date() + timedelta(days=60)
    first_after = sixtieth
    while not working_day(app, first_after):
        first_after += timedelta(days=1)
    assert first_after > date(2026, 10, 7)
    with clock.frozen_at(AUG_5 + timedelta(hours=3)):
        case, task = to_investigation(api, app, AUG_5)
    due = datetime.fromisoformat(task["due_at"])
    assert due == calendar_days(app, AUG_5, 60)
    local = due.astimezone(LOCAL)
    assert local.date() == first_after and (local.hour, local.minute, local.second) == (23, 59, 59)
    # Nothing is late during the holiday nor on the working day it moves to.
    assert engine.run_due_timers(due - timedelta(minutes=1)) == 0 and escalations(api, case["id"]) == []
    with clock.frozen_at(due - timedelta(hours=8)):
        ask_extension(api, task, 30)
        decide_extension(api, case["id"], {"decision": "approve", "approved_days": 30, "comment": "同意延期 30 日"})
        task = named_task(api("keqiao_inspector"), case["id"], "Task_investigate")
    extended = datetime.fromisoformat(task["due_at"])
    assert extended == calendar_days(app, due, 30)
    assert working_day(app, extended.astimezone(LOCAL).date())
    assert engine.run_due_timers(extended - timedelta(minutes=1)) == 0
    assert engine.run_due_timers(extended + timedelta(minutes=1)) == 1


def test_a_case_started_on_the_released_version_keeps_its_sixty_times_twenty_four_hours(app, api, engine):
    """The released accident model counted 60 × 24 hours from the accident: a case started on it keeps that
    version and its deadline when bpmn/accident.bpmn, counting as the Civil Code does, is deployed after it;
    a case started after that counts the new way."""
    _id, created = engine.deploy(EXACT_DAYS.read_bytes())
    assert created  # the released version is the newest again for this test
    with clock.frozen_at(AUG_5 + timedelta(hours=3)):
        old_case, old_task = to_investigation(api, app, AUG_5)
    content = (BPMN_DIR / "accident.bpmn").read_bytes().replace(
        b"</bpmn:definitions>", b"<!-- deployed again -->\n</bpmn:definitions>")
    _id, created = engine.deploy(content)
    assert created
    with clock.frozen_at(AUG_5 + timedelta(hours=3)):
        new_case, new_task = to_investigation(api, app, AUG_5)
    supervisor = api("keqiao_supervisor")
    old_version, new_version = (supervisor.get(f"/cases/{c['id']}").json["version"] for c in (old_case, new_case))
    assert old_version < new_version
    assert datetime.fromisoformat(old_task["due_at"]) == AUG_5 + timedelta(days=60)
    assert datetime.fromisoformat(new_task["due_at"]) == calendar_days(app, AUG_5, 60)
    # The old case's timer still fires at its own instant, the new one's waits for the end of its period.
    assert engine.run_due_timers(AUG_5 + timedelta(days=60, minutes=1)) == 1
    assert [to for to, _ in escalations(api, old_case["id"])] == ["city"] and escalations(api, new_case["id"]) == []


def test_the_closing_approval_ends_the_case_or_returns_it(app, api):
    occurred = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    case, task = to_investigation(api, app, occurred)
    complete(api("keqiao_inspector"), task, {"action": "submit", "cause": "角阀老化", "deaths": 0,
                                              "serious_injuries": 0, "direct_loss": 5000})
    supervisor, admin = api("keqiao_supervisor"), api("admin")
    complete(supervisor, named_task(supervisor, case["id"], "Task_conclude"),
             {"conclusion": "一般事故", "responsibility": "企业"})
    close_task = named_task(admin, case["id"], "Task_close")
    bare = admin.post(f"/tasks/{close_task['id']}/complete", {"data": {"decision": "return"}})
    assert bare.status_code == 422 and "comment" in bare.json["error"]["fields"]
    returned = complete(admin, close_task, {"decision": "return", "comment": "责任认定不清"})
    assert [t["name"] for t in returned["tasks"]] == ["Task_conclude"]
    complete(supervisor, named_task(supervisor, case["id"], "Task_conclude"),
             {"conclusion": "一般事故", "responsibility": "企业设备维护不到位"})
    done = close(api, case["id"])
    assert done["status"] == "completed" and end_of(done) == "End_closed"


@pytest.mark.parametrize(("field", "value"), [
    ("deaths", -1), ("serious_injuries", 10**9), ("direct_loss", "a lot"), ("direct_loss", -5),
    ("deaths", 2.5),
], ids=["deaths-negative", "injuries-huge", "loss-text", "loss-negative", "deaths-fraction"])
def test_bad_figures_are_refused_naming_the_field(app, api, field, value):
    resp = report(api, app, **{field: value})
    assert resp.status_code == 422 and field in resp.json["error"]["fields"], resp.json
    assert api("keqiao_inspector").get("/cases?process=accident").json["total"] == 0


def test_task_pages_show_the_new_forms_and_refuse_a_long_extension(app, api, browser):
    occurred = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    case = report(api, app, occurred_at=occurred.isoformat()).json
    staff = api("kq_bottled_staff")
    own_report = named_task(staff, case["id"], "Task_enterprise_report")
    page = browser("kq_bottled_staff").client.get(f"/tasks/{own_report['id']}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'name="reported_deaths"' in html and "企业事故报告" in html
    supervisor = api("keqiao_supervisor")
    to_city = named_task(supervisor, case["id"], "Task_report_city")
    page = browser("keqiao_supervisor").client.get(f"/tasks/{to_city['id']}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'name="reported_to"' in html and "报告方式" in html

    _case, task = to_investigation(api, app, occurred)
    inspector = browser("keqiao_inspector")
    path = f"/tasks/{task['id']}"
    html = inspector.client.get(path).get_data(as_text=True)
    assert 'name="extension_days"' in html and "申请延长调查期限" in html
    resp = inspector.form_post(path, {"action": "request_extension", "extension_days": "90",
                                      "extension_reason": "需技术鉴定"})
    body = resp.get_data(as_text=True)
    assert resp.status_code in (400, 422) and "最多还可延长 60 天" in body
    assert named_task(api("keqiao_inspector"), _case["id"], "Task_investigate")["id"] == task["id"]


def test_the_case_page_shows_grade_reports_and_money_in_chinese(app, api, browser):
    case = by_enterprise(api, app, deaths=3, direct_loss=2500000)
    report_up(api, case["id"])
    html = browser("keqiao_supervisor").client.get(f"/cases/{case['id']}").get_data(as_text=True)
    data = html.split('id="case-data"')[1].split("</dl>")[0]
    assert "较大事故" in data and "2,500,000.00 元" in data and "绍兴市应急管理局" in data and "电话" in data
    for internal in ("larger", "report_up", "upward_reports", "phone", "None"):
        assert internal not in data, internal
