"""The penalty procedure of the Administrative Penalty Law (2021): the penalty model since its second version.

Every path of bpmn/penalty.bpmn, driven over the API against a real database, on a moving clock
(workflows/engine/clock.py): filing approval, investigation, prior notice, statement and defence, the hearing,
legal review and collective discussion, the decision within 90 days (reminder, extension, flag to the city),
service, payment with the surcharge of art. 72, the reminder and the court, closing; and what the party sees.
The short periods (defence, hearing request and notice, service, the wait after the reminder) are working days
(art. 85; Administrative Compulsion Law art. 69); the filing limit, the 90 days to decide and the 15 days to pay are
calendar days ending at the end of their last day, moved to the next working day when that is a rest day (Civil
Code arts. 201-203): the expected instants come from the project's calendar.
"""
import json
import math
import shutil
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import enterprise_id
from flows import end_of, open_names, task_named

from workflows.engine import clock

START = datetime.now(UTC).replace(microsecond=0)
LOCAL = ZoneInfo("Asia/Shanghai")


@contextmanager
def at(days: float):
    """The platform's clock ``days`` after START (the tests' day 0)."""
    with clock.frozen_at(START + timedelta(days=days)):
        yield


def iso(days: float) -> str:
    return (START + timedelta(days=days)).isoformat()


def working(app, start, days: int) -> datetime:
    """Where ``days`` working days after ``start`` end, on the platform's calendar (the city's adjustments too)."""
    from web.extensions import db
    from workflows.services import working_days

    with app.app_context():
        return working_days.add_working_days(db.session, start, days)


def calendar_days(app, start, days: int) -> datetime:
    """Where a period of ``days`` calendar days from ``start`` ends, on the platform's calendar: the end of the last
    day, or of the first working day after it (Civil Code art. 203)."""
    from web.extensions import db
    from workflows.services import working_days

    with app.app_context():
        return working_days.period_end(db.session, start, days, "days")


def days_to(instant) -> float:
    """How many days after START ``instant`` is (for ``at`` and ``iso``)."""
    instant = instant if isinstance(instant, datetime) else datetime.fromisoformat(instant)
    return (instant - START).total_seconds() / 86400


def after_defence(app, engine) -> int:
    """Let the 3 working days for the defence of a case notified on day 0 run out; the first whole day after."""
    due = working(app, START, 3)
    assert engine.run_due_timers(due - timedelta(minutes=1)) == 0
    assert engine.run_due_timers(due + timedelta(minutes=1)) == 1
    return math.ceil(days_to(due))


def act(user, case_id, name, data, status=200, day=0):
    with at(day):
        task = task_named(user, case_id, name)
        resp = user.post(f"/tasks/{task['id']}/complete", {"data": data})
    assert resp.status_code == status, resp.json
    return resp.json


def refused(user, case_id, name, data, day=0) -> dict:
    """The 422's fields of a refused completion; the task is still open afterwards."""
    reply = act(user, case_id, name, data, status=422, day=day)
    with at(day):
        assert name in open_names(user, case_id)
    return reply["error"]["fields"]


def file_case(api, app, day=0, **data):
    body = {"enterprise_id": enterprise_id(app), "source": "complaint", "facts": "群众举报: 违规向无证经营者供气"}
    body.update(data)
    with at(day):
        resp = api("keqiao_inspector").post("/cases", {"process": "penalty", "data": body})
    assert resp.status_code == 201, resp.json
    return resp.json["id"]


def filed(api, app, day=0, **data):
    """A case filed with the head's approval, investigated and proposed: the prior notice is out."""
    case_id = file_case(api, app, day, **data)
    act(api("keqiao_supervisor"), case_id, "Task_file_approve",
        {"filing_decision": "approve", "filing_comment": "同意立案"}, day=day)
    return case_id


def notified(api, app, penalty_type="fine", amount=20000, day=0):
    case_id = filed(api, app, day)
    inspector = api("keqiao_inspector")
    act(inspector, case_id, "Task_investigate",
        {"findings": "现场查实, 调取送气记录三份", "evidence_list": "现场检查笔录\n送气记录三份\n询问笔录"}, day=day)
    act(inspector, case_id, "Task_propose", {"penalty_type": penalty_type, "amount": amount, "listed": False,
                                             "legal_basis": "《城镇燃气管理条例》第四十五条"}, day=day)
    return case_id


def decide(api, case_id, penalty_type="fine", amount=20000, day=1, response=""):
    inspector, supervisor = api("keqiao_inspector"), api("keqiao_supervisor")
    act(inspector, case_id, "Task_redraft", {"penalty_type": penalty_type, "amount": amount,
                                             "legal_basis": "《城镇燃气管理条例》第四十五条",
                                             "defence_response": response}, day=day)
    return act(supervisor, case_id, "Task_county", {"decision": "approve", "comment": "同意。"}, day=day)


def hearing_noticed(api, app) -> tuple[int, datetime]:
    """A fine of 80 000 yuan notified on day 0, a hearing asked for on day 1 and noticed on day 2, for 09:30 of the
    first day the notice period allows; the case and the hearing's time."""
    inspector, enterprise = api("keqiao_inspector"), api("kq_bottled_admin")
    case_id = notified(api, app, amount=80000)
    act(enterprise, case_id, "Task_defence", {"statement": "请求听证", "request_hearing": True}, day=1)
    first = working(app, START + timedelta(days=2), 7).astimezone(LOCAL).replace(hour=9, minute=30, second=0)
    act(inspector, case_id, "Task_hearing_notice", {"hearing_at": first.isoformat(), "presiding": "王法制",
                                                    "hearing_place": "柯桥区住建局三楼会议室"}, day=2)
    return case_id, first


def documents_of(user, case_id) -> dict:
    return {d["kind"]: d for d in user.get(f"/cases/{case_id}").json["documents"]}


