"""The whole chain as the work really flows: an inspection finds two problems, two rectification orders
follow; one is fixed, the other misses its deadline twice and becomes a penalty large enough to need both
the county and the city; the penalty is served, paid and closed. Every case links to the one that opened it."""
from datetime import UTC, date, datetime, timedelta

from conftest import enterprise_id
from flows import ACCEPT, children, complete, end_of, open_names, task_named
from sqlalchemy import select


def test_inspection_to_rectification_to_penalty(app, api, engine):
    from models import ChecklistTemplate
    from web.extensions import db

    supervisor, inspector, staff, admin = (api("keqiao_supervisor"), api("keqiao_inspector"),
                                           api("kq_bottled_staff"), api("admin"))
    with app.app_context():
        tmpl = db.session.scalar(select(ChecklistTemplate).where(ChecklistTemplate.kind == "lpg_station"))
        template_id, items = tmpl.id, tmpl.items
    company = enterprise_id(app)

    activity = supervisor.post("/cases", {"process": "inspection_activity", "data": {
        "name": "瓶装燃气专项检查", "level": "county", "department": "柯桥区综合执法局",
        "planned_on": date.today().isoformat(), "template_id": template_id,
        "enterprise_ids": [company], "inspectors": ["keqiao_inspector"]}}).json
    (inspection,) = children(supervisor, activity["id"], "inspection")

    # Two problems found: items 1 and 4 fail.
    answers = {"rectification_days": 7}
    for i in range(len(items)):
        answers[f"item_{i}"] = "fail" if i in (1, 4) else "pass"
    scored = complete(inspector, inspection, "Task_fill", answers)
    assert scored["data"]["problem_count"] == 2
    fixed, neglected = children(inspector, inspection, "rectification")

    # The first order is answered and accepted.
    complete(staff, fixed, "Task_respond", {"response": "追溯系统已恢复上传"})
    closed = complete(inspector, fixed, "Task_verify", ACCEPT)
    assert closed["status"] == "completed" and end_of(closed) == "End_closed"

    # The second is never answered: seven days on, the county extends it; it is missed again.
    week = datetime.now(UTC) + timedelta(days=7, hours=1)
    assert engine.run_due_timers(week) == 1
    new_deadline = (week + timedelta(days=3)).isoformat()
    escalation = task_named(supervisor, neglected, "Task_escalate")
    resp = supervisor.post(f"/tasks/{escalation['id']}/complete",
                           {"data": {"action": "extend", "deadline_at": new_deadline}})
    assert resp.status_code == 200, resp.json
    assert engine.run_due_timers(week + timedelta(days=4)) == 1
    rect = admin.get(f"/cases/{neglected}").json
    assert rect["status"] == "completed" and end_of(rect) == "End_penalty" and rect["data"]["overdue_count"] == 2
    (penalty,) = children(admin, neglected, "penalty")
    case = admin.get(f"/cases/{penalty}").json
    assert case["data"]["source"] == "rectification_overdue" and case["enterprise"] == company

    # The penalty: the county's head files it (行政处罚法 art. 54); the inspector who issued the order
    # investigates and proposes 80 000 yuan, which gives the party the right to a hearing (art. 63).
    complete(supervisor, penalty, "Task_file_approve", {"filing_decision": "approve"})
    assert task_named(inspector, penalty, "Task_investigate")["assignee"] == "keqiao_inspector"
    complete(inspector, penalty, "Task_investigate", {"findings": "逾期两次未整改",
                                                      "evidence_list": "整改通知书\n复查记录"})
    proposed = complete(inspector, penalty, "Task_propose",
                        {"penalty_type": "fine", "amount": 80000, "listed": True, "legal_basis": "第四十五条"})
    assert proposed["data"]["hearing_right"] is True
    # The enterprise neither defends nor asks for a hearing; legal review and collective discussion follow.
    complete(staff, penalty, "Task_defence", {"statement": "", "request_hearing": False})
    redrafted = complete(inspector, penalty, "Task_redraft",
                         {"penalty_type": "fine", "amount": 80000, "listed": True, "legal_basis": "第四十五条"})
    assert redrafted["data"]["city_approval"] is True
    now = datetime.now(UTC).isoformat()
    complete(supervisor, penalty, "Task_legal_review", {"review_decision": "approve", "review_opinion": "事实清楚"})
    complete(supervisor, penalty, "Task_collective", {"discussed_at": now, "participants": "局班子",
                                                      "collective_decision": "approve", "minutes": "同意"})
    complete(supervisor, penalty, "Task_county", {"decision": "approve"})
    assert open_names(admin, penalty) == ["Task_city"]
    complete(admin, penalty, "Task_city", {"decision": "approve", "comment": "同意"})
    served_at = datetime.now(UTC).isoformat()
    complete(inspector, penalty, "Task_serve", {"service_method": "direct", "served_at": served_at})
    complete(inspector, penalty, "Task_payment", {"payment": "paid", "paid_at": served_at, "paid_amount": 80000})
    complete(inspector, penalty, "Task_close_report", {"close_summary": "罚款已缴纳"})
    done = complete(supervisor, penalty, "Task_close_approve", {"close_decision": "approve"})
    assert done["status"] == "completed" and end_of(done) == "End_closed"

    # The links hold both ways: each case names its parent and its children.
    assert [c["id"] for c in admin.get(f"/cases/{inspection}").json["children"]] == [fixed, neglected]
    assert admin.get(f"/cases/{penalty}").json["parent"]["id"] == neglected
    assert admin.get(f"/cases/{neglected}").json["parent"]["id"] == inspection
    assert admin.get(f"/cases/{inspection}").json["parent"]["id"] == activity["id"]
    # The enterprise sees its own cases in the chain, not the authority's activity plan.
    assert staff.get(f"/cases/{penalty}").status_code == 200
    assert staff.get(f"/cases/{activity['id']}").status_code == 404
