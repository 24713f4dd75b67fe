"""A suspended penalty case resumes with the time its periods had left, counted as the law counts them: a period
in working days (Administrative Penalty Law art. 85) gets the working days that were left counted again from the
day it resumes; a period in calendar days (arts. 60, 67) ends as many days later as the case was suspended, at the
end of that day or of the first working day after it (Civil Code arts. 201-203). The hours and minutes of the
suspension do not land a period on a Sunday or at 5 in the morning. The department's own 75-day reminder, an
instant, moves by the time suspended, as an inspector's rectification deadline does (tests/test_case_control.py).
Through bpmn/penalty.bpmn over the API and the case page, on the engine's clock.

A rectification order counts its periods in the unit its decision table gives at run time (bpmn/rectification.bpmn:
``add_period(now(), period_amount, period_unit)``): the engine notes the unit as the script counts, so its
deadline and its verification periods resume in working days as well. A second suspension counts a period in
calendar days on from the day the first moved it to."""
from datetime import date, datetime, time, timedelta

from flows import complete, open_names, open_order, task_named
from test_penalty_working_days import (
    FILED_ON,
    LOCAL,
    act,
    calendar_days,
    data_of,
    filed_on,
    first_working_day_from,
    flagged_only_after,
    flags,
    instant,
    is_working_day,
    notified,
    on,
    served_on,
    working,
)


def end_of(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), LOCAL)


def next_timer(app, case_id) -> datetime:
    from models import Case
    from web.extensions import db

    with app.app_context():
        return db.session.get(Case, case_id).next_timer_at


def control(user, case_id, action: str, when: datetime, reason: str) -> None:
    with on(when):
        resp = user.post(f"/cases/{case_id}/{action}", {"reason": reason})
    assert resp.status_code == 200, resp.json


def test_the_payment_period_resumes_to_the_end_of_a_working_day(app, api, engine):
    """Served on Monday 2026-10-19, the 15 days (art. 67) end with Tuesday 11-03. Suspended on Tuesday 10-20 at
    10:00 and resumed on Saturday 10-24 at 15:00: four days later is Saturday 11-07, so the period ends with
    Monday 11-09, not at 04:59 on Sunday 11-08 (4 days 5 hours after the end)."""
    inspector, supervisor = api("keqiao_inspector"), api("keqiao_supervisor")
    served = datetime(2026, 10, 19, 10, 0, tzinfo=LOCAL)
    case_id, due = served_on(api, app, engine, served)
    assert due == end_of(date(2026, 11, 3))
    suspended, resumed = datetime(2026, 10, 20, 10, 0, tzinfo=LOCAL), datetime(2026, 10, 24, 15, 0, tzinfo=LOCAL)
    control(supervisor, case_id, "suspend", suspended, "当事人申请暂缓缴纳罚款，待审批")
    control(supervisor, case_id, "resume", resumed, "暂缓缴纳申请未获批准")
    by_the_clock = due + (resumed - suspended)
    assert not is_working_day(app, by_the_clock.astimezone(LOCAL).date())  # where the old shift put it
    moved = end_of(first_working_day_from(app, due.astimezone(LOCAL).date() + timedelta(days=4)))
    assert moved == end_of(date(2026, 11, 9))
    assert instant(task_named(inspector, case_id, "Task_payment")["due_at"]) == moved
    assert next_timer(app, case_id) == moved
    # What the case shows and what the payment form counts the days late from agree with the timer.
    assert instant(data_of(inspector, case_id)["payment_due"]) == moved
    monday_afternoon = datetime(2026, 11, 9, 15, 0, tzinfo=LOCAL)
    reply = act(inspector, case_id, "Task_payment", {"payment": "unpaid"}, monday_afternoon, status=422)
    assert set(reply["error"]["fields"]) == {"payment"}  # not yet run out
    assert engine.run_due_timers(moved - timedelta(minutes=1)) == 0 and flags(app, case_id) == []
    assert engine.run_due_timers(moved + timedelta(minutes=1)) == 1 and flags(app, case_id) == ["payment_overdue"]
    paid = act(inspector, case_id, "Task_payment", {"payment": "paid", "paid_amount": 20000,
                                                    "paid_at": monday_afternoon.isoformat()},
               monday_afternoon + timedelta(days=1))
    assert paid["data"]["days_late"] == 0 and paid["data"]["surcharge"] == 0