def test_small_fine_without_defence_is_decided_served_paid_and_closed(app, api, engine):
    inspector, supervisor, enterprise = api("keqiao_inspector"), api("keqiao_supervisor"), api("kq_bottled_admin")
    case_id = file_case(api, app)
    # The department's head files the case; the inspector alone cannot.
    approve = task_named(supervisor, case_id, "Task_file_approve")
    assert approve["role"] == "county_supervisor" and approve["due_at"] is not None
    assert inspector.post(f"/tasks/{approve['id']}/complete",
                          {"data": {"filing_decision": "approve"}}).status_code in (403, 404)
    act(supervisor, case_id, "Task_file_approve", {"filing_decision": "approve", "filing_comment": "同意立案"})
    assert set(refused(inspector, case_id, "Task_investigate", {"findings": "查实"})) == {"evidence_list"}
    act(inspector, case_id, "Task_investigate", {"findings": "查实", "evidence_list": "检查笔录\n照片 6 张"})
    proposed = act(inspector, case_id, "Task_propose", {"penalty_type": "fine", "amount": 20000,
                                                        "legal_basis": "《城镇燃气管理条例》第四十五条"})
    data = proposed["data"]
    assert data["evidence_list"] == ["检查笔录", "照片 6 张"]
    assert data["hearing_right"] is False and data["notified_amount"] == 20000.0
    assert data["decisions"]["penalty_hearing"]["version"] == 1
    # Statement and defence: 3 working days by the table penalty_periods; the party's own task.
    defence = task_named(enterprise, case_id, "Task_defence")
    assert defence["role"] == "enterprise"
    assert datetime.fromisoformat(defence["due_at"]) == working(app, START, 3)
    # A fine under the threshold gives no right to a hearing.
    assert set(refused(enterprise, case_id, "Task_defence", {"request_hearing": True})) == {"request_hearing"}
    # The party keeps silent: the period runs out and the case goes on without it.
    d = after_defence(app, engine)
    with at(d):
        assert open_names(inspector, case_id) == ["Task_redraft"]
    decided = decide(api, case_id, day=d + 1)
    assert decided["data"]["legal_review"] is False and decided["data"]["collective"] is False
    # Art. 61: served within 7 working days (art. 85).
    assert decided["data"]["service_days"] == 7
    assert decided["data"]["service_due"] == working(app, START + timedelta(days=d + 1), 7).isoformat()
    assert open_names(inspector, case_id) == ["Task_serve"]
    docs = documents_of(inspector, case_id)
    assert set(docs) == {"penalty_filing", "penalty_notice", "penalty_decision"}
    number = docs["penalty_decision"]["number"]
    # The number is the issued one: typing another is refused, naming the field.
    assert "document_no" in refused(inspector, case_id, "Task_serve", {
        "service_method": "direct", "served_at": iso(d + 1), "document_no": "绍燃罚〔2026〕1号"}, day=d + 1.1)
    assert "service_method" in refused(inspector, case_id, "Task_serve",
                                       {"service_method": "pigeon", "served_at": iso(d + 1)}, day=d + 1.1)
    served = act(inspector, case_id, "Task_serve", {"service_method": "direct", "served_at": iso(d + 1)},
                 day=d + 1.1)
    assert served["data"]["document_no"] == number and served["data"]["service_method"] == "direct"
    # Art. 67: 15 days to pay, calendar days (art. 85 names only the law's 2, 3, 5 and 7 days), to the end of the
    # last day or of the first working day after it.
    assert served["data"]["payment_due"] == calendar_days(app, START + timedelta(days=d + 1), 15).isoformat()
    # Paid in time: no surcharge; a surcharge typed in is refused.
    assert set(refused(inspector, case_id, "Task_payment", {"payment": "paid", "paid_at": iso(d + 7),
                                                            "paid_amount": 20000, "surcharge": "0"}, day=d + 7)) == {
        "surcharge"}
    assert "payment" in refused(inspector, case_id, "Task_payment", {"payment": "unpaid"}, day=d + 7)
    paid = act(inspector, case_id, "Task_payment", {"payment": "paid", "paid_at": iso(d + 7), "paid_amount": 20000},
               day=d + 7)
    assert paid["data"]["surcharge"] == 0 and paid["data"]["total_due"] == 20000
    act(inspector, case_id, "Task_close_report", {"close_summary": "罚款已按期缴纳，建议结案。"}, day=d + 8)
    done = act(supervisor, case_id, "Task_close_approve", {"close_decision": "approve"}, day=d + 8)
    assert done["status"] == "completed" and end_of(done) == "End_closed"
    assert set(documents_of(inspector, case_id)) == {"penalty_filing", "penalty_notice", "penalty_decision",
                                                     "penalty_closing"}


def flags(app, case_id) -> list[str]:
    from sqlalchemy import select

    from models import CaseEvent
    from web.extensions import db

    with app.app_context():
        return [d["flag"] for d in db.session.scalars(select(CaseEvent.detail).where(
            CaseEvent.case_id == case_id, CaseEvent.event == "flagged").order_by(CaseEvent.id))]


def notices_of(app, username, case_id) -> list[str]:
    from sqlalchemy import select

    from models import Notification, User
    from web.extensions import db

    with app.app_context():
        return list(db.session.scalars(select(Notification.text).join(User, User.id == Notification.user_id).where(
            User.username == username, Notification.case_id == case_id, Notification.kind == "message")))


