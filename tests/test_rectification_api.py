"""The rectification lifecycle (L2) over the REST API, as the three users who own its steps."""
import io
from datetime import UTC, datetime, timedelta

from conftest import future
from flows import ACCEPT, open_order

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64



def only_open_task(api_user, case_id):
    tasks = [t for t in api_user.get("/tasks?scope=all").json["items"] if t["case_id"] == case_id]
    assert len(tasks) == 1, tasks
    return tasks[0]


def test_order_answered_sent_back_answered_again_and_accepted(app, api):
    inspector, staff = api("keqiao_inspector"), api("kq_bottled_staff")
    case = open_order(api, app)
    assert case["status"] == "active" and case["process"] == "rectification" and case["version"] == 1
    assert case["data"]["hazard_class"] == "II"

    # The enterprise finds the order in its group queue, with the deadline as due date.
    queue = staff.get("/tasks?scope=group").json["items"]
    task = next(t for t in queue if t["case_id"] == case["id"])
    assert task["name"] == "Task_respond" and task["role"] == "enterprise" and task["due_at"]
    detail = staff.get(f"/tasks/{task['id']}").json
    # The answer, or (once) a request for more time: which fields are needed depends on the choice.
    assert detail["form"]["required"] == []
    assert {"action", "response", "extension_reason", "extension_until"} <= set(detail["form"]["properties"])
    assert detail["form"]["properties"]["photos"]["type"] == ["array", "null"]  # optional: null is none

    photo = staff.post("/attachments", data={"file": (io.BytesIO(PNG), "after.png", "image/png")},
                       content_type="multipart/form-data")
    assert photo.status_code == 201, photo.json
    done = staff.post(f"/tasks/{task['id']}/complete",
                      {"data": {"response": "已更换报警器", "photos": [photo.json["id"]]}})
    assert done.status_code == 200, done.json
    # Besides the notice the order was issued with (no task), the answer's photo.
    assert [a["filename"] for a in done.json["attachments"] if a["task_id"]] == ["after.png"]

    # The verification lands with the inspector who issued the order.
    mine = inspector.get("/tasks?scope=mine").json["items"]
    verify = next(t for t in mine if t["case_id"] == case["id"])
    assert verify["name"] == "Task_verify" and verify["assignee"] == "keqiao_inspector"
    no_reason = inspector.post(f"/tasks/{verify['id']}/complete", {"data": {"decision": "send_back"}})
    assert no_reason.status_code == 422 and "comment" in no_reason.json["error"]["fields"]
    back = inspector.post(f"/tasks/{verify['id']}/complete",
                          {"data": {"decision": "send_back", "comment": "照片不清晰"}})
    assert back.status_code == 200 and back.json["data"]["send_back_count"] == 1

    again = only_open_task(staff, case["id"])
    assert again["name"] == "Task_respond" and again["id"] != task["id"]
    assert staff.post(f"/tasks/{again['id']}/complete", {"data": {"response": "补充照片"}}).status_code == 200
    verify2 = only_open_task(inspector, case["id"])
    final = inspector.post(f"/tasks/{verify2['id']}/complete", {"data": ACCEPT})
    assert final.status_code == 200
    assert final.json["status"] == "completed" and final.json["tasks"] == []

    history = inspector.get(f"/cases/{case['id']}").json["history"]
    completed = [(h["actor"], h["task"]) for h in history if h["event"] == "task_completed"]
    assert completed == [("kq_bottled_staff", "提交整改反馈"), ("keqiao_inspector", "核查整改情况"),
                         ("kq_bottled_staff", "提交整改反馈"), ("keqiao_inspector", "核查整改情况")]
    assert history[0]["event"] == "case_started" and history[-1]["event"] == "case_completed"
    assert history[-1]["detail"]["end"] == "End_closed"
    sent_back = next(h for h in history if h["detail"].get("decision") == "send_back")
    assert sent_back["detail"]["comment"] == "照片不清晰"


def test_missed_deadline_escalates_to_the_county_supervisor(app, api, engine):
    staff, supervisor = api("kq_bottled_staff"), api("keqiao_supervisor")
    case = open_order(api, app, hours=2)
    assert supervisor.get("/tasks?scope=group").json["total"] == 0

    # An hour later nothing is due; three hours later the timer fires.
    assert engine.run_due_timers(datetime.now(UTC) + timedelta(hours=1)) == 0
    assert engine.run_due_timers(datetime.now(UTC) + timedelta(hours=3)) == 1
    assert staff.get("/tasks?scope=group").json["total"] == 0
    escalation = only_open_task(supervisor, case["id"])
    assert escalation["name"] == "Task_escalate" and escalation["role"] == "county_supervisor"
    assert supervisor.get(f"/cases/{case['id']}").json["data"]["overdue_count"] == 1

    new_deadline = future(hours=72)
    resp = supervisor.post(f"/tasks/{escalation['id']}/complete",
                           {"data": {"action": "extend", "deadline_at": new_deadline, "comment": "延期三天"}})
    assert resp.status_code == 200, resp.json
    respond = only_open_task(staff, case["id"])
    assert datetime.fromisoformat(respond["due_at"]) == datetime.fromisoformat(new_deadline)

    # Missed again: the order goes to a penalty case by itself; the rectification ends there.
    assert engine.run_due_timers(datetime.now(UTC) + timedelta(hours=80)) == 1
    closed = supervisor.get(f"/cases/{case['id']}").json
    assert closed["status"] == "completed" and closed["data"]["overdue_count"] == 2
    events = [h["event"] for h in closed["history"]]
    assert events.count("timer_fired") == 2 and closed["history"][-1]["detail"]["end"] == "End_penalty"
    opened = next(h for h in closed["history"] if h["event"] == "case_opened")
    assert opened["detail"]["process"] == "penalty"
    penalty = supervisor.get(f"/cases/{opened['detail']['case']}").json
    assert penalty["data"]["source"] == "rectification_overdue" and penalty["enterprise"] == case["enterprise"]