def test_the_party_gets_the_working_days_it_had_left_resumed_on_the_case_page(app, api, browser, engine):
    """Notified on Monday 2026-10-19, the 3 working days for statement and defence (arts. 45, 85) end with
    Thursday 10-22. Suspended on Tuesday at 11:00, Wednesday and Thursday were left; resumed on Friday 10-23 at
    10:00 on the case page, they are Monday and Tuesday: the period ends with Tuesday 10-27, not at 22:59 on
    Sunday 10-25."""
    enterprise = api("kq_bottled_admin")
    notice = datetime(2026, 10, 19, 10, 0, tzinfo=LOCAL)
    case_id = notified(api, app, notice)
    due = working(app, notice, 3)
    assert due == end_of(date(2026, 10, 22))
    assert instant(task_named(enterprise, case_id, "Task_defence")["due_at"]) == due
    suspended, resumed = datetime(2026, 10, 20, 11, 0, tzinfo=LOCAL), datetime(2026, 10, 23, 10, 0, tzinfo=LOCAL)
    control(api("keqiao_supervisor"), case_id, "suspend", suspended, "当事人申请延期陈述，待核实")
    page_path, supervisor = f"/cases/{case_id}", browser("keqiao_supervisor")
    with on(resumed):
        done = supervisor.form_post(f"{page_path}/control/resume",
                                    {"reason": "核实完毕，继续办理", "confirm": "1"}, page_path)
    assert done.status_code == 303
    assert not is_working_day(app, (due + (resumed - suspended)).astimezone(LOCAL).date())
    moved = working(app, resumed, 2)
    assert moved == end_of(date(2026, 10, 27))
    assert instant(task_named(enterprise, case_id, "Task_defence")["due_at"]) == moved
    data = data_of(enterprise, case_id)
    assert instant(data["defence_due"]) == moved and instant(data["party_due"]) == moved
    assert engine.run_due_timers(moved - timedelta(minutes=1)) == 0
    assert engine.run_due_timers(moved + timedelta(minutes=1)) == 1
    assert "Task_defence" not in open_names(api("keqiao_inspector"), case_id)


def test_the_decision_limit_resumes_from_its_own_last_day_to_the_end_of_a_working_day(app, api, engine):
    """Filed on Monday 2026-07-06: the 90th day (art. 60) is 10-04, in the National Day holiday, so the limit is
    the end of Thursday 10-08. Suspended on Friday 09-25 at 10:00 and resumed on Wednesday 09-30 at 15:00 (5 days
    5 hours): five days after 10-04 is Friday 10-09, so the limit is the end of that day; not 04:59 on Wednesday
    10-14 (the old shift), nor 10-13 (five days after the holiday it had been moved past). An extension refused
    after it keeps that limit."""
    supervisor = api("keqiao_supervisor")
    case_id = filed_on(api, app, FILED_ON)
    limit = calendar_days(app, FILED_ON, 90)
    assert limit == end_of(date(2026, 10, 8))
    assert engine.run_due_timers(FILED_ON + timedelta(days=75, minutes=1)) == 1
    assert instant(task_named(supervisor, case_id, "Task_extend")["due_at"]) == limit
    suspended, resumed = datetime(2026, 9, 25, 10, 0, tzinfo=LOCAL), datetime(2026, 9, 30, 15, 0, tzinfo=LOCAL)
    control(supervisor, case_id, "suspend", suspended, "案件需等待鉴定结论")
    control(supervisor, case_id, "resume", resumed, "鉴定结论已出具")
    assert (limit + (resumed - suspended)).astimezone(LOCAL) == datetime(2026, 10, 14, 4, 59, 59, tzinfo=LOCAL)
    ninetieth = FILED_ON.date() + timedelta(days=90)
    moved = end_of(first_working_day_from(app, ninetieth + timedelta(days=5)))
    assert moved == end_of(date(2026, 10, 9))
    assert instant(task_named(supervisor, case_id, "Task_extend")["due_at"]) == moved
    data = data_of(supervisor, case_id)
    assert instant(data["decision_due"]) == moved
    # The reminder was the department's own instant: it had passed, and is kept as it was.
    assert instant(data["decision_remind_at"]) == FILED_ON + timedelta(days=75)
    act(supervisor, case_id, "Task_extend", {"extension": "refuse"}, resumed + timedelta(hours=1))
    flagged_only_after(app, engine, case_id, moved)