def test_hearing_requested_no_heavier_draft_review_discussion_city_and_late_payment(app, api, engine, browser):
    inspector, supervisor, city, enterprise = (api("keqiao_inspector"), api("keqiao_supervisor"), api("admin"),
                                               api("kq_bottled_admin"))
    case_id = notified(api, app, amount=80000)
    data = enterprise.get(f"/cases/{case_id}").json["data"]
    # Art. 63: a fine of 80 000 yuan gives the right to a hearing, asked for within 5 working days (arts. 64, 85).
    request_due = working(app, START, 5).isoformat()
    assert data["hearing_right"] is True and data["hearing_request_due"] == request_due
    assert data["party_due"] == request_due
    act(enterprise, case_id, "Task_defence", {"statement": "供气对象持有临时许可，请求从轻处罚。",
                                              "request_hearing": True}, day=1)
    # The hearing notice: at least 7 working days ahead; the day before the 7th working day is refused.
    earliest = working(app, START + timedelta(days=2), 7).astimezone(LOCAL)
    first = earliest.replace(hour=9, minute=30, second=0)
    too_early = refused(inspector, case_id, "Task_hearing_notice", {
        "hearing_at": (first - timedelta(days=1)).isoformat(), "hearing_place": "柯桥区住建局三楼会议室",
        "presiding": "王法制"}, day=2)
    assert set(too_early) == {"hearing_at"} and f"{earliest.month}月{earliest.day}日" in too_early["hearing_at"][0]
    act(inspector, case_id, "Task_hearing_notice", {"hearing_at": first.isoformat(),
                                                    "hearing_place": "柯桥区住建局三楼会议室", "presiding": "王法制"},
        day=2)
    assert "hearing_notice" in documents_of(enterprise, case_id)
    h = math.ceil(days_to(first))  # the rest of the case goes on from the hearing's day
    act(inspector, case_id, "Task_hearing_record", {"held_at": first.isoformat(),
                                                    "hearing_record": "当事人陈述意见，出示临时许可。"},
        day=h)
    # Art. 45: nothing heavier than the notice after the defence: not a larger amount, not a heavier kind.
    draft = {"penalty_type": "fine", "amount": 90000, "legal_basis": "第四十五条", "defence_response": "不予采纳"}
    assert set(refused(inspector, case_id, "Task_redraft", draft, day=h + 1)) == {"amount"}
    assert set(refused(inspector, case_id, "Task_redraft", {**draft, "penalty_type": "suspension", "amount": 0},
                       day=h + 1)) == {"penalty_type"}
    assert set(refused(inspector, case_id, "Task_redraft", {**draft, "amount": 60000, "defence_response": ""},
                       day=h + 1)) == {"defence_response"}
    redrafted = act(inspector, case_id, "Task_redraft", {**draft, "amount": 60000,
                                                         "defence_response": "部分采纳，减轻处罚"}, day=h + 1)
    assert redrafted["data"]["legal_review"] is True and redrafted["data"]["collective"] is True
    assert redrafted["data"]["city_approval"] is True
    # Legal review (art. 58) can send it back; collective discussion (art. 57) follows.
    act(supervisor, case_id, "Task_legal_review", {"review_decision": "return", "review_opinion": "依据引用不全"},
        day=h + 1)
    act(inspector, case_id, "Task_redraft", {**draft, "amount": 60000, "defence_response": "部分采纳",
                                             "legal_basis": "《城镇燃气管理条例》第四十五条第一款"}, day=h + 1)
    act(supervisor, case_id, "Task_legal_review", {"review_decision": "approve", "review_opinion": "事实清楚"},
        day=h + 1)
    act(supervisor, case_id, "Task_collective", {"discussed_at": iso(h + 2), "participants": "局长、副局长、法规科长",
                                                 "collective_decision": "approve", "minutes": "同意罚款六万元"},
        day=h + 2)
    act(supervisor, case_id, "Task_county", {"decision": "approve", "comment": "同意，报市局审批。"}, day=h + 2)
    assert task_named(city, case_id, "Task_city")["role"] == "city_admin"
    decided = act(city, case_id, "Task_city", {"decision": "approve", "comment": "同意"}, day=h + 3)
    assert decided["data"]["decided_amount"] == 60000.0
    assert decided["data"]["service_due"] == working(app, START + timedelta(days=h + 3), 7).isoformat()
    # Decided within 90 days: the watch ended, nothing is flagged even long after.
    act(inspector, case_id, "Task_serve", {"service_method": "post", "served_at": iso(h + 3)}, day=h + 4)
    due = calendar_days(app, START + timedelta(days=h + 3), 15)
    assert engine.run_due_timers(due - timedelta(minutes=1)) == 0
    # Art. 67: 15 days to pay; then the inspector is told, and 3 % a day is added (art. 72).
    assert engine.run_due_timers(due + timedelta(minutes=1)) == 1
    assert any("缴款期限已届满" in t for t in notices_of(app, "keqiao_inspector", case_id))
    assert engine.run_due_timers(START + timedelta(days=h + 90)) == 0
    assert flags(app, case_id) == ["payment_overdue"]
    # Paid at noon on the third day after the due day: 3 days late.
    p = days_to(due + timedelta(days=2, hours=12))
    wrong = refused(inspector, case_id, "Task_payment", {"payment": "paid", "paid_at": iso(p),
                                                         "paid_amount": 60000}, day=p)
    assert set(wrong) == {"paid_amount"} and "65,400.00 元" in wrong["paid_amount"][0]
    paid = act(inspector, case_id, "Task_payment", {"payment": "paid", "paid_at": iso(p), "paid_amount": 65400},
               day=p)
    assert paid["data"]["days_late"] == 3 and paid["data"]["surcharge"] == 5400 and paid["data"]["total_due"] == 65400
    assert enterprise.get(f"/cases/{case_id}").json["data"]["surcharge"] == 5400
    # The penalty ledger (A8.3) lists the procedure's service, payment and surcharge.
    row = browser("keqiao_supervisor").client.get("/ledger/penalties/data.json").json["items"][0]
    assert row["id"] == case_id and row["service_method"] == "post" and row["payment"] == "paid"
    assert row["surcharge"] == 5400.0 and row["paid_amount"] == 65400.0


def unpaid_after_reminder(api, app, engine, amount=20000) -> tuple[int, float, datetime]:
    """A fine decided on day d (the first day after the defence period), served that day (due at the end of day
    d + 15, or of the first working day after it), not paid: the reminder goes out a quarter of an hour after the
    due instant, on the first day late. Returns the case, the reminder's day and the due instant."""
    inspector = api("keqiao_inspector")
    case_id = notified(api, app, amount=amount)
    d = after_defence(app, engine)
    decide(api, case_id, amount=amount, day=d)
    act(inspector, case_id, "Task_serve", {"service_method": "electronic", "served_at": iso(d)}, day=d)
    assert set(refused(inspector, case_id, "Task_payment", {"payment": "unpaid"}, day=d + 6)) == {"payment"}
    due = calendar_days(app, START + timedelta(days=d), 15)
    assert set(refused(inspector, case_id, "Task_payment", {"payment": "unpaid"}, day=days_to(due))) == {"payment"}
    r = days_to(due + timedelta(minutes=15))
    reminded = act(inspector, case_id, "Task_payment", {"payment": "unpaid"}, day=r)
    assert reminded["data"]["payment_due"] == due.isoformat()
    # Administrative Compulsion Law arts. 54 and 69: the court after 10 working days.
    assert reminded["data"]["court_days"] == 10
    assert reminded["data"]["court_from"] == working(app, START + timedelta(days=r), 10).isoformat()
    assert "penalty_reminder" in documents_of(api("kq_bottled_admin"), case_id)
    return case_id, r, due


def test_unpaid_fine_reminder_then_court_after_ten_days_and_closing(app, api, engine):
    inspector, supervisor = api("keqiao_inspector"), api("keqiao_supervisor")
    case_id, r, _due = unpaid_after_reminder(api, app, engine)
    court = {"enforcement": "court", "court": "绍兴市柯桥区人民法院", "court_case_no": "(2026)浙0603行审12号"}
    # Not on the 10th working day after the reminder, even at its end; from the next day on.
    ends = working(app, START + timedelta(days=r), 10)
    e = math.ceil(days_to(ends))
    last = (ends - timedelta(minutes=5)).isoformat()
    assert set(refused(inspector, case_id, "Task_enforce", {**court, "applied_at": last}, day=e)) == {"applied_at"}
    applied = (ends + timedelta(hours=10)).isoformat()
    assert set(refused(inspector, case_id, "Task_enforce", {"enforcement": "court", "applied_at": applied},
                       day=e + 1)) == {"court"}
    act(inspector, case_id, "Task_enforce", {**court, "applied_at": applied}, day=e + 1)
    act(inspector, case_id, "Task_close_report", {"close_summary": "已申请法院强制执行"}, day=e + 2)
    assert set(refused(supervisor, case_id, "Task_close_approve", {"close_decision": "return"}, day=e + 2)) == {
        "close_comment"}
    act(supervisor, case_id, "Task_close_approve", {"close_decision": "return", "close_comment": "补充执行裁定"},
        day=e + 2)
    act(inspector, case_id, "Task_close_report", {"close_summary": "已申请法院强制执行, 法院已受理"}, day=e + 3)
    done = act(supervisor, case_id, "Task_close_approve", {"close_decision": "approve"}, day=e + 3)
    assert done["status"] == "completed" and done["data"]["enforcement"] == "court"
    assert "penalty_closing" in documents_of(inspector, case_id)
    # Every document of the path renders (the reminder and the closing report with their computed parts).
    from web.extensions import db
    from workflows.services.documents.issue import render_pending

    with app.app_context():
        assert render_pending(db.session) == 5
    docs = documents_of(inspector, case_id)
    assert set(docs) == {"penalty_filing", "penalty_notice", "penalty_decision", "penalty_reminder",
                         "penalty_closing"} and {d["status"] for d in docs.values()} == {"ready"}


