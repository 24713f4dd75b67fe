"""The penalty procedure's short periods are working days: Administrative Penalty Law art. 85 (its 二日, 三日,
五日, 七日 are working days, not counting public holidays) and Administrative Compulsion Law art. 69 (its periods
of ten days or less likewise). Driven over the API through bpmn/penalty.bpmn on the engine's clock, around
China's National Day (2026-10-01 to 10-07, with Saturday 10-10 a make-up working day) and weekends; the expected
instants come from the platform's calendar (workflows/services/working_days.py). Cases started on the version
that counted calendar days (tests/bpmn/penalty_2026_calendar_days.bpmn) keep them, and move to the working-day
version when migrated."""
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from conftest import enterprise_id
from flows import open_names, task_named
from penalty_versions import deploy_calendar_days_version, deploy_current_again

from workflows.engine import clock

LOCAL = ZoneInfo("Asia/Shanghai")
EVE_OF_NATIONAL_DAY = datetime(2026, 9, 30, 10, 0, tzinfo=LOCAL)  # a Wednesday; 10-01 to 10-07 are off
LAST_HOLIDAY = date(2026, 10, 7)


@contextmanager
def on(instant: datetime):
    with clock.frozen_at(instant):
        yield


def working(app, start: datetime, days: int) -> datetime:
    """Where ``days`` working days after ``start`` end, on the platform's calendar."""
    from web.extensions import db
    from workflows.services import working_days

    with app.app_context():
        return working_days.add_working_days(db.session, start, days)


def calendar_days(app, start: datetime, days: int) -> datetime:
    """Where ``days`` calendar days after ``start`` end (moved off a rest day), on the platform's calendar."""
    from web.extensions import db
    from workflows.services import working_days

    with app.app_context():
        return working_days.period_end(db.session, start, days, "days")


def act(user, case_id, name, data, when: datetime, status=200) -> dict:
    with on(when):
        task = task_named(user, case_id, name)
        resp = user.post(f"/tasks/{task['id']}/complete", {"data": data})
    assert resp.status_code == status, resp.json
    return resp.json


def notified(api, app, when: datetime, amount=20000) -> int:
    """A case filed, investigated and proposed at ``when``: the prior notice goes out then."""
    inspector = api("keqiao_inspector")
    with on(when):
        resp = inspector.post("/cases", {"process": "penalty", "data": {
            "enterprise_id": enterprise_id(app), "source": "complaint", "facts": "群众举报: 违规向无证经营者供气"}})
    assert resp.status_code == 201, resp.json
    case_id = resp.json["id"]
    act(api("keqiao_supervisor"), case_id, "Task_file_approve", {"filing_decision": "approve"}, when)
    act(inspector, case_id, "Task_investigate", {"findings": "现场查实", "evidence_list": "现场检查笔录"}, when)
    act(inspector, case_id, "Task_propose", {"penalty_type": "fine", "amount": amount,
                                             "legal_basis": "《城镇燃气管理条例》第四十五条"}, when)
    return case_id


def data_of(user, case_id) -> dict:
    return user.get(f"/cases/{case_id}").json["data"]


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


def local_day(value: str) -> date:
    return instant(value).astimezone(LOCAL).date()