def test_the_75_day_reminder_moves_by_the_time_suspended(app, api, engine):
    """Not a legal period: 75 days from the instant of filing, moved by exactly the time the case was suspended,
    while the 90 days' limit it reminds of moves to the end of a day."""
    supervisor = api("keqiao_supervisor")
    case_id = filed_on(api, app, FILED_ON)
    suspended, resumed = FILED_ON + timedelta(days=3), FILED_ON + timedelta(days=5, hours=7)
    control(supervisor, case_id, "suspend", suspended, "案件需等待鉴定结论")
    control(supervisor, case_id, "resume", resumed, "鉴定结论已出具")
    remind = FILED_ON + timedelta(days=75) + (resumed - suspended)
    assert next_timer(app, case_id) == remind
    data = data_of(supervisor, case_id)
    assert instant(data["decision_remind_at"]) == remind
    assert instant(data["decision_due"]) == calendar_days(app, FILED_ON + timedelta(days=2), 90)
    assert engine.run_due_timers(remind - timedelta(minutes=1)) == 0
    assert engine.run_due_timers(remind + timedelta(minutes=1)) == 1
    assert instant(task_named(supervisor, case_id, "Task_extend")["due_at"]) == instant(data["decision_due"])


def test_a_case_of_the_calendar_days_version_resumes_its_instants_by_the_time_suspended(app, api, engine):
    """That version counted its periods as instants (3 × 24 hours from the notice): its case keeps that count
    when it resumes, the time suspended added."""
    from penalty_versions import deploy_calendar_days_version

    deploy_calendar_days_version(engine)
    enterprise = api("kq_bottled_admin")
    notice = datetime(2026, 10, 19, 10, 0, tzinfo=LOCAL)
    case_id = notified(api, app, notice)
    assert instant(task_named(enterprise, case_id, "Task_defence")["due_at"]) == notice + timedelta(days=3)
    suspended, resumed = notice + timedelta(days=1), notice + timedelta(days=4, hours=1)
    control(api("keqiao_supervisor"), case_id, "suspend", suspended, "当事人申请延期陈述，待核实")
    control(api("keqiao_supervisor"), case_id, "resume", resumed, "核实完毕，继续办理")
    moved = notice + timedelta(days=6, hours=1)
    assert instant(task_named(enterprise, case_id, "Task_defence")["due_at"]) == moved
    assert instant(data_of(enterprise, case_id)["defence_due"]) == moved
    assert engine.run_due_timers(moved - timedelta(minutes=1)) == 0
    assert engine.run_due_timers(moved + timedelta(minutes=1)) == 1


def test_a_second_suspension_counts_calendar_days_on_from_the_day_the_first_moved_the_limit_to(app, api, engine):
    """Filed on Monday 2026-07-06, the 90th day is 10-04 (the holiday): the limit is the end of Thursday 10-08.
    Suspended 13 days (09-25 to 10-08), the 90 days end on Saturday 10-17, so the limit is the end of Monday
    10-19. Suspended a day more (10-12 to 10-13), they end on Sunday 10-18: the limit stays at the end of Monday
    10-19, and is not a day added to that Monday (10-20), the day the first resume had rolled it to."""
    supervisor = api("keqiao_supervisor")
    case_id = filed_on(api, app, FILED_ON)
    assert engine.run_due_timers(FILED_ON + timedelta(days=75, minutes=1)) == 1  # the reminder: Task_extend
    ninetieth = FILED_ON.date() + timedelta(days=90)
    control(supervisor, case_id, "suspend", datetime(2026, 9, 25, 10, 0, tzinfo=LOCAL), "案件需等待鉴定结论")
    control(supervisor, case_id, "resume", datetime(2026, 10, 8, 15, 0, tzinfo=LOCAL), "鉴定结论已出具")
    first = first_working_day_from(app, ninetieth + timedelta(days=13))
    assert first == date(2026, 10, 19) and first != ninetieth + timedelta(days=13)  # rolled off the weekend
    assert instant(task_named(supervisor, case_id, "Task_extend")["due_at"]) == end_of(first)

    control(supervisor, case_id, "suspend", datetime(2026, 10, 12, 10, 0, tzinfo=LOCAL), "补充鉴定")
    control(supervisor, case_id, "resume", datetime(2026, 10, 13, 15, 0, tzinfo=LOCAL), "补充鉴定完毕")
    moved = end_of(first_working_day_from(app, ninetieth + timedelta(days=14)))
    assert moved == end_of(date(2026, 10, 19))
    assert end_of(first_working_day_from(app, first + timedelta(days=1))) != moved  # where it went before
    assert instant(task_named(supervisor, case_id, "Task_extend")["due_at"]) == moved
    assert instant(data_of(supervisor, case_id)["decision_due"]) == moved
    act(supervisor, case_id, "Task_extend", {"extension": "refuse"}, datetime(2026, 10, 14, 9, 0, tzinfo=LOCAL))
    flagged_only_after(app, engine, case_id, moved)