def test_paid_after_the_reminder_the_surcharge_never_exceeds_the_fine(app, api, engine):
    inspector = api("keqiao_inspector")
    case_id, _r, due = unpaid_after_reminder(api, app, engine, amount=20000)
    # Paid 40 days after the due day: 120 % by the day rate, capped at the fine itself (art. 72).
    p = days_to(due + timedelta(days=39, hours=12))
    assert set(refused(inspector, case_id, "Task_enforce", {"enforcement": "paid", "paid_at": iso(p),
                                                            "paid_amount": 44000}, day=p)) == {"paid_amount"}
    paid = act(inspector, case_id, "Task_enforce", {"enforcement": "paid", "paid_at": iso(p),
                                                    "paid_amount": 40000}, day=p)
    assert paid["data"]["days_late"] == 40 and paid["data"]["surcharge"] == 20000
    assert open_names(inspector, case_id) == ["Task_close_report"]


def test_ninety_days_without_extension_flag_the_city(app, api, engine):
    supervisor = api("keqiao_supervisor")
    case_id = filed(api, app)
    assert engine.run_due_timers(START + timedelta(days=74)) == 0
    assert engine.run_due_timers(START + timedelta(days=75, minutes=1)) == 1
    assert any("75 日" in t for t in notices_of(app, "keqiao_supervisor", case_id))
    extend = task_named(supervisor, case_id, "Task_extend")
    assert extend["role"] == "county_supervisor"
    # The case's data is still the procedure's, not the watch's copy.
    with at(76):
        assert "Task_investigate" in open_names(api("keqiao_inspector"), case_id)
    assert set(refused(supervisor, case_id, "Task_extend", {"extension": "approve", "extension_days": 0},
                       day=76)) == {"extension_days", "extension_reason"}
    act(supervisor, case_id, "Task_extend", {"extension": "refuse"}, day=76)
    # Art. 60: 90 days from filing, to the end of the 90th day or of the first working day after it.
    limit = calendar_days(app, START, 90)
    assert engine.run_due_timers(limit - timedelta(minutes=1)) == 0
    assert engine.run_due_timers(limit + timedelta(minutes=1)) == 1
    assert flags(app, case_id) == ["decision_due_soon", "decision_overdue"]
    assert any("逾期未作出处罚决定" in t for t in notices_of(app, "admin", case_id))
    # The case goes on: the procedure is still open.
    with at(91):
        assert open_names(api("keqiao_inspector"), case_id) == ["Task_investigate"]


def test_an_approved_extension_moves_the_limit(app, api, engine):
    supervisor = api("keqiao_supervisor")
    case_id = filed(api, app)
    engine.run_due_timers(START + timedelta(days=75, minutes=1))
    act(supervisor, case_id, "Task_extend", {"extension": "approve", "extension_days": 30,
                                             "extension_reason": "案情复杂，需补充鉴定"}, day=76)
    # The 30 days run on from the end of the 90, counted the same way.
    limit = calendar_days(app, calendar_days(app, START, 90), 30)
    assert engine.run_due_timers(limit - timedelta(minutes=1)) == 0
    assert flags(app, case_id) == ["decision_due_soon"]
    assert engine.run_due_timers(limit + timedelta(minutes=1)) == 1
    assert flags(app, case_id) == ["decision_due_soon", "decision_overdue"]


def test_a_decision_during_the_extension_ends_the_watch(app, api, engine):
    case_id = notified(api, app)
    after_defence(app, engine)  # the defence period runs out
    engine.run_due_timers(START + timedelta(days=75, minutes=1))  # the reminder and the extension task
    assert "Task_extend" in open_names(api("keqiao_supervisor"), case_id)
    decide(api, case_id, day=80)
    # The extension is no longer asked for, and the limit never flags the decided case.
    assert open_names(api("keqiao_supervisor"), case_id) == ["Task_serve"]
    assert engine.run_due_timers(START + timedelta(days=200)) == 0
    assert flags(app, case_id) == ["decision_due_soon"]


def test_filing_refused_and_filing_late(app, api, engine):
    supervisor = api("keqiao_supervisor")
    found = (START - timedelta(days=10)).isoformat()
    case_id = file_case(api, app, discovered_at=found)
    # Discovered 10 days ago with 7 days to file (penalty_periods): the filing is late as the case opens.
    due = calendar_days(app, START - timedelta(days=10), 7)
    assert due < START and task_named(supervisor, case_id, "Task_file_approve")["due_at"] == due.isoformat()
    assert flags(app, case_id) == ["filing_overdue"]
    assert any("逾期未立案" in t for t in notices_of(app, "keqiao_supervisor", case_id))
    assert set(refused(supervisor, case_id, "Task_file_approve", {"filing_decision": "refuse"})) == {"filing_comment"}
    done = act(supervisor, case_id, "Task_file_approve", {"filing_decision": "refuse",
                                                          "filing_comment": "不属于本机关管辖"})
    assert done["status"] == "completed" and end_of(done) == "End_not_filed"


def test_a_case_opened_from_a_rectification_runs_the_new_procedure(app, api, engine):
    """The rectification and accident models open penalty cases with their own data (no discovery time)."""
    from sqlalchemy import select

    from models import User
    from web.extensions import db

    with at(0), app.app_context():
        inspector = db.session.scalar(select(User).where(User.username == "keqiao_inspector"))
        case = engine.start_case("penalty", {"source": "rectification_overdue", "facts": "整改逾期 2 次"},
                                 inspector, enterprise_id=enterprise_id(app))
    data = api("keqiao_supervisor").get(f"/cases/{case}").json["data"]
    assert data["discovered_at"] == START.isoformat()
    assert data["filing_due"] == calendar_days(app, START, 7).isoformat()


INTERNAL = "同意，报市局审批。"


