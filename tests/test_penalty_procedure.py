"""The penalty procedure of the Administrative Penalty Law (2021): the second version of the penalty model.

Every path of bpmn/penalty.bpmn, driven over the API against a real database, on a moving clock
(workflows/engine/clock.py): filing approval, investigation, prior notice, statement and defence, the hearing,
legal review and collective discussion, the decision within 90 days (reminder, extension, flag to the city),
service, payment with the surcharge of art. 72, the reminder and the court, closing; and what the party sees.
"""
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from conftest import enterprise_id
from flows import end_of, open_names, task_named

from workflows.engine import clock

START = datetime.now(UTC).replace(microsecond=0)


@contextmanager
def at(days: float):
    """The platform's clock ``days`` after START (the tests' day 0)."""
    with clock.frozen_at(START + timedelta(days=days)):
        yield


def iso(days: float) -> str:
    return (START + timedelta(days=days)).isoformat()


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
    # Statement and defence: 3 days by the table penalty_periods; the party's own task.
    defence = task_named(enterprise, case_id, "Task_defence")
    assert defence["role"] == "enterprise"
    assert datetime.fromisoformat(defence["due_at"]) == START + timedelta(days=3)
    # A fine under the threshold gives no right to a hearing.
    assert set(refused(enterprise, case_id, "Task_defence", {"request_hearing": True})) == {"request_hearing"}
    # The party keeps silent: the period runs out and the case goes on without it.
    assert engine.run_due_timers(START + timedelta(days=2)) == 0
    assert engine.run_due_timers(START + timedelta(days=3, minutes=1)) == 1
    with at(3):
        assert open_names(inspector, case_id) == ["Task_redraft"]
    decided = decide(api, case_id, day=4)
    assert decided["data"]["legal_review"] is False and decided["data"]["collective"] is False
    assert open_names(inspector, case_id) == ["Task_serve"]
    docs = documents_of(inspector, case_id)
    assert set(docs) == {"penalty_filing", "penalty_notice", "penalty_decision"}
    number = docs["penalty_decision"]["number"]
    # The number is the issued one: typing another is refused, naming the field.
    assert "document_no" in refused(inspector, case_id, "Task_serve", {
        "service_method": "direct", "served_at": iso(4), "document_no": "绍燃罚〔2026〕1号"}, day=4.1)
    assert "service_method" in refused(inspector, case_id, "Task_serve",
                                       {"service_method": "pigeon", "served_at": iso(4)}, day=4.1)
    served = act(inspector, case_id, "Task_serve", {"service_method": "direct", "served_at": iso(4)}, day=4.1)
    assert served["data"]["document_no"] == number and served["data"]["service_method"] == "direct"
    assert served["data"]["payment_due"] == iso(19)
    # Paid in time: no surcharge; a surcharge typed in is refused.
    assert set(refused(inspector, case_id, "Task_payment", {"payment": "paid", "paid_at": iso(10),
                                                            "paid_amount": 20000, "surcharge": "0"}, day=10)) == {
        "surcharge"}
    assert "payment" in refused(inspector, case_id, "Task_payment", {"payment": "unpaid"}, day=10)
    paid = act(inspector, case_id, "Task_payment", {"payment": "paid", "paid_at": iso(10), "paid_amount": 20000},
               day=10)
    assert paid["data"]["surcharge"] == 0 and paid["data"]["total_due"] == 20000
    act(inspector, case_id, "Task_close_report", {"close_summary": "罚款已按期缴纳，建议结案。"}, day=11)
    done = act(supervisor, case_id, "Task_close_approve", {"close_decision": "approve"}, day=11)
    assert done["status"] == "completed" and end_of(done) == "End_closed"
    assert set(documents_of(inspector, case_id)) == {"penalty_filing", "penalty_notice", "penalty_decision",
                                                     "penalty_closing"}