# ---- rectification: periods whose unit the decision table gives ------------------------------------------------
MONDAY = datetime(2026, 10, 19, 10, 0, tzinfo=LOCAL)


def test_a_rectification_deadline_from_the_class_period_resumes_with_the_working_days_it_had_left(app, api, engine):
    """Ordered on Monday 2026-10-19 with no date of the inspector's, a class II hazard has 3 working days: to the
    end of Thursday 10-22. Suspended on Tuesday at 11:00, Wednesday and Thursday were left; resumed on Friday
    10-23 at 10:00, they are Monday and Tuesday: the order runs out at the end of Tuesday 10-27, not at 22:59 on
    Sunday 10-25."""
    staff, inspector, supervisor = api("kq_bottled_staff"), api("keqiao_inspector"), api("keqiao_supervisor")
    with on(MONDAY):
        case_id = open_order(api, app, hazard_class="II", deadline_at=None)["id"]
    due = end_of(date(2026, 10, 22))
    assert instant(task_named(staff, case_id, "Task_respond")["due_at"]) == due == working(app, MONDAY, 3)
    suspended, resumed = datetime(2026, 10, 20, 11, 0, tzinfo=LOCAL), datetime(2026, 10, 23, 10, 0, tzinfo=LOCAL)
    control(supervisor, case_id, "suspend", suspended, "企业申请停产检修，暂停办理")
    control(supervisor, case_id, "resume", resumed, "检修结束，继续办理")
    assert not is_working_day(app, (due + (resumed - suspended)).astimezone(LOCAL).date())  # the old shift
    moved = working(app, resumed, 2)
    assert moved == end_of(date(2026, 10, 27))
    assert instant(task_named(staff, case_id, "Task_respond")["due_at"]) == moved
    assert instant(data_of(inspector, case_id)["deadline_at"]) == moved
    assert next_timer(app, case_id) == moved
    assert engine.run_due_timers(moved - timedelta(minutes=1)) == 0
    assert open_names(staff, case_id) == ["Task_respond"]
    assert engine.run_due_timers(moved + timedelta(minutes=1)) == 1
    assert open_names(inspector, case_id) == ["Task_escalate"]


def test_the_verification_periods_resume_in_working_days(app, api, engine):
    """Answered on Monday 2026-10-19 at 11:00: verification within 2 working days (the end of Wednesday 10-21),
    the supervisor a working day after (Thursday 10-22). Suspended on Tuesday at 10:00 and resumed on Friday
    10-23 at 10:00: Wednesday was left for the verification and Thursday for the supervisor, so they are Monday
    10-26 and Tuesday 10-27, each to the end of the day; the clock would have put both on the weekend."""
    staff, inspector, supervisor = api("kq_bottled_staff"), api("keqiao_inspector"), api("keqiao_supervisor")
    with on(MONDAY):
        case_id = open_order(api, app, hazard_class="II", deadline_at=None)["id"]
    with on(MONDAY + timedelta(hours=1)):
        answered = complete(staff, case_id, "Task_respond", {"response": "已更换报警器"})
    verify_due, escalate_at = end_of(date(2026, 10, 21)), end_of(date(2026, 10, 22))
    assert instant(answered["data"]["verify_due_at"]) == verify_due
    assert instant(answered["data"]["verify_escalate_at"]) == escalate_at
    suspended, resumed = datetime(2026, 10, 20, 10, 0, tzinfo=LOCAL), datetime(2026, 10, 23, 10, 0, tzinfo=LOCAL)
    control(supervisor, case_id, "suspend", suspended, "企业申请停产检修，暂停办理")
    control(supervisor, case_id, "resume", resumed, "检修结束，继续办理")
    for old in (verify_due, escalate_at):
        assert not is_working_day(app, (old + (resumed - suspended)).astimezone(LOCAL).date())
    verify_moved, escalate_moved = end_of(date(2026, 10, 26)), end_of(date(2026, 10, 27))
    assert (verify_moved, escalate_moved) == (working(app, resumed, 1), working(app, resumed, 2))
    assert instant(task_named(inspector, case_id, "Task_verify")["due_at"]) == verify_moved
    data = data_of(inspector, case_id)
    assert (instant(data["verify_due_at"]), instant(data["verify_escalate_at"])) == (verify_moved, escalate_moved)
    assert next_timer(app, case_id) == verify_moved
    assert engine.run_due_timers(verify_moved - timedelta(minutes=1)) == 0
    assert engine.run_due_timers(verify_moved + timedelta(minutes=1)) == 1  # the reminder; the task stays
    assert open_names(inspector, case_id) == ["Task_verify"]
    assert engine.run_due_timers(escalate_moved - timedelta(minutes=1)) == 0
    assert engine.run_due_timers(escalate_moved + timedelta(minutes=1)) == 1
    assert open_names(supervisor, case_id) == ["Task_verify_escalated"]