def test_the_party_sees_only_what_is_addressed_to_it(app, api, engine, browser):
    inspector, supervisor, city, enterprise = (api("keqiao_inspector"), api("keqiao_supervisor"), api("admin"),
                                               api("kq_bottled_admin"))
    case_id = notified(api, app, amount=60000)
    act(enterprise, case_id, "Task_defence", {"statement": "请求从轻处罚", "request_hearing": False}, day=1)
    inspector.post(f"/cases/{case_id}/comments", {"text": "内部: 当事人态度较好"})
    assert inspector.post(f"/cases/{case_id}/comments", {"text": "x", "visible_to_party": "yes"}).status_code == 422
    assert inspector.post(f"/cases/{case_id}/comments",
                          {"text": "请于听证后补交材料", "visible_to_party": True}).status_code == 201
    act(inspector, case_id, "Task_redraft", {"penalty_type": "fine", "amount": 60000, "legal_basis": "第四十五条",
                                             "defence_response": "不予采纳"}, day=2)
    act(supervisor, case_id, "Task_legal_review", {"review_decision": "approve", "review_opinion": "法制审核通过"},
        day=2)
    act(supervisor, case_id, "Task_collective", {"discussed_at": iso(2), "participants": "局班子",
                                                 "collective_decision": "approve", "minutes": "集体讨论同意"}, day=2)
    act(supervisor, case_id, "Task_county", {"decision": "approve", "comment": INTERNAL}, day=2)
    act(city, case_id, "Task_city", {"decision": "approve", "comment": "市局同意"}, day=2)

    # The authority sees everything.
    full = json.dumps(inspector.get(f"/cases/{case_id}").json, ensure_ascii=False)
    assert INTERNAL in full and "内部: 当事人态度较好" in full
    assert {"penalty_filing", "penalty_notice", "penalty_decision"} <= set(documents_of(inspector, case_id))

    seen = enterprise.get(f"/cases/{case_id}")
    text = json.dumps(seen.json, ensure_ascii=False)
    for internal in (INTERNAL, "市局同意", "法制审核通过", "集体讨论同意", "内部: 当事人态度较好", "不予采纳",
                     "Task_county", "Task_investigate", "现场查实", "keqiao_supervisor"):
        assert internal not in text, internal
    body = seen.json
    assert "请于听证后补交材料" in text and "请求从轻处罚" in text
    assert set(body["data"]) <= {"case_id", "enterprise_id", "facts", "notified_at", "notified_type", "notified_amount",
                                 "notified_basis", "defence_due", "hearing_right", "hearing_request_due", "party_due",
                                 "defended", "statement", "hearing_requested", "decided_at", "decided_type",
                                 "decided_amount", "decided_basis", "service_due"}
    assert body["data"]["decided_amount"] == 60000.0
    assert {d["kind"] for d in body["documents"]} == {"penalty_notice", "penalty_decision"}
    assert {h["task"] for h in body["history"] if h["task"]} == {"陈述申辩"}
    assert [h["detail"] for h in body["history"] if h["event"] == "case_started"] == [{}]
    assert body["children"] == [] and body["parent"] is None
    # The PDF of an internal document is not the party's to download, by id either.
    from web.extensions import db
    from workflows.services.documents.issue import render_pending

    with app.app_context():
        render_pending(db.session)
    pdfs = {d["kind"]: d["attachment_id"] for d in inspector.get(f"/cases/{case_id}").json["documents"]}
    assert enterprise.get(f"/attachments/{pdfs['penalty_filing']}").status_code == 404
    assert inspector.get(f"/attachments/{pdfs['penalty_filing']}").status_code == 200
    assert enterprise.get(f"/attachments/{pdfs['penalty_decision']}").status_code == 200
    assert {a["id"] for a in enterprise.get(f"/cases/{case_id}").json["attachments"]} == {
        pdfs["penalty_notice"], pdfs["penalty_decision"]}
    # Task pages of the authority's steps are not the party's either.
    serve = task_named(inspector, case_id, "Task_serve")
    assert enterprise.get(f"/tasks/{serve['id']}").status_code == 404

    # The same on the pages.
    page = browser("kq_bottled_admin").client.get(f"/cases/{case_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for internal in (INTERNAL, "市局同意", "法制审核通过", "内部: 当事人态度较好", "现场查实", "立案审批表"):
        assert internal not in html, internal
    assert "请于听证后补交材料" in html and 'id="diagram"' not in html
    assert browser("kq_bottled_admin").client.get(f"/cases/{case_id}/diagram.bpmn").status_code == 404
    staff_page = browser("keqiao_inspector").client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert INTERNAL in staff_page and 'id="diagram"' in staff_page


def test_running_cases_keep_the_version_they_started_on(app, api, engine):
    """A case of the first model goes on with its old steps after the procedure's model is the newest again."""
    from pathlib import Path

    from penalty_versions import PENALTY_2025

    inspector, supervisor = api("keqiao_inspector"), api("keqiao_supervisor")
    engine.deploy(PENALTY_2025.read_bytes())
    old = file_case(api, app)
    assert open_names(inspector, old) == ["Task_investigate"]
    # The procedure's model comes back as the newest version (the same model, one more note).
    current = (Path(__file__).resolve().parent.parent / "bpmn" / "penalty.bpmn").read_text(encoding="utf-8")
    _id, created = engine.deploy(current.replace("</bpmn:definitions>", "<!-- v3 -->\n</bpmn:definitions>")
                                 .encode("utf-8"))
    assert created
    new = file_case(api, app)
    versions = {c["id"]: c["version"] for c in inspector.get("/cases?process=penalty").json["items"]}
    assert versions[old] == 2 and versions[new] == 3
    assert open_names(supervisor, new) == ["Task_file_approve"]
    act(inspector, old, "Task_investigate", {"findings": "查实"})
    act(inspector, old, "Task_propose", {"penalty_type": "warning", "amount": 0, "legal_basis": "第四十五条"})
    assert open_names(supervisor, old) == ["Task_county"]


@pytest.mark.documents
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) not installed")
def test_the_notices_are_numbered_pdfs_and_the_decision_names_the_county_government(app, api, engine, tmp_path):
    from test_documents import fetch, pdf_text

    inspector, enterprise = api("keqiao_inspector"), api("kq_bottled_admin")
    case_id = notified(api, app, amount=80000)
    act(enterprise, case_id, "Task_defence", {"statement": "请求从轻处罚", "request_hearing": True}, day=1)
    hearing_on = working(app, START + timedelta(days=2), 7).astimezone(LOCAL).replace(hour=9, minute=30, second=0)
    h = math.ceil(days_to(hearing_on))
    act(inspector, case_id, "Task_hearing_notice", {"hearing_at": hearing_on.isoformat(),
                                                    "hearing_place": "柯桥区住建局三楼会议室", "presiding": "王法制"},
        day=2)
    docs = documents_of(enterprise, case_id)
    year = datetime.now(ZoneInfo("Asia/Shanghai")).year
    assert docs["penalty_notice"]["number"] == f"绍燃告〔{year}〕第0001号"
    assert docs["hearing_notice"]["number"] == f"绍燃听〔{year}〕第0001号"
    notice = pdf_text(fetch(enterprise, docs["penalty_notice"]["attachment_id"]), tmp_path)
    request_due = working(app, START, 5).astimezone(LOCAL)
    defence_due = working(app, START, 3).astimezone(LOCAL)
    for expected in ("行政处罚事先告知书", "罚款，人民币80,000.00元", "现场检查笔录；送气记录三份；询问笔录",
                     "有权要求听证", "不因你单位的陈述、申辩而给予更重的处罚",
                     # The dates of the working-day periods (arts. 64 and 85), to the end of their last day.
                     f"{request_due.year}年{request_due.month}月{request_due.day}日23时59分前通过燃气管理平台提出",
                     f"请于{defence_due.year}年{defence_due.month}月{defence_due.day}日23时59分前"):
        assert expected in notice, (expected, notice)
    hearing = pdf_text(fetch(enterprise, docs["hearing_notice"]["attachment_id"]), tmp_path)
    assert "柯桥区住建局三楼会议室" in hearing and "王法制" in hearing
    filing = pdf_text(fetch(inspector, documents_of(inspector, case_id)["penalty_filing"]["attachment_id"]), tmp_path)
    assert "行政处罚立案审批表" in filing and "投诉举报" in filing

    act(inspector, case_id, "Task_hearing_record", {"held_at": hearing_on.isoformat(),
                                                    "hearing_record": "当事人到场陈述"},
        day=h)
    act(inspector, case_id, "Task_redraft", {"penalty_type": "fine", "amount": 60000, "legal_basis": "第四十五条",
                                             "defence_response": "部分采纳，减为六万元"}, day=h + 1)
    supervisor = api("keqiao_supervisor")
    act(supervisor, case_id, "Task_legal_review", {"review_decision": "approve", "review_opinion": "通过"}, day=h + 1)
    act(supervisor, case_id, "Task_collective", {"discussed_at": iso(h + 1), "participants": "局班子",
                                                 "collective_decision": "approve", "minutes": "同意"}, day=h + 1)
    act(supervisor, case_id, "Task_county", {"decision": "approve"}, day=h + 1)
    act(api("admin"), case_id, "Task_city", {"decision": "approve"}, day=h + 1)
    decision = documents_of(enterprise, case_id)["penalty_decision"]
    text = pdf_text(fetch(enterprise, decision["attachment_id"]), tmp_path)
    # A district department's decision is reviewed by the district's people's government (复议法 2023, art. 24).
    assert "向绍兴市柯桥区人民政府申请行政复议" in text and "向绍兴市人民政府申请行政复议" not in text
    for expected in ("罚款，人民币60,000.00元", "并经听证", "部分采纳，减为六万元"):
        assert expected in text, (expected, text)
    # Served with the issued number, never typed.
    served = act(inspector, case_id, "Task_serve", {"service_method": "direct", "served_at": iso(h + 1)}, day=h + 1)
    assert served["data"]["document_no"] == decision["number"]


