"""Deadlines of the rectification lifecycle (L2) by hazard class on the working-day calendar: the
class's period from the DMN table (shortened by the inspector, never lengthened), a send-back that
sets a new deadline, the enterprise's one extension request, the verification period with its
reminder and escalation, and the re-inspection with its 整改复查意见书."""
from datetime import UTC, datetime, timedelta

from flows import complete, open_names, open_order

from workflows.engine import clock


def test_a_send_back_after_the_deadline_sets_a_new_deadline_and_is_not_overdue(app, api, engine):
    inspector, staff = api("keqiao_inspector"), api("kq_bottled_staff")
    case = open_order(api, app, hours=2)
    complete(staff, case["id"], "Task_respond", {"response": "已更换报警器"})
    # The inspector verifies five hours later, after the order's deadline, and sends it back.
    later = datetime.now(UTC) + timedelta(hours=5)
    with clock.frozen_at(later):
        back = complete(inspector, case["id"], "Task_verify", {"decision": "send_back", "comment": "照片不清晰"})
    new_deadline = datetime.fromisoformat(back["data"]["deadline_at"])
    assert new_deadline > later
    # The enterprise gets its retry: no timer fires a minute later, the answer is its task again.
    assert engine.run_due_timers(later + timedelta(minutes=1)) == 0
    assert open_names(staff, case["id"]) == ["Task_respond"]
    assert inspector.get(f"/cases/{case['id']}").json["data"]["overdue_count"] == 0
