"""Supervision measures (issue 15 item 4): every indicator and the safety score computed against data made in
the test, in a month of its own (March 2035, the clock held there); another county's data does not move them;
the quarterly credit grade is invisible to the enterprise until the city admin publishes it; bad input is 422."""
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import Api, enterprise_id
from flows import ACCEPT, complete, open_order
from sqlalchemy import select

from workflows.engine import clock

SH = ZoneInfo("Asia/Shanghai")
KQB, YCP = "柯桥区瓶装液化气供应有限公司", "越城燃气有限公司"
MONTH = "2035-03"
IN_MARCH = datetime(2035, 3, 20, 12, 0, tzinfo=SH)
AFTER = datetime(2035, 4, 15, 12, 0, tzinfo=SH)


@pytest.fixture
def yc_supervisor(app):
    """The demo has no county supervisor for 越城区; Yuecheng's data is reviewed by one made here."""
    from models import Region, User
    from web.extensions import db

    with app.app_context():
        county = db.session.scalar(select(Region).where(Region.name == "越城区"))
        db.session.add(User(username="yuecheng_supervisor", display_name="越城区主管部门 孙科长", password_hash="!",
                            role="county_supervisor", county_id=county.id, must_change_password=False))
        db.session.commit()
    return Api(app, "yuecheng_supervisor")


def at(instant):
    return clock.frozen_at(instant.astimezone(UTC))


def accept_batch(supervisor, answer):
    if answer["case"] is None:  # plausible operational data is official at once (acceptance "auto")
        assert answer["accepted"] and all(a["status"] == "official" for a in answer["accepted"]), answer
        return
    case = supervisor.get(f"/cases/{answer['case']}").json
    task = next(t for t in case["tasks"] if t["name"] == "Task_review")
    n = len(case["data"]["items"])
    done = supervisor.post(f"/tasks/{task['id']}/complete", {"data": {f"decision_{r}": "accept"
                                                                       for r in range(1, n + 1)}})
    assert done.status_code == 200, done.json


def submit(user, supervisor, kind, records):
    sent = user.post(f"/data/{kind}", {"records": records})
    assert sent.status_code == 202, sent.json
    accept_batch(supervisor, sent.json)


def one(reply, ent_id):
    return next(r for r in reply["enterprises"] if r["enterprise"]["id"] == ent_id)


def county_of(reply, name):
    return next(c for c in reply["counties"] if c["county"]["name"] == name)


def kq_world(app, api):
    """Keqiao bottled company's March 2035: three users (one inspected, one nobody at home, one inspected only
    before the cycle), three daily volumes (one on time, two late), two rectification orders closed (one in
    time, one after its deadline passed) and a warning closed after six hours."""
    from web.extensions import case_engine

    admin, supervisor, inspector = api("kq_bottled_admin"), api("keqiao_supervisor"), api("keqiao_inspector")
    kqb = enterprise_id(app, KQB)
    with at(IN_MARCH):
        submit(admin, supervisor, "gas_user", [
            {"external_id": "MU-1", "name": "钱大妈", "user_type": "residential"},
            {"external_id": "MU-2", "name": "孙大爷", "user_type": "residential"},
            {"external_id": "MU-3", "name": "李阿姨", "user_type": "residential"}])
        submit(admin, supervisor, "household_inspection", [
            {"external_id": "HI-1", "user_ref": "MU-1", "inspected_at": "2035-03-18T10:00:00+08:00",
             "result": "safe"},
            {"external_id": "HI-2", "user_ref": "MU-2", "inspected_at": "2035-03-18T11:00:00+08:00",
             "result": "not_home"},
            # before the twelve-month cycle: not inspected in it, but not "never"
            {"external_id": "HI-3", "user_ref": "MU-3", "inspected_at": "2034-03-01T09:00:00+08:00",
             "result": "safe"}])
        submit(admin, supervisor, "daily_volume", [
            {"external_id": f"DV-{d}", "date": f"2035-03-{d}", "unit": "kg", "inbound": 100, "supplied": 90,
             "stock": 10} for d in ("10", "18", "19")])
        future = (IN_MARCH + timedelta(hours=48)).isoformat()
        in_time = open_order(api, app, kqb, deadline=future)["id"]
        complete(admin, in_time, "Task_respond", {"response": "已整改"})
        complete(inspector, in_time, "Task_verify", ACCEPT)
        late = open_order(api, app, kqb, deadline=future)["id"]
    assert case_engine(app).run_due_timers((IN_MARCH + timedelta(days=3)).astimezone(UTC)) >= 1
    with at(IN_MARCH + timedelta(days=3, hours=1)):
        complete(supervisor, late, "Task_escalate", {"action": "extend",
                                                     "deadline_at": (IN_MARCH + timedelta(days=6)).isoformat()})
        complete(admin, late, "Task_respond", {"response": "已整改"})
        complete(inspector, late, "Task_verify", ACCEPT)
        high = {"site": "KQ-LPG-01", "site_kind": "storage_station", "sensor": "T-09", "quantity": "temperature"}
        sent = admin.post("/readings", {"readings": [
            {**high, "value": 61, "at": "2035-03-21T08:00:00+08:00"},
            {**high, "value": 20, "at": "2035-03-21T14:00:00+08:00"}]})
        assert sent.status_code == 202 and len(sent.json["warnings_opened"]) == 1, sent.json
    return kqb