def test_comments_on_the_page_are_internal_unless_marked_for_the_party(app, api, browser):
    case_id = notified(api, app)
    inspector = browser("keqiao_inspector")
    path = f"/cases/{case_id}/comments"
    assert inspector.form_post(path, {"text": "内部意见: 从重"}, page_path=f"/cases/{case_id}").status_code == 302
    assert inspector.form_post(path, {"text": "请携带营业执照复印件", "visible_to_party": "1"},
                               page_path=f"/cases/{case_id}").status_code == 302
    party = browser("kq_bottled_staff")
    page = party.client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "请携带营业执照复印件" in page and "内部意见: 从重" not in page
    # The party's page offers no such flag: what its people write is the party's own.
    assert 'name="visible_to_party"' not in page
    assert party.form_post(path, {"text": "已收到告知书"}, page_path=f"/cases/{case_id}").status_code == 302
    assert "已收到告知书" in party.client.get(f"/cases/{case_id}").get_data(as_text=True)
    staff_page = inspector.client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "内部意见: 从重" in staff_page and "已收到告知书" in staff_page and 'name="visible_to_party"' in staff_page


@pytest.mark.documents
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) not installed")
def test_the_reminder_states_the_surcharge_and_the_closing_report_lists_the_documents(app, api, engine, tmp_path):
    from test_documents import fetch, pdf_text

    inspector, supervisor = api("keqiao_inspector"), api("keqiao_supervisor")
    case_id, r, _due = unpaid_after_reminder(api, app, engine)
    reminder = documents_of(inspector, case_id)["penalty_reminder"]
    text = pdf_text(fetch(api("kq_bottled_admin"), reminder["attachment_id"]), tmp_path)
    # Reminded on the first day after the due day: one day late, 3 % of 20 000 yuan; the period in working days
    # (Administrative Compulsion Law art. 69).
    for expected in ("履行行政处罚决定催告书", "已逾期1日，加处罚款人民币600.00元", "十个工作日内履行",
                     documents_of(inspector, case_id)["penalty_decision"]["number"]):
        assert expected in text, (expected, text)
    e = math.ceil(days_to(working(app, START + timedelta(days=r), 10)))
    act(inspector, case_id, "Task_enforce", {"enforcement": "court", "court": "柯桥区人民法院",
                                             "applied_at": iso(e + 0.5)}, day=e + 1)
    act(inspector, case_id, "Task_close_report", {"close_summary": "已申请强制执行，建议结案"}, day=e + 1)
    act(supervisor, case_id, "Task_close_approve", {"close_decision": "approve"}, day=e + 1)
    closing = documents_of(inspector, case_id)["penalty_closing"]
    text = pdf_text(fetch(inspector, closing["attachment_id"]), tmp_path)
    for expected in ("行政处罚结案报告", "已申请强制执行，建议结案", "向柯桥区人民法院申请强制执行", "卷内文书目录",
                     "1.立案审批表", "2.行政处罚事先告知书", "3.行政处罚决定书", "4.催告书", "5.结案报告（本文书）"):
        assert expected in text, (expected, text)
    assert api("kq_bottled_admin").get(f"/attachments/{closing['attachment_id']}").status_code == 404


