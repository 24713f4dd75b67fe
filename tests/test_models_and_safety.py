"""Process model upload and versioning; the restricted script environment; concurrency guarantees."""
import io
import threading

from conftest import BPMN_DIR, enterprise_id, future
from flows import ACCEPT
from sqlalchemy import func, select

from models import Case, CaseEvent

ROOT_BPMN = BPMN_DIR.parent.parent / "bpmn" / "rectification.bpmn"


def upload(api_user, content: bytes, name="model.bpmn"):
    return api_user.post("/processes", data={"file": (io.BytesIO(content), name)},
                         content_type="multipart/form-data")


def issue_data(app, **extra):
    return {"enterprise_id": enterprise_id(app), "hazard_description": "阀门锈蚀", "hazard_class": "III",
            "deadline_at": future(), **extra}


def count_cases(app):
    from web.extensions import db

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Case))


def test_bad_models_are_refused_with_reasons(api):
    admin = api("admin")
    cases = {
        b"<not xml": "not well-formed XML",
        b"<root/>": "not a BPMN 2.0 file",
        ROOT_BPMN.read_bytes().replace(b'isExecutable="true"', b'isExecutable="false"'): "executable process",
        ROOT_BPMN.read_bytes().replace(b'camunda:formKey="rectification_verify"',
                                       b'camunda:formKey="no_such_form"'): "unknown form 'no_such_form'",
        ROOT_BPMN.read_bytes().replace(b"<bpmn:userTask id=\"Task_verify\"",
                                       b"<bpmn:serviceTask id=\"Task_verify\"")
        .replace(b"</bpmn:userTask>\n    <bpmn:exclusiveGateway id=\"Gateway_verify\"",
                 b"</bpmn:serviceTask>\n    <bpmn:exclusiveGateway id=\"Gateway_verify\""): "unsupported element",
        ROOT_BPMN.read_bytes().replace(b'decision == "accept"', b'__import__("os").system("id")'): "refused",
        ROOT_BPMN.read_bytes().replace(b"overdue_count = 0", b"import os"): "imports are not allowed",
        (BPMN_DIR / "parallel_review.bpmn").read_bytes().replace(b"StartEvent_1", b"Start"): "reserved",
    }
    for content, reason in cases.items():
        resp = upload(admin, content)
        assert resp.status_code == 422, (reason, resp.json)
        assert any(reason in r for r in resp.json["error"]["fields"]["file"]), (reason, resp.json)
    assert [p["version"] for p in admin.get("/processes").json if p["key"] == "rectification"] == [1]


def test_only_the_city_admin_uploads_models(api):
    resp = upload(api("keqiao_supervisor"), ROOT_BPMN.read_bytes())
    assert resp.status_code == 403
    assert api("admin").post("/processes", data={}, content_type="multipart/form-data").status_code == 422


def test_new_version_for_new_cases_old_cases_stay_on_theirs(app, api):
    admin, inspector, staff = api("admin"), api("keqiao_inspector"), api("kq_bottled_staff")
    old = inspector.post("/cases", {"process": "rectification", "data": issue_data(app)}).json
    assert upload(admin, ROOT_BPMN.read_bytes()).status_code == 200  # same content: same version
    changed = ROOT_BPMN.read_bytes().replace("核查整改情况".encode(), "复核整改情况".encode())
    resp = upload(admin, changed)
    assert resp.status_code == 201 and resp.json["version"] == 2
    new = inspector.post("/cases", {"process": "rectification", "data": issue_data(app)}).json
    assert (old["version"], new["version"]) == (1, 2)
    versions = {p["version"]: p["cases"] for p in admin.get("/processes").json if p["key"] == "rectification"}
    assert versions == {1: 1, 2: 1}

    for case in (old, new):
        task = next(t for t in staff.get("/tasks").json["items"] if t["case_id"] == case["id"])
        staff.post(f"/tasks/{task['id']}/complete", {"data": {"response": "ok"}})
    titles = {t["case_id"]: t["title"] for t in inspector.get("/tasks?scope=mine").json["items"]}
    assert titles == {old["id"]: "核查整改情况", new["id"]: "复核整改情况"}
    xml_v1 = admin.get("/processes/rectification/bpmn?version=1").data.decode()
    assert "核查整改情况" in xml_v1 and "复核整改情况" not in xml_v1