def yc_world(app, yc_supervisor, api):
    """越城燃气 (another county): users never inspected, a patrol, a late volume, an order closed late."""
    staff = api("yc_pipeline_staff")
    with at(IN_MARCH):
        submit(staff, yc_supervisor, "gas_user", [{"external_id": "YU-1", "name": "周先生",
                                                   "user_type": "residential"}])
        submit(staff, yc_supervisor, "patrol_record", [
            {"external_id": f"PR-{d}", "patrolled_at": f"2035-03-{d}T09:00:00+08:00", "patroller": "周丽"}
            for d in ("03", "10", "17")])
        submit(staff, yc_supervisor, "daily_volume", [{"external_id": "YV-1", "date": "2035-03-01", "unit": "m3",
                                                        "inbound": 1, "supplied": 1, "stock": 0}])


def test_every_indicator_from_data_made_here_and_another_county_moves_none(app, api, yc_supervisor):
    supervisor = api("keqiao_supervisor")
    kqb = kq_world(app, api)
    with at(AFTER):
        before = supervisor.get(f"/indicators?month={MONTH}").json
    mine = one(before, kqb)
    assert mine["household_coverage"]["registered"] == 3 and mine["household_coverage"]["inspected"] == 1
    assert mine["household_coverage"]["rate"] == 0.3333 and mine["household_coverage"]["cycle_months"] == 12
    assert mine["household_coverage"]["not_inspected"] == [{"user_ref": "MU-2", "name": "孙大爷", "never": True},
                                                           {"user_ref": "MU-3", "name": "李阿姨", "never": False}]
    assert mine["household_coverage"]["never_inspected"] == 1
    assert mine["patrol"] == {"done": 0, "planned": 0, "rate": None}  # a bottled company patrols no network
    assert mine["rectification"] == {"closed": 2, "on_time": 1, "rate": 0.5}
    # 31 days fell due; 19 March's volume came in time, 10 and 18 March's late, the rest never.
    assert {k: mine["timeliness"][k] for k in ("expected", "on_time", "late", "missing")} == {
        "expected": 31, "on_time": 1, "late": 2, "missing": 28}
    assert mine["timeliness"]["rate"] == round(1 / 31, 4)
    assert mine["warning_disposal"] == {"closed": 1, "median_hours": 6.0, "mean_hours": 6.0}
    assert [c["county"]["name"] for c in before["counties"]] == ["柯桥区"]  # the supervisor's area only

    # Yuecheng's data moves Keqiao's figures not at all; Yuecheng's own are computed from it.
    yc_world(app, yc_supervisor, api)
    with at(AFTER):
        after = supervisor.get(f"/indicators?month={MONTH}").json
        city = api("admin").get(f"/indicators?month={MONTH}").json
    assert one(after, kqb) == mine and county_of(after, "柯桥区") == county_of(before, "柯桥区")
    yc = one(city, enterprise_id(app, YCP))
    assert yc["patrol"] == {"done": 3, "planned": 8, "rate": 0.375}
    assert yc["household_coverage"]["not_inspected"] == [{"user_ref": "YU-1", "name": "周先生", "never": True}]
    assert yc["timeliness"]["late"] == 1 and yc["timeliness"]["by_kind"]["monthly_supply"]["missing"] == 1
    assert county_of(city, "柯桥区") == county_of(before, "柯桥区")
    # An enterprise sees itself only; one enterprise filtered out of the area is simply absent.
    own = api("kq_bottled_admin").get(f"/indicators?month={MONTH}&enterprise={enterprise_id(app, YCP)}").json
    assert own["enterprises"] == []
    with at(AFTER):
        assert [r["enterprise"]["id"] for r in api("kq_bottled_admin").get(
            f"/indicators?month={MONTH}").json["enterprises"]] == [kqb]