def test_a_notice_on_the_eve_of_national_day_counts_defence_and_hearing_request_after_the_holiday(app, api, engine):
    inspector, enterprise = api("keqiao_inspector"), api("kq_bottled_admin")
    case_id = notified(api, app, EVE_OF_NATIONAL_DAY, amount=80000)  # a large fine: the right to a hearing
    data = data_of(enterprise, case_id)
    defence_due, request_due = working(app, EVE_OF_NATIONAL_DAY, 3), working(app, EVE_OF_NATIONAL_DAY, 5)
    # Art. 45 (3 working days, the table's practice) and art. 64 (5 days), working days by art. 85: both end
    # after the holiday, at the end of their last working day, not 3 and 5 calendar days into it.
    assert instant(data["defence_due"]) == defence_due and instant(data["hearing_request_due"]) == request_due
    assert local_day(data["defence_due"]) > LAST_HOLIDAY and local_day(data["hearing_request_due"]) > LAST_HOLIDAY
    assert data["party_due"] == data["hearing_request_due"]
    assert instant(task_named(enterprise, case_id, "Task_defence")["due_at"]) == request_due
    # Five calendar days on (the old count) the period still runs: no timer, the party's task is open.
    assert engine.run_due_timers(EVE_OF_NATIONAL_DAY + timedelta(days=5, minutes=1)) == 0
    # On the second working day after the holiday the party still asks for a hearing in time.
    asked_on = datetime(2026, 10, 9, 9, 0, tzinfo=LOCAL)
    assert asked_on < request_due
    act(enterprise, case_id, "Task_defence", {"statement": "请求听证", "request_hearing": True}, asked_on)
    # The hearing notice goes out at least 7 working days before the hearing (arts. 64 and 85).
    earliest = working(app, asked_on, 7).astimezone(LOCAL)
    hearing = {"hearing_place": "柯桥区住建局三楼会议室", "presiding": "王法制"}
    day_before = earliest.replace(hour=9, minute=30, second=0) - timedelta(days=1)
    assert day_before - asked_on > timedelta(days=7)  # enough under the old count of calendar days
    reply = act(inspector, case_id, "Task_hearing_notice", {**hearing, "hearing_at": day_before.isoformat()},
                asked_on, status=422)
    assert f"{earliest.month}月{earliest.day}日" in reply["error"]["fields"]["hearing_at"][0]
    assert data_of(inspector, case_id)["hearing_notice_days"] == 7
    # The form says so beside the field (its JSON Schema over the API, its description on the page).
    with on(asked_on):
        form = inspector.get(f"/tasks/{task_named(inspector, case_id, 'Task_hearing_notice')['id']}").json["form"]
    assert form["properties"]["hearing_at"]["description"].startswith(
        f"{earliest.year}年{earliest.month}月{earliest.day}日及以后")
    act(inspector, case_id, "Task_hearing_notice",
        {**hearing, "hearing_at": earliest.replace(hour=9, minute=30, second=0).isoformat()}, asked_on)
    assert open_names(inspector, case_id) == ["Task_hearing_record"]


def test_a_late_request_for_a_hearing_is_refused_with_its_date(app, api, engine):
    enterprise = api("kq_bottled_admin")
    case_id = notified(api, app, EVE_OF_NATIONAL_DAY, amount=80000)
    request_due = working(app, EVE_OF_NATIONAL_DAY, 5)
    late = request_due + timedelta(hours=1)
    reply = act(enterprise, case_id, "Task_defence", {"statement": "请求听证", "request_hearing": True}, late,
                status=422)
    due = request_due.astimezone(LOCAL)
    assert reply["error"]["fields"]["request_hearing"] == [
        f"要求听证的期限已于{due.year}年{due.month}月{due.day}日届满（《行政处罚法》第六十四条）。"]


FRIDAY = datetime(2026, 10, 16, 10, 0, tzinfo=LOCAL)
NEXT_FRIDAY = datetime(2026, 11, 6, 10, 0, tzinfo=LOCAL)


def decided_on_a_friday(api, app, engine, friday: datetime = FRIDAY) -> int:
    """A fine of 20 000 yuan notified on the Monday before ``friday`` (Monday 2026-10-12), the party silent,
    decided on ``friday``."""
    inspector, supervisor = api("keqiao_inspector"), api("keqiao_supervisor")
    monday = friday - timedelta(days=4)
    case_id = notified(api, app, monday)
    defence_due = working(app, monday, 3)
    assert engine.run_due_timers(defence_due + timedelta(minutes=1)) == 1
    act(inspector, case_id, "Task_redraft", {"penalty_type": "fine", "amount": 20000,
                                             "legal_basis": "《城镇燃气管理条例》第四十五条"}, friday)
    act(supervisor, case_id, "Task_county", {"decision": "approve", "comment": "同意"}, friday)
    return case_id