def test_a_model_cannot_read_files(app, api):
    admin, inspector = api("admin"), api("keqiao_inspector")
    assert upload(admin, (BPMN_DIR / "script_escape.bpmn").read_bytes()).status_code == 201
    before = count_cases(app)
    resp = inspector.post("/cases", {"process": "script_escape", "data": issue_data(app)})
    assert resp.status_code == 422 and resp.json["error"]["code"] == "model_error"
    assert "open" in resp.json["error"]["message"]
    assert "root:" not in resp.data.decode()
    assert count_cases(app) == before  # nothing half-written


def _race(calls):
    results = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(i, fn):
        barrier.wait()
        results[i] = fn()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_two_racing_completions_of_one_task_one_wins(app, api):
    from conftest import Api

    inspector = api("keqiao_inspector")
    case = inspector.post("/cases", {"process": "rectification", "data": issue_data(app)}).json
    staff = api("kq_bottled_staff")
    task_id = next(t["id"] for t in staff.get("/tasks").json["items"] if t["case_id"] == case["id"])
    a, b = Api(app, "kq_bottled_staff"), Api(app, "kq_bottled_admin")
    results = _race([
        lambda: a.post(f"/tasks/{task_id}/complete", {"data": {"response": "A"}}).status_code,
        lambda: b.post(f"/tasks/{task_id}/complete", {"data": {"response": "B"}}).status_code,
    ])
    assert sorted(results) == [200, 409]
    from web.extensions import db

    with app.app_context():
        done = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case["id"],
                                                          CaseEvent.event == "task_completed")).all()
    assert len(done) == 1
    open_tasks = inspector.get(f"/cases/{case['id']}").json["tasks"]
    assert [t["name"] for t in open_tasks] == ["Task_verify"]


def test_two_tasks_of_one_case_completed_at_once_both_succeed(app, api):
    from conftest import Api

    admin, inspector = api("admin"), api("keqiao_inspector")
    assert upload(admin, (BPMN_DIR / "parallel_review.bpmn").read_bytes()).status_code == 201
    case = inspector.post("/cases", {"process": "parallel_review", "data": issue_data(app)}).json
    tasks = [t["id"] for t in inspector.get("/tasks?scope=mine").json["items"] if t["case_id"] == case["id"]]
    assert len(tasks) == 2
    c1, c2 = Api(app, "keqiao_inspector"), Api(app, "keqiao_inspector")
    results = _race([
        lambda: c1.post(f"/tasks/{tasks[0]}/complete", {"data": ACCEPT}).status_code,
        lambda: c2.post(f"/tasks/{tasks[1]}/complete", {"data": ACCEPT}).status_code,
    ])
    assert results == [200, 200]
    final = inspector.get(f"/cases/{case['id']}").json
    assert final["status"] == "completed"
    assert [h["event"] for h in final["history"]].count("task_completed") == 2


def test_a_completion_waiting_for_the_case_lock_reads_the_tasks_as_the_holder_left_them(app, api):
    """A transition locks the case row, then reads its tasks by a statement of its own: one that waited for
    another transaction on the case reads what that one committed. (An UPDATE … RETURNING in a WITH clause
    joined to the tasks would lock the row first but read the tasks in the snapshot PostgreSQL took before
    the wait: here the task would still look unassigned, and the staff member's completion would pass.)"""
    from conftest import Api
    from sqlalchemy import update

    from models import Task, User
    from web.extensions import db

    inspector = api("keqiao_inspector")
    case = inspector.post("/cases", {"process": "rectification", "data": issue_data(app)}).json
    task_id = next(t["id"] for t in case["tasks"] if t["name"] == "Task_respond")
    staff = Api(app, "kq_bottled_staff")
    done = []
    with app.app_context():
        colleague = db.session.scalar(select(User.id).where(User.username == "kq_bottled_admin"))
        with db.engine.connect() as holder:  # another transition of the case, holding its lock
            holder.execute(update(Case).where(Case.id == case["id"]).values(revision=Case.revision + 1))
            holder.execute(update(Task).where(Task.id == task_id).values(assignee_id=colleague))
            worker = threading.Thread(target=lambda: done.append(
                staff.post(f"/tasks/{task_id}/complete", {"data": {"response": "整改完毕"}})))
            worker.start()
            worker.join(1.5)
            assert worker.is_alive()  # waiting for the case's lock
            holder.commit()
        worker.join(60)
    assert done[0].status_code == 403, done[0].json
    assert done[0].json["error"]["message"] == "this task is not yours to complete"
    assert [t["name"] for t in inspector.get(f"/cases/{case['id']}").json["tasks"]] == ["Task_respond"]