def test_score_explained_by_its_rules_ranked_and_graded_after_approval(app, api, yc_supervisor):
    from web.background.schedule import JOBS

    kqb = kq_world(app, api)
    # The day after the quarter's last day: the daily job stores 31 March's scores and drafts Q1's grades.
    with at(datetime(2035, 4, 1, 0, 30, tzinfo=SH)):
        assert JOBS["safety_scores"].run(app) >= 2
        assert JOBS["safety_scores"].run(app) == 0  # once a day
        stored = api("keqiao_supervisor").get("/scores?day=2035-03-31&quarter=2035-Q1").json
    mine = next(s for s in stored["scores"] if s["enterprise"]["id"] == kqb)
    rules = {r["description"]: r["points"] for r in mine["details"]["rules"]}
    # Coverage 33 % (-10), rectification in time 50 % (-10), timeliness under 90 % (-5); no penalties or accidents.
    assert rules == {"入户安检覆盖率低于 60%: 扣 10 分": -10, "整改按期率低于 80%: 扣 10 分": -10,
                     "数据按时报送率低于 90%: 扣 5 分": -5}
    assert mine["score"] == 100 + sum(rules.values()) == 75
    assert mine["details"]["inputs"]["coverage"] == 0.3333 and mine["county"]["name"] == "柯桥区"
    assert 1 <= mine["county_rank"] <= mine["county_of"] and 1 <= mine["city_rank"] <= mine["city_of"]
    assert all(s["county"]["name"] == "柯桥区" for s in stored["scores"])

    # Q1's grade: a draft the county sees; the enterprise does not, until the city admin publishes it.
    grade = next(g for g in stored["grades"] if g["enterprise"]["id"] == kqb)
    assert grade["status"] == "draft" and grade["grade"] == "B" and grade["average_score"] == 75
    owner = api("kq_bottled_admin")
    with at(AFTER):
        assert owner.get("/scores?quarter=2035-Q1").json["grades"] == []
    from conftest import csrf_of, sign_in_form

    owner_page = app.test_client()
    sign_in_form(owner_page, "kq_bottled_admin", _password())
    home = owner_page.get("/enterprise/").get_data(as_text=True)  # pages at the real time: sessions age
    assert 'id="measures"' in home and "尚未发布" in home and "区县排名" in home

    county_page = app.test_client()
    sign_in_form(county_page, "keqiao_supervisor", _password())
    page = county_page.get("/portal/measures?month=2035-03&quarter=2035-Q1")
    assert page.status_code == 200
    refused = county_page.post("/portal/measures/grades/2035-Q1/publish", data={"csrf_token": csrf_of(page.data)})
    assert refused.status_code == 403
    city = app.test_client()
    sign_in_form(city, "admin", _password())
    page = city.get("/portal/measures?month=2035-03&quarter=2035-Q1")
    assert "B" in page.get_data(as_text=True) and "待审核" in page.get_data(as_text=True)
    done = city.post("/portal/measures/grades/2035-Q1/publish", data={"csrf_token": csrf_of(page.data)})
    assert done.status_code == 302
    with at(AFTER):
        published = owner.get("/scores?quarter=2035-Q1").json["grades"]
    assert [(g["grade"], g["status"]) for g in published] == [("B", "published")]
    assert published[0]["enterprise"]["id"] == kqb
    home = owner_page.get("/enterprise/").get_data(as_text=True)
    assert "尚未发布" not in home and "<strong>B</strong> <span class=\"muted\">（2035年第1季度）</span>" in home
    # The page's figures as Excel: the month's measures, the users never inspected, the scores and the grades
    # (the measures' values are those of the API, checked above; here the page's own time, so the grades).
    book = city.get("/portal/measures/export.xlsx?month=2035-03&quarter=2035-Q1")
    dash = city.get("/portal/")
    assert book.status_code == 200 and 'id="dash-measures"' in dash.get_data(as_text=True)
    from io import BytesIO

    from openpyxl import load_workbook

    sheets = load_workbook(BytesIO(book.data))
    assert sheets.sheetnames[:3] == ["监管指标2035-03", "区县汇总", "未入户安检用户"]
    assert KQB in {r[0] for r in sheets["监管指标2035-03"].iter_rows(min_row=2, values_only=True)}
    assert [r[2:4] for r in sheets["信用等级2035-Q1"].iter_rows(min_row=2, values_only=True)
            if r[0] == KQB] == [("B", "已发布")]
    # Drafting again leaves a published grade as it is; a quarter not yet over is not drafted.
    page = city.get("/portal/measures?quarter=2035-Q1")
    assert city.post("/portal/measures/grades/2035-Q1/draft", data={"csrf_token": csrf_of(page.data)}
                     ).status_code == 302
    with at(AFTER):
        assert owner.get("/scores?quarter=2035-Q1").json["grades"][0]["status"] == "published"
    early = city.post("/portal/measures/grades/2099-Q1/draft", data={"csrf_token": csrf_of(page.data)},
                      follow_redirects=True)
    assert "季度结束后才能生成" in early.get_data(as_text=True)
    # A second publication finds nothing to approve.
    page = city.get("/portal/measures?quarter=2035-Q1")
    again = city.post("/portal/measures/grades/2035-Q1/publish", data={"csrf_token": csrf_of(page.data)})
    assert again.status_code == 404