def test_a_decision_made_on_a_friday_is_served_within_seven_working_days(app, api, engine):
    inspector = api("keqiao_inspector")
    case_id = decided_on_a_friday(api, app, engine)
    data = data_of(inspector, case_id)
    service_due = working(app, FRIDAY, 7)
    # Art. 61, working days by art. 85: two weekends in between, so it ends on the second Tuesday, not Friday.
    assert data["service_days"] == 7 and instant(data["service_due"]) == service_due
    assert local_day(data["service_due"]) > (FRIDAY + timedelta(days=7)).date()
    assert instant(task_named(inspector, case_id, "Task_serve")["due_at"]) == service_due
    # The payment period stays 15 calendar days (art. 67): the 15th day is Saturday Oct 31, so it ends with
    # Monday Nov 2 (Civil Code art. 203).
    served = act(inspector, case_id, "Task_serve", {"service_method": "direct", "served_at": FRIDAY.isoformat()},
                 FRIDAY)
    assert instant(served["data"]["payment_due"]) == calendar_days(app, FRIDAY, 15)
    assert local_day(served["data"]["payment_due"]) == date(2026, 11, 2)


def is_working_day(app, day: date) -> bool:
    from web.extensions import db
    from workflows.services import working_days

    with app.app_context():
        return working_days.load(db.session).is_working_day(day)


def first_working_day_from(app, day: date) -> date:
    while not is_working_day(app, day):
        day += timedelta(days=1)
    return day


def flags(app, case_id) -> list[str]:
    from sqlalchemy import select

    from models import CaseEvent
    from web.extensions import db

    with app.app_context():
        return [d["flag"] for d in db.session.scalars(select(CaseEvent.detail).where(
            CaseEvent.case_id == case_id, CaseEvent.event == "flagged").order_by(CaseEvent.id))]


def flagged_only_after(app, engine, case_id, limit: datetime) -> None:
    """The decision limit ``limit`` (its extension refused) is flagged overdue once it has passed, not before."""
    assert engine.run_due_timers(limit - timedelta(minutes=1)) == 0
    assert flags(app, case_id) == ["decision_due_soon"]
    assert engine.run_due_timers(limit + timedelta(minutes=1)) == 1
    assert flags(app, case_id) == ["decision_due_soon", "decision_overdue"]


def served_on(api, app, engine, served: datetime, decided: datetime = FRIDAY) -> tuple[int, datetime]:
    """A fine of 20 000 yuan decided on ``decided``, served at ``served``: the case and its payment's end as the
    platform's calendar counts 15 days (art. 67): the end of the 15th day, or of the first working day after it."""
    inspector = api("keqiao_inspector")
    case_id = decided_on_a_friday(api, app, engine, decided)
    due = calendar_days(app, served, 15)
    done = act(inspector, case_id, "Task_serve", {"service_method": "electronic", "served_at": served.isoformat()},
               served)
    assert done["data"]["payment_days"] == 15 and instant(done["data"]["payment_due"]) == due
    # The payment task is due then too, and the date is at 24:00 of a working day, whatever the hour of service.
    assert instant(task_named(inspector, case_id, "Task_payment")["due_at"]) == due
    local = due.astimezone(LOCAL)
    assert (local.hour, local.minute, local.second) == (23, 59, 59) and is_working_day(app, local.date())
    return case_id, due


PAID = {"payment": "paid", "paid_amount": 20000}