def test_supervisor_transfers_an_overdue_order_to_a_penalty(app, api, engine):
    supervisor, inspector = api("keqiao_supervisor"), api("keqiao_inspector")
    case = open_order(api, app, hours=1)
    engine.run_due_timers(datetime.now(UTC) + timedelta(hours=2))
    escalation = only_open_task(supervisor, case["id"])
    done = supervisor.post(f"/tasks/{escalation['id']}/complete", {"data": {"action": "transfer"}})
    assert done.status_code == 200 and done.json["status"] == "completed"
    assert done.json["history"][-1]["detail"]["end"] == "End_transferred"
    child = next(h["detail"]["case"] for h in done.json["history"] if h["event"] == "case_opened")
    # The department's head files the penalty (行政处罚法 art. 54); its investigation then lands with the
    # inspector who issued the order.
    filing = only_open_task(supervisor, child)
    assert filing["name"] == "Task_file_approve" and filing["role"] == "county_supervisor"
    assert supervisor.post(f"/tasks/{filing['id']}/complete",
                           {"data": {"filing_decision": "approve"}}).status_code == 200
    investigate = only_open_task(inspector, child)
    assert investigate["name"] == "Task_investigate" and investigate["assignee"] == "keqiao_inspector"


def test_extend_without_new_deadline_is_refused(app, api, engine):
    supervisor = api("keqiao_supervisor")
    case = open_order(api, app, hours=1)
    engine.run_due_timers(datetime.now(UTC) + timedelta(hours=2))
    task = only_open_task(supervisor, case["id"])
    resp = supervisor.post(f"/tasks/{task['id']}/complete", {"data": {"action": "extend"}})
    assert resp.status_code == 422 and "deadline_at" in resp.json["error"]["fields"]
    past = supervisor.post(f"/tasks/{task['id']}/complete",
                           {"data": {"action": "extend", "deadline_at": "2020-01-01T00:00:00+08:00"}})
    assert past.status_code == 422 and "deadline_at" in past.json["error"]["fields"]
    assert only_open_task(supervisor, case["id"])["id"] == task["id"]


def test_claim_unclaim_and_assign(app, api):
    staff, inspector, inspector2, supervisor = (api("kq_bottled_staff"), api("keqiao_inspector"),
                                                api("keqiao_inspector2"), api("keqiao_supervisor"))
    case = open_order(api, app)
    task = only_open_task(staff, case["id"])
    assert staff.post(f"/tasks/{task['id']}/claim").json["assignee"] == "kq_bottled_staff"
    other = api("kq_bottled_admin")
    assert other.post(f"/tasks/{task['id']}/claim").status_code == 409
    assert other.post(f"/tasks/{task['id']}/complete", {"data": {"response": "x"}}).status_code == 403
    assert staff.post(f"/tasks/{task['id']}/unclaim").json["assignee"] is None
    staff.post(f"/tasks/{task['id']}/complete", {"data": {"response": "done"}})

    verify = only_open_task(inspector, case["id"])
    assert inspector2.post(f"/tasks/{verify['id']}/assign", {"user": "keqiao_inspector2"}).status_code == 403
    wrong = supervisor.post(f"/tasks/{verify['id']}/assign", {"user": "yuecheng_inspector"})
    assert wrong.status_code == 422 and "user" in wrong.json["error"]["fields"]
    moved = supervisor.post(f"/tasks/{verify['id']}/assign", {"user": "keqiao_inspector2"})
    assert moved.status_code == 200 and moved.json["assignee"] == "keqiao_inspector2"
    assert [t["id"] for t in inspector2.get("/tasks?scope=mine").json["items"]] == [verify["id"]]
    assert inspector.post(f"/tasks/{verify['id']}/complete", {"data": ACCEPT}).status_code == 403
    assert inspector2.post(f"/tasks/{verify['id']}/complete", {"data": ACCEPT}).status_code == 200


def test_third_send_back_files_a_penalty(app, api):
    staff, inspector = api("kq_bottled_staff"), api("keqiao_inspector")
    case = open_order(api, app)
    for round_ in (1, 2, 3):
        answer = only_open_task(staff, case["id"])
        answered = staff.post(f"/tasks/{answer['id']}/complete", {"data": {"response": f"第{round_}次整改"}})
        assert answered.status_code == 200
        verify = only_open_task(inspector, case["id"])
        resp = inspector.post(f"/tasks/{verify['id']}/complete",
                              {"data": {"decision": "send_back", "comment": "仍不合格"}})
        assert resp.status_code == 200, resp.json
    done = resp.json
    assert done["status"] == "completed" and done["data"]["send_back_count"] == 3
    assert [h["detail"].get("end") for h in done["history"] if h["event"] == "case_completed"] == ["End_failed"]
    penalty_id = next(h["detail"]["case"] for h in done["history"] if h["event"] == "case_opened")
    penalty = inspector.get(f"/cases/{penalty_id}").json
    assert penalty["data"]["source"] == "rectification_failed" and "3 次未通过核查" in penalty["data"]["facts"]
    assert penalty["parent"]["id"] == case["id"]