def test_a_hearing_keeps_the_time_the_party_was_told_when_the_case_resumes(app, api, engine):
    """The hearing is an appointment (art. 64: the party is told its time and place), not a period: a suspension
    before it does not move it by the time suspended. The task of recording it is due at the hearing still, as
    its notice and the case page say; one over it leaves that task late."""
    inspector, enterprise, supervisor = api("keqiao_inspector"), api("kq_bottled_admin"), api("keqiao_supervisor")
    case_id = notified(api, app, MONDAY, amount=80000)  # a large fine: the right to a hearing
    act(enterprise, case_id, "Task_defence", {"statement": "请求听证", "request_hearing": True}, MONDAY)
    hearing_at = working(app, MONDAY, 7).astimezone(LOCAL).replace(hour=9, minute=30, second=0)
    act(inspector, case_id, "Task_hearing_notice", {"hearing_at": hearing_at.isoformat(), "presiding": "王法制",
                                                    "hearing_place": "柯桥区住建局三楼会议室"}, MONDAY)
    assert instant(task_named(inspector, case_id, "Task_hearing_record")["due_at"]) == hearing_at
    suspended, resumed = MONDAY + timedelta(days=1), MONDAY + timedelta(days=3, hours=5)
    control(supervisor, case_id, "suspend", suspended, "当事人申请暂缓听证，待核实")
    control(supervisor, case_id, "resume", resumed, "核实完毕，继续办理")
    assert instant(task_named(inspector, case_id, "Task_hearing_record")["due_at"]) == hearing_at
    # Suspended again over the hearing's time: the case resumes with its hearing late, for the organiser to act
    # on (hold it and record when it was held), not with a time nobody was told of.
    control(supervisor, case_id, "suspend", hearing_at - timedelta(days=1), "当事人因故无法到场")
    later = hearing_at + timedelta(days=2)
    control(supervisor, case_id, "resume", later, "继续办理")
    with on(later):
        record = task_named(inspector, case_id, "Task_hearing_record")
    assert instant(record["due_at"]) == hearing_at and record["overdue"] is True


def test_two_periods_ending_on_one_instant_each_resume_in_their_own_unit(app, api, engine):
    """From Monday 2026-10-19, 3 working days and 3 days both end with Thursday 10-22: one script counts both
    (tests/bpmn/two_periods.bpmn). Suspended on Tuesday at 11:00 and resumed on Friday 10-23 at 10:00, the
    working days left (Wednesday, Thursday) end with Tuesday 10-27, and the 3 days, 3 days later, on Sunday 10-25,
    so with Monday 10-26: neither takes the other's unit for sharing its end."""
    from conftest import BPMN_DIR

    assert api("admin").post("/processes", data=(BPMN_DIR / "two_periods.bpmn").read_bytes(),
                             content_type="application/xml").status_code == 201
    staff, supervisor = api("kq_bottled_staff"), api("keqiao_supervisor")
    with on(MONDAY):
        case_id = open_order(api, app, process="two_periods", deadline_at=None)["id"]
    thursday = end_of(date(2026, 10, 22))
    assert instant(task_named(staff, case_id, "Answer_working")["due_at"]) == thursday
    assert instant(task_named(staff, case_id, "Answer_days")["due_at"]) == thursday
    control(supervisor, case_id, "suspend", datetime(2026, 10, 20, 11, 0, tzinfo=LOCAL), "企业申请停产检修")
    control(supervisor, case_id, "resume", datetime(2026, 10, 23, 10, 0, tzinfo=LOCAL), "检修结束")
    assert instant(task_named(staff, case_id, "Answer_working")["due_at"]) == end_of(date(2026, 10, 27))
    assert instant(task_named(staff, case_id, "Answer_days")["due_at"]) == end_of(date(2026, 10, 26))