def test_payment_due_on_a_sunday_runs_to_the_end_of_monday(app, api, engine):
    """Civil Code art. 203, Civil Procedure Law art. 85: a period whose last day is a rest day ends with the first
    working day after it. Served on Saturday 2026-10-24, the 15th day is Sunday 11-08: the fine may be paid
    on Monday without a surcharge; paid on Tuesday it is one day late (art. 72)."""
    inspector = api("keqiao_inspector")
    served = datetime(2026, 10, 24, 10, 0, tzinfo=LOCAL)
    fifteenth = served.date() + timedelta(days=15)
    assert fifteenth.weekday() == 6 and not is_working_day(app, fifteenth)
    case_id, due = served_on(api, app, engine, served)
    monday = fifteenth + timedelta(days=1)
    assert local_day(due.isoformat()) == monday == first_working_day_from(app, fifteenth)
    monday_afternoon = datetime.combine(monday, time(15, 0), LOCAL)
    # On Monday the 15 days have not run out: not yet "unpaid", no overdue notice.
    reply = act(inspector, case_id, "Task_payment", {"payment": "unpaid"}, monday_afternoon, status=422)
    assert set(reply["error"]["fields"]) == {"payment"}
    assert engine.run_due_timers(due - timedelta(minutes=1)) == 0 and flags(app, case_id) == []
    assert engine.run_due_timers(due + timedelta(minutes=1)) == 1 and flags(app, case_id) == ["payment_overdue"]
    # Paid on Tuesday: one day late, 3 % of the fine added.
    tuesday = monday_afternoon + timedelta(days=1)
    reply = act(inspector, case_id, "Task_payment", {**PAID, "paid_at": tuesday.isoformat()}, tuesday, status=422)
    assert set(reply["error"]["fields"]) == {"paid_amount"} and "20,600.00 元" in reply["error"]["fields"][
        "paid_amount"][0]
    # Paid on Monday (recorded on Tuesday): in time, the fine alone.
    paid = act(inspector, case_id, "Task_payment", {**PAID, "paid_at": monday_afternoon.isoformat()}, tuesday)
    assert paid["data"]["days_late"] == 0 and paid["data"]["surcharge"] == 0 and paid["data"]["total_due"] == 20000


def test_payment_served_at_ten_is_due_at_the_end_of_the_fifteenth_day(app, api, engine):
    """Civil Code art. 201: the day of service is not counted; art. 203: the period ends at 24:00 of its last
    day, not at the hour the decision was served."""
    inspector = api("keqiao_inspector")
    served = datetime(2026, 10, 19, 10, 0, tzinfo=LOCAL)  # a Monday
    fifteenth = served.date() + timedelta(days=15)
    assert is_working_day(app, fifteenth)
    case_id, due = served_on(api, app, engine, served)
    assert local_day(due.isoformat()) == fifteenth and due > served + timedelta(days=15)
    afternoon = datetime.combine(fifteenth, time(15, 0), LOCAL)
    assert engine.run_due_timers(afternoon) == 0 and flags(app, case_id) == []
    reply = act(inspector, case_id, "Task_payment", {"payment": "unpaid"}, afternoon, status=422)
    assert set(reply["error"]["fields"]) == {"payment"}
    paid = act(inspector, case_id, "Task_payment", {**PAID, "paid_at": afternoon.isoformat()}, afternoon)
    assert paid["data"]["days_late"] == 0 and paid["data"]["surcharge"] == 0


def test_payment_due_in_the_national_day_holiday_ends_on_the_first_working_day_after_it(app, api, engine, tmp_path):
    """Served on Friday 2026-09-18, the 15th day (10-03) falls in the National Day holiday: the period ends with
    the first working day after it; the reminder (催告书) states that day and one day late the next day."""
    from test_documents import fetch, pdf_text

    from workflows.services.documents.issue import chinese_instant

    inspector = api("keqiao_inspector")
    served = datetime(2026, 9, 18, 10, 0, tzinfo=LOCAL)
    fifteenth = served.date() + timedelta(days=15)
    assert not is_working_day(app, fifteenth) and fifteenth <= LAST_HOLIDAY
    case_id, due = served_on(api, app, engine, served, decided=datetime(2026, 9, 11, 10, 0, tzinfo=LOCAL))
    last_day = first_working_day_from(app, fifteenth)
    assert local_day(due.isoformat()) == last_day and last_day > LAST_HOLIDAY
    on_the_day = datetime.combine(last_day, time(16, 0), LOCAL)
    reply = act(inspector, case_id, "Task_payment", {"payment": "unpaid"}, on_the_day, status=422)
    assert set(reply["error"]["fields"]) == {"payment"}
    next_day = on_the_day + timedelta(days=1)
    act(inspector, case_id, "Task_payment", {"payment": "unpaid"}, next_day)
    from web.extensions import db
    from workflows.services.documents.issue import render_pending

    with app.app_context():
        render_pending(db.session)
    reminder = {d["kind"]: d for d in inspector.get(f"/cases/{case_id}").json["documents"]}["penalty_reminder"]
    text = pdf_text(fetch(api("kq_bottled_admin"), reminder["attachment_id"]), tmp_path)
    for expected in (f"应于{chinese_instant(due.isoformat())}前缴纳", "已逾期1日，加处罚款人民币600.00元"):
        assert expected in text, (expected, text)
    assert f"{last_day.month}月{last_day.day}日23时59分" in text
    paid = act(inspector, case_id, "Task_enforce", {"enforcement": "paid", "paid_at": next_day.isoformat(),
                                                    "paid_amount": 20600}, next_day)
    assert paid["data"]["days_late"] == 1 and paid["data"]["surcharge"] == 600