def _password():
    from web.demo.seed import DEMO_PASSWORD

    return DEMO_PASSWORD


@pytest.mark.parametrize("query, field", [
    ("/indicators?month=2025-13", "month"), ("/indicators?month=March", "month"),
    ("/indicators?month=0000-01", "month"),
    ("/indicators?county=abc", "county"), ("/indicators?enterprise=-1", "enterprise"),
    ("/scores?day=2025-02-30", "day"), ("/scores?day=2999-01-01", "day"), ("/scores?quarter=2025-Q5", "quarter"),
    ("/scores?quarter=%00", "quarter"),
])
def test_bad_input_is_422_naming_the_field(api, query, field):
    resp = api("keqiao_supervisor").get(query)
    assert resp.status_code == 422, resp.data
    assert field in resp.json["error"]["fields"]


def test_the_city_admin_changes_the_scoring_rules_by_uploading_a_new_table(app, api, yc_supervisor):
    """The points are the DMN table's: a new version of ``safety_score`` changes today's score at once, and the
    score names the rule and its new points. Another county's data does not move the score."""
    from pathlib import Path

    kqb = kq_world(app, api)
    supervisor = api("keqiao_supervisor")
    today = datetime(2035, 3, 31, 12, 0, tzinfo=SH)  # "today" under the held clock: computed live

    def mine():
        with at(today):
            reply = supervisor.get("/scores")
        assert reply.status_code == 200 and reply.json["live"] is True, reply.json
        return next(s for s in reply.json["scores"] if s["enterprise"]["id"] == kqb)

    assert mine()["score"] == 75
    yc_world(app, yc_supervisor, api)
    assert mine()["score"] == 75
    table = Path(__file__).parent.parent / "bpmn" / "safety_score.dmn"
    raised = table.read_text(encoding="utf-8").replace(
        "入户安检覆盖率低于 60%: 扣 10 分", "入户安检覆盖率低于 60%: 扣 30 分").replace(
        '<outputEntry id="Out_1"><text>-10</text>', '<outputEntry id="Out_1"><text>-30</text>')
    assert raised != table.read_text(encoding="utf-8")
    resp = api("admin").post("/decisions", data=raised.encode(), content_type="application/xml")
    assert resp.status_code == 201, resp.json
    changed = mine()
    assert changed["score"] == 55 and changed["decision_version"] == 2
    assert {"description": "入户安检覆盖率低于 60%: 扣 30 分", "points": -30} in [
        {k: r[k] for k in ("description", "points")} for r in changed["details"]["rules"]]