def test_service_and_payment_recorded_on_the_pages(app, api, engine, browser):
    """The pages post what a browser sends: the issued number and the surcharge are shown, never posted.
    (On the real clock: a signed-in page session ends when the clock moves a day.)"""
    inspector = api("keqiao_inspector")
    case_id = notified(api, app)
    after_defence(app, engine)
    decide(api, case_id, day=0)
    number = documents_of(inspector, case_id)["penalty_decision"]["number"]
    page = browser("keqiao_inspector")
    serve = task_named(inspector, case_id, "Task_serve")
    form = page.client.get(f"/tasks/{serve['id']}").get_data(as_text=True)
    assert number in form and "disabled" in form
    local = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")
    tomorrow = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    bad = page.form_post(f"/tasks/{serve['id']}", {"service_method": "left", "served_at": tomorrow})
    assert bad.status_code == 422 and "不能晚于当前时间" in bad.get_data(as_text=True)
    assert page.form_post(f"/tasks/{serve['id']}", {"service_method": "left", "served_at": local}).status_code == 302
    data = inspector.get(f"/cases/{case_id}").json["data"]
    assert data["document_no"] == number and data["service_method"] == "left"
    pay = task_named(inspector, case_id, "Task_payment")
    form = page.client.get(f"/tasks/{pay['id']}").get_data(as_text=True)
    assert "20,000.00 元" in form
    # A surcharge posted by hand is refused on the page too, the form shown again with the message.
    refused_page = page.form_post(f"/tasks/{pay['id']}", {"payment": "paid", "paid_at": local, "paid_amount": "20000",
                                                          "surcharge": "100"})
    assert refused_page.status_code == 422 and "加处罚款由平台" in refused_page.get_data(as_text=True)
    assert page.form_post(f"/tasks/{pay['id']}", {"payment": "paid", "paid_at": local,
                                                  "paid_amount": "20000"}).status_code == 302
    assert inspector.get(f"/cases/{case_id}").json["data"]["surcharge"] == 0


# The notify.authority shape penalty models sent before it was one with the warning and accident models'.
LEGACY_SHAPE = {'"to": "supervisor"': '"role": "county_supervisor"', '"to": "city"': '"role": "city_admin"',
                '"to": "inspector"': '"role": "inspector"'}


def test_a_running_case_of_a_model_sending_the_legacy_role_shape_still_notifies(app, api, engine, browser):
    """Running cases keep their model's version: one deployed before notify.authority took the one
    {"to", "text", "flag"} shape still sends {"role", "text", "flag"}, and its people are still told."""
    from pathlib import Path

    from sqlalchemy import select

    from models import Case, CaseEvent, ProcessModel
    from web.extensions import db

    legacy = (Path(app.config["BPMN_DIR"]) / "penalty.bpmn").read_text("utf-8")
    for new, old in LEGACY_SHAPE.items():
        assert new in legacy
        legacy = legacy.replace(new, old)
    _model_id, created = engine.deploy(legacy.encode())
    assert created
    supervisor = api("keqiao_supervisor")
    case_id = file_case(api, app, discovered_at=(START - timedelta(days=10)).isoformat())
    with app.app_context():
        xml = db.session.scalar(select(ProcessModel.bpmn_xml).join(Case, Case.process_model_id == ProcessModel.id)
                                .where(Case.id == case_id))
        assert '"role": "county_supervisor"' in xml  # the case runs the legacy version
        detail = db.session.scalar(select(CaseEvent.detail).where(CaseEvent.case_id == case_id,
                                                                  CaseEvent.event == "flagged"))
    assert detail["flag"] == "filing_overdue" and detail["to"] == "supervisor" and detail["people"] == 1
    assert any("逾期未立案" in t for t in notices_of(app, "keqiao_supervisor", case_id))
    assert task_named(supervisor, case_id, "Task_file_approve")["role"] == "county_supervisor"
    # The history words the flag and whom it told, never their keys.
    page = browser("keqiao_supervisor").client.get(f"/cases/{case_id}").data.decode()
    assert "逾期未立案" in page and "县（区）主管部门" in page
    assert "filing_overdue" not in page


def test_notify_authority_refuses_an_audience_it_does_not_know(app):
    from workflows.errors import ModelRuntimeError
    from workflows.services.handlers import notify_authority

    with pytest.raises(ModelRuntimeError, match="notify.authority needs"):
        notify_authority(None, None, {"to": "everyone", "text": "x"}, None, START)
    with pytest.raises(ModelRuntimeError, match="notify.authority needs"):
        notify_authority(None, None, {"role": "enterprise_admin", "text": "x"}, None, START)