FILED_ON = datetime(2026, 7, 6, 10, 0, tzinfo=LOCAL)  # a Monday: the 90th day after is 10-04, in the holiday


def filed_on(api, app, when: datetime) -> int:
    inspector = api("keqiao_inspector")
    with on(when):
        resp = inspector.post("/cases", {"process": "penalty", "data": {
            "enterprise_id": enterprise_id(app), "source": "complaint", "facts": "群众举报: 违规向无证经营者供气"}})
    assert resp.status_code == 201, resp.json
    act(api("keqiao_supervisor"), resp.json["id"], "Task_file_approve", {"filing_decision": "approve"}, when)
    return resp.json["id"]


def test_the_decision_limit_ending_in_the_holiday_runs_to_the_first_working_day_after_it(app, api, engine):
    """Art. 60: the decision within 90 days of filing, counted as the law counts periods (Civil Code arts.
    201-203): filed on 2026-07-06, the 90th day is 10-04, so the limit is the end of the first working day after
    the holiday. The reminder at 75 days (the department's own) is not moved."""
    supervisor = api("keqiao_supervisor")
    case_id = filed_on(api, app, FILED_ON)
    ninetieth = FILED_ON.date() + timedelta(days=90)
    assert not is_working_day(app, ninetieth)
    limit = calendar_days(app, FILED_ON, 90)
    assert local_day(limit.isoformat()) == first_working_day_from(app, ninetieth) > LAST_HOLIDAY
    data = data_of(supervisor, case_id)
    assert data["decision_days"] == 90 and instant(data["decision_due"]) == limit
    assert instant(data["decision_remind_at"]) == FILED_ON + timedelta(days=75)
    assert engine.run_due_timers(FILED_ON + timedelta(days=75, minutes=1)) == 1
    assert instant(task_named(supervisor, case_id, "Task_extend")["due_at"]) == limit
    act(supervisor, case_id, "Task_extend", {"extension": "refuse"}, FILED_ON + timedelta(days=76))
    # Not flagged on the 90th day nor during the holiday; flagged once the first working day after it has ended.
    flagged_only_after(app, engine, case_id, limit)


def test_an_extension_of_the_decision_limit_ends_on_a_working_day(app, api, engine):
    """Art. 60: an approved extension runs on from the end of the 90 days, counted the same way: 30 days after
    the limit above is Saturday 11-07, so the extended limit is the end of Monday 11-09."""
    supervisor = api("keqiao_supervisor")
    case_id = filed_on(api, app, FILED_ON)
    limit = calendar_days(app, FILED_ON, 90)
    extended = calendar_days(app, limit, 30)
    thirtieth = local_day(limit.isoformat()) + timedelta(days=30)
    assert not is_working_day(app, thirtieth) and local_day(extended.isoformat()) == first_working_day_from(
        app, thirtieth)
    engine.run_due_timers(FILED_ON + timedelta(days=75, minutes=1))
    act(supervisor, case_id, "Task_extend", {"extension": "approve", "extension_days": 30,
                                             "extension_reason": "案情复杂，需补充鉴定"}, FILED_ON + timedelta(days=76))
    assert engine.run_due_timers(extended - timedelta(minutes=1)) == 0
    assert engine.run_due_timers(extended + timedelta(minutes=1)) == 1
    assert flags(app, case_id) == ["decision_due_soon", "decision_overdue"]