@pytest.mark.parametrize("query", [
    "month=2035-13&quarter=Q9&county=x", "month=2026-1x&quarter=2026-Q0&county=99999999999999999999",
    "month=" + "9" * 5000 + "&quarter=2025-Q5&county=-1", "month=0000-01&quarter=0000-Q1&county=1e9"])
def test_a_bad_month_on_the_page_is_shown_not_a_server_error(app, browser, query):
    from leaks import page_leaks

    admin = browser("admin")
    page = admin.client.get(f"/portal/measures?{query}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'id="error-summary"' in text and "请从列表中选择月份。" in text and "请从列表中选择季度。" in text
    assert "未知的县（区）" in text or "county=x" not in query
    assert page_leaks(page.data) == []
    assert admin.client.get(f"/portal/measures/export.xlsx?{query}").status_code == 200  # the defaults
    assert browser("kq_bottled_admin").client.get("/portal/measures").status_code == 403
    # NUL and lone surrogates are refused before any page reads them (web/common/hostile_input.py).
    assert admin.client.get("/portal/measures?month=%00&quarter=%ED%A0%80").status_code == 422


def test_months_and_quarters_are_chosen_from_lists_worded_in_chinese(app, browser):
    """No <input type=month>: it speaks the browser's language. The page words the figures with full-width
    punctuation."""
    import re

    from workflows.services.supervision_measures import add_months

    supervisor = browser("keqiao_supervisor")
    html = supervisor.client.get("/portal/measures").get_data(as_text=True)
    linked = supervisor.client.get("/portal/measures?month=2019-03&quarter=2019-Q2").get_data(as_text=True)
    this_month = clock.now().astimezone(SH).date().replace(day=1)
    first = add_months(this_month, -23)
    assert 'type="month"' not in html
    months = re.findall(r'<option value="(\d{4}-\d{2})"[^>]*>([^<]+)</option>', html)
    assert len(months) == 24
    assert months[0] == (f"{this_month:%Y-%m}", f"{this_month.year}年{this_month.month}月")
    assert months[-1] == (f"{first:%Y-%m}", f"{first.year}年{first.month}月")
    assert f'<option value="{this_month:%Y-%m}" selected>' in html
    assert f"{this_month.year}年{this_month.month}月 辖区汇总" in html
    quarter = (this_month.month - 1) // 3 + 1
    assert f'<option value="{this_month.year}-Q{quarter}" >{this_month.year}年第{quarter}季度</option>' in html
    assert re.search(r'<option value="\d{4}-Q\d" selected>\d{4}年第\d季度</option>', html)
    # A month or quarter asked for by a link, outside the lists, is offered and chosen.
    assert '<option value="2019-03" selected>2019年3月</option>' in linked
    assert '<option value="2019-Q2" selected>2019年第2季度</option>' in linked
    area = re.sub(r"<[^>]+>", "", html[html.index('id="measures-area"'):html.index('id="measures-counties"')])
    for half_width in ("次,", "件,", "(", ")", ",平均", ":"):
        assert half_width not in area, half_width
    supervisor.client.set_cookie("locale", "en")
    english = supervisor.client.get("/portal/measures").get_data(as_text=True)
    assert f">{this_month:%B %Y}</option>" in english and f">Q{quarter} {this_month.year}</option>" in english