@pytest.mark.documents
def test_a_hearing_postponed_twice_with_a_notice_each_then_ended_when_the_party_stays_away(app, api, engine, tmp_path):
    """Art. 64: a postponed hearing is noticed again, at least 7 working days ahead (art. 85), each time by a notice of
    its own; a party that does not come is taken to have waived the hearing (art. 64 (8)): no hearing was held."""
    from test_documents import fetch, pdf_text

    inspector, enterprise = api("keqiao_inspector"), api("kq_bottled_admin")
    case_id, first = hearing_noticed(api, app)

    def told() -> list[str]:
        return [n["text"] for n in enterprise.get("/notifications").json["items"] if n["case_id"] == case_id]

    # The party is told the hearing's time and place on the platform the day it is noticed (it has no step of its
    # own then), in words: the day, the place, the notice's number.
    assert any(t.startswith(f"听证通知：本机关定于{first.year}年{first.month}月{first.day}日")
               and "柯桥区住建局三楼会议室" in t and "绍燃听〔" in t for t in told()), told()
    # The day before, the party's representative falls ill: the hearing is postponed.
    d = math.floor(days_to(first)) - 1
    earliest = working(app, START + timedelta(days=d), 7).astimezone(LOCAL)
    second = earliest.replace(hour=14, minute=0, second=0)
    postpone = {"hearing_outcome": "postponed", "postponement_reason": "当事人法定代表人因病住院",
                "new_hearing_at": second.isoformat()}
    assert set(refused(inspector, case_id, "Task_hearing_record", {**postpone, "postponement_reason": " "},
                       day=d)) == {"postponement_reason"}
    too_early = refused(inspector, case_id, "Task_hearing_record",
                        {**postpone, "new_hearing_at": (second - timedelta(days=1)).isoformat()}, day=d)
    assert set(too_early) == {"new_hearing_at"}
    assert f"{earliest.month}月{earliest.day}日" in too_early["new_hearing_at"][0]
    assert set(refused(inspector, case_id, "Task_hearing_record", {"hearing_outcome": "postponed",
                                                                   "postponement_reason": "因故"}, day=d)) \
        == {"new_hearing_at"}
    # Nothing held yet: a held hearing needs its time and record.
    assert set(refused(inspector, case_id, "Task_hearing_record", {"hearing_outcome": "held"}, day=d)) \
        == {"held_at", "hearing_record"}
    # Hostile instants are refused like malformed ones, not a 500 (year 1 or 9999 with an offset cannot be moved).
    for instant in ("9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "2400-01-01T09:00:00+08:00"):
        assert set(refused(inspector, case_id, "Task_hearing_record", {**postpone, "new_hearing_at": instant},
                           day=d)) == {"new_hearing_at"}
    # A postponement moves the hearing later, not earlier.
    sooner = refused(inspector, case_id, "Task_hearing_record",
                     {**postpone, "new_hearing_at": (first - timedelta(hours=1)).isoformat()}, day=2)
    assert set(sooner) == {"new_hearing_at"} and f"{first.month}月{first.day}日" in sooner["new_hearing_at"][0]
    # Not yet held, so not ended either: the party cannot have stayed away from a hearing still to come.
    early = refused(inspector, case_id, "Task_hearing_record", {
        "hearing_outcome": "ended", "held_at": iso(d), "hearing_record": "当事人未到场"}, day=d)
    assert set(early) == {"held_at"} and f"{first.month}月{first.day}日" in early["held_at"][0]
    # The fields of another outcome are ignored: a time that is no time and an overlong record do not refuse it.
    data = act(inspector, case_id, "Task_hearing_record", {**postpone, "held_at": "明天上午",
                                                           "hearing_record": "x" * 9000}, day=d)["data"]
    assert "held_at" not in data and "hearing_record" not in data
    assert datetime.fromisoformat(data["hearing_at"]) == second
    assert datetime.fromisoformat(data["postponed_from"]) == first
    assert data["hearing_place"] == "柯桥区住建局三楼会议室" and data["presiding"] == "王法制"  # left empty: kept
    assert data["hearing_outcome"] == "postponed" and data["hearing_held"] is False
    with at(d):
        again = task_named(inspector, case_id, "Task_hearing_record")
        assert datetime.fromisoformat(again["due_at"]) == second
        context = {c["key"]: c for c in inspector.get(f"/tasks/{again['id']}").json["context"]}
    assert context["postponement_reason"]["value"] == "当事人法定代表人因病住院"
    assert context["hearing_postponement"]["label"] == "延期举行听证通知书" and context["hearing_postponement"]["value"]
    rounds = context["rounds"]["value"]
    assert rounds[-1]["form"] == "penalty_hearing"
    assert {i["key"]: i for i in rounds[-1]["items"]}["postponement_reason"]["value"] == "当事人法定代表人因病住院"

    # Postponed once more, to another room: a second notice, with a number of its own; the first ones stay.
    d2 = math.floor(days_to(second)) - 1
    third = working(app, START + timedelta(days=d2), 7).astimezone(LOCAL).replace(hour=9, minute=0, second=0)
    act(inspector, case_id, "Task_hearing_record", {
        "hearing_outcome": "postponed", "postponement_reason": "因主持人申请回避，重新指定主持人。",
        "new_hearing_at": third.isoformat(), "new_hearing_place": "柯桥区住建局一楼听证室", "new_presiding": "李法制"},
        day=d2)
    changes = [t for t in told() if t.startswith("听证延期举行：改于")]  # newest first
    assert len(changes) == 2 and "柯桥区住建局一楼听证室" in changes[0] and "李法制" in changes[0], changes
    docs = enterprise.get(f"/cases/{case_id}").json["documents"]
    kinds = [doc["kind"] for doc in docs]
    assert kinds.count("hearing_notice") == 1 and kinds.count("hearing_postponement") == 2
    numbers = [doc["number"] for doc in docs if doc["kind"] == "hearing_postponement"]
    year = datetime.now(LOCAL).year
    assert sorted(numbers) == [f"绍燃延听〔{year}〕第0001号", f"绍燃延听〔{year}〕第0002号"]
    newest = max((doc for doc in docs if doc["kind"] == "hearing_postponement"), key=lambda doc: doc["number"])
    text = pdf_text(fetch(enterprise, newest["attachment_id"]), tmp_path)
    assert "因因" not in text and "重新指定主持人。，" not in text
    for expected in ("延期举行听证通知书", "因主持人申请回避，重新指定主持人，决定延期举行", "柯桥区住建局一楼听证室",
                     "李法制", f"{third.year}年{third.month}月{third.day}日", f"{second.month}月{second.day}日"):
        assert expected in text, (expected, text)

    # The party stays away: the hearing ends, taken as waived; the case goes on to the redraft without a hearing.
    h = math.ceil(days_to(third))
    data = act(inspector, case_id, "Task_hearing_record", {
        "hearing_outcome": "ended", "held_at": third.isoformat(),
        "hearing_record": "当事人经合法通知，无正当理由未到场"}, day=h)["data"]
    assert data["hearing_outcome"] == "ended" and data["hearing_held"] is False
    assert open_names(inspector, case_id) == ["Task_redraft"]
    with at(h):
        redraft = task_named(inspector, case_id, "Task_redraft")
        shown = {c["key"]: c for c in inspector.get(f"/tasks/{redraft['id']}").json["context"]}
    assert shown["hearing_outcome"]["value"] == "ended" and "视为放弃听证权利" in shown["hearing_outcome"]["text"]
    # No hearing was held: a fine under 50 000 yuan then needs no legal review (penalty_review.dmn; one held would),
    # and the decision says the hearing was waived, not held (art. 64 (8)).
    supervisor = api("keqiao_supervisor")
    redrafted = act(inspector, case_id, "Task_redraft", {"penalty_type": "fine", "amount": 40000,
                                                         "legal_basis": "第四十五条",
                                                         "defence_response": "当事人未到场，减轻处罚"}, day=h + 1)
    assert redrafted["data"]["legal_review"] is False and redrafted["data"]["collective"] is False
    with at(h + 1):
        assert open_names(supervisor, case_id) == ["Task_county"]
    act(supervisor, case_id, "Task_county", {"decision": "approve"}, day=h + 1)
    decision = pdf_text(fetch(enterprise, documents_of(enterprise, case_id)["penalty_decision"]["attachment_id"]),
                        tmp_path)
    assert "视为放弃听证权利" in decision and "并经听证" not in decision, decision


def test_the_postponed_time_hint_names_the_bound_the_form_applies(app):
    """The hint beside the new time names the later bound: the hearing noticed, when the notice period allows it
    already; otherwise the period (a case counting 7 calendar days gets no day named, as its notice form does)."""
    from werkzeug.datastructures import MultiDict

    from forms.penalty_procedure import PenaltyHearingForm
    from web.extensions import db

    def hint(case: dict) -> str:
        with app.test_request_context(headers={"Accept-Language": "zh"}):
            form = PenaltyHearingForm.for_case(case)(formdata=MultiDict(), meta={"csrf": False})
            form.load_choices(None, db.session)
            return str(form.new_hearing_at.description)

    soon, later = (START + timedelta(days=days) for days in (3, 30))
    with at(0):
        assert hint({"hearing_at": soon.isoformat()}) == ""  # calendar days: 7 from now is the bound, not named
        assert hint({"hearing_at": later.isoformat()}).startswith("晚于原定的听证时间")
        assert "个工作日前送达" in hint({"hearing_at": soon.isoformat(), "hearing_notice_days": 7})
        assert hint({"hearing_at": later.isoformat(), "hearing_notice_days": 7}).startswith("晚于原定的听证时间")