def test_the_court_waits_ten_working_days_after_the_reminder(app, api, engine):
    inspector = api("keqiao_inspector")
    case_id = decided_on_a_friday(api, app, engine)
    act(inspector, case_id, "Task_serve", {"service_method": "direct", "served_at": FRIDAY.isoformat()}, FRIDAY)
    reminded = act(inspector, case_id, "Task_payment", {"payment": "unpaid"}, NEXT_FRIDAY)
    ends = working(app, NEXT_FRIDAY, 10)
    # Administrative Compulsion Law art. 54, working days by its art. 69: two weekends, so the 10 days end two
    # weeks on, not on the second Monday.
    assert reminded["data"]["court_days"] == 10 and instant(reminded["data"]["court_from"]) == ends
    assert local_day(reminded["data"]["court_from"]) > (NEXT_FRIDAY + timedelta(days=10)).date()
    court = {"enforcement": "court", "court": "绍兴市柯桥区人民法院", "court_case_no": "(2026)浙0603行审7号"}
    # Ten calendar days on (the old count) is too early, and so is the last of the ten working days.
    for applied in (NEXT_FRIDAY + timedelta(days=11), ends - timedelta(hours=6)):
        reply = act(inspector, case_id, "Task_enforce", {**court, "applied_at": applied.isoformat()},
                    ends + timedelta(days=1), status=422)
        assert set(reply["error"]["fields"]) == {"applied_at"}
    next_day = (ends + timedelta(hours=10)).astimezone(LOCAL)
    done = act(inspector, case_id, "Task_enforce", {**court, "applied_at": next_day.isoformat()},
               ends + timedelta(days=1))
    assert done["data"]["enforcement"] == "court" and open_names(inspector, case_id) == ["Task_close_report"]


def test_a_case_started_on_the_calendar_days_version_keeps_them(app, api, engine):
    """Every case keeps the model version it started on: one opened on the version before art. 85 was
    modelled still counts calendar days, its hearing notice 7 calendar days ahead."""
    deploy_calendar_days_version(engine)
    inspector, enterprise = api("keqiao_inspector"), api("kq_bottled_admin")
    case_id = notified(api, app, EVE_OF_NATIONAL_DAY, amount=80000)
    deploy_current_again(engine, "v4")  # deployed meanwhile: changes nothing for the running case
    data = data_of(inspector, case_id)
    assert "hearing_notice_days" not in data and "hearing_request_days" not in data
    assert instant(data["defence_due"]) == EVE_OF_NATIONAL_DAY + timedelta(days=3)
    assert instant(data["hearing_request_due"]) == EVE_OF_NATIONAL_DAY + timedelta(days=5)
    first_of_october = EVE_OF_NATIONAL_DAY + timedelta(days=1)
    act(enterprise, case_id, "Task_defence", {"statement": "请求听证", "request_hearing": True}, first_of_october)
    # Its model gave no hearing_notice_days: the form keeps 7 calendar days.
    in_eight_days = first_of_october + timedelta(days=7, hours=1)
    assert in_eight_days.date() < working(app, first_of_october, 7).astimezone(LOCAL).date()
    act(api("keqiao_inspector"), case_id, "Task_hearing_notice",
        {"hearing_at": in_eight_days.isoformat(), "hearing_place": "柯桥区住建局", "presiding": "王法制"},
        first_of_october)
    assert open_names(inspector, case_id) == ["Task_hearing_record"]
    assert instant(data_of(inspector, case_id)["defence_due"]) == EVE_OF_NATIONAL_DAY + timedelta(days=3)


def test_a_calendar_days_case_migrated_to_the_working_days_version_counts_its_next_periods_in_working_days(
        app, api, engine):
    """A case moved to the new version keeps the periods already running (its timer keeps its instant) and
    reads the new periods from the table as they start: its model had none of service_days."""
    deploy_calendar_days_version(engine)
    monday = FRIDAY - timedelta(days=4)
    case_id = notified(api, app, monday)
    inspector, supervisor, admin = api("keqiao_inspector"), api("keqiao_supervisor"), api("admin")
    old = data_of(inspector, case_id)
    assert "service_days" not in old and instant(old["defence_due"]) == monday + timedelta(days=3)
    deploy_current_again(engine, "v4")
    with on(monday + timedelta(hours=1)):
        moved = admin.post(f"/cases/{case_id}/migrate", {"reason": "采用《行政处罚法》第八十五条工作日计算的新版流程"})
    assert moved.status_code == 200, moved.json
    # The defence period it was told keeps its calendar instant.
    assert engine.run_due_timers(monday + timedelta(days=3) - timedelta(minutes=1)) == 0
    assert engine.run_due_timers(monday + timedelta(days=3, minutes=1)) == 1
    act(inspector, case_id, "Task_redraft", {"penalty_type": "fine", "amount": 20000,
                                             "legal_basis": "《城镇燃气管理条例》第四十五条"}, FRIDAY)
    decided = act(supervisor, case_id, "Task_county", {"decision": "approve"}, FRIDAY)
    assert decided["data"]["service_days"] == 7
    assert instant(decided["data"]["service_due"]) == working(app, FRIDAY, 7)
    # And its payment from the table as the decision is served: 15 days to the end of a working day (Monday).
    served = act(inspector, case_id, "Task_serve", {"service_method": "direct", "served_at": FRIDAY.isoformat()},
                 FRIDAY)
    assert served["data"]["payment_days"] == 15
    assert instant(served["data"]["payment_due"]) == calendar_days(app, FRIDAY, 15)


def test_the_shipped_scripts_that_count_working_days_run_where_the_calendar_is():
    """A script with a loop or a ``try`` runs in a sandbox process, which has no holiday calendar (it counts
    Monday to Friday): every shipped script counting working days must be of the bounded form that runs in
    the engine's thread, where the calendar is installed (a ``try`` around a missing period once sent
    Script_notice there)."""
    import html
    import re

    from penalty_versions import BPMN_DIR

    from workflows.engine import bounded

    counted = []
    for path in sorted(BPMN_DIR.glob("*.bpmn")):
        for name, code in re.findall(r'<bpmn:scriptTask id="(\w+)".*?<bpmn:script>(.*?)</bpmn:script>',
                                     path.read_text(encoding="utf-8"), re.S):
            code = html.unescape(code)
            if "add_working_days" in code or "add_period" in code:
                counted.append(name)
                assert bounded.script_unbounded(code) is None, (path.name, name, bounded.script_unbounded(code))
    assert {"Script_notice", "Script_decided", "Script_reminder"} <= set(counted)


def test_a_calendar_days_case_migrated_before_its_filing_reads_the_decision_limit_from_the_table(app, api, engine):
    """A case of the calendar-days version moved while awaiting the filing approval: its model read no
    decision_days at its start, so the new version reads the table as the case is filed (Rule_decision_period)."""
    deploy_calendar_days_version(engine)
    inspector, admin = api("keqiao_inspector"), api("admin")
    with on(FILED_ON):
        resp = inspector.post("/cases", {"process": "penalty", "data": {
            "enterprise_id": enterprise_id(app), "source": "complaint", "facts": "群众举报: 违规向无证经营者供气"}})
    assert resp.status_code == 201, resp.json
    case_id = resp.json["id"]
    assert "decision_days" not in data_of(inspector, case_id)
    deploy_current_again(engine, "v4")
    with on(FILED_ON + timedelta(hours=1)):
        moved = admin.post(f"/cases/{case_id}/migrate", {"reason": "采用按《民法典》计算期间的新版流程"})
    assert moved.status_code == 200, moved.json
    act(api("keqiao_supervisor"), case_id, "Task_file_approve", {"filing_decision": "approve"},
        FILED_ON + timedelta(hours=2))
    data = data_of(inspector, case_id)
    assert data["decision_days"] == 90
    assert instant(data["decision_due"]) == calendar_days(app, FILED_ON + timedelta(hours=2), 90)
