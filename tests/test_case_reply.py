"""The case as the API answers it (GET /cases/<id>, and the replies of opening a case and completing a
task): every field of its open tasks (candidates, assignee, delegation, the task scope), history, files
and documents, as the authority and as the party of a case its model keeps internal."""
import io
import json
from datetime import UTC, datetime, timedelta

from conftest import enterprise_id, statements
from flows import open_order, task_named
from sqlalchemy import select, update

from models import Attachment, Case, CaseEvent, IssuedDocument, Task, TaskCandidate, User
from web.extensions import db
from workflows.services.documents.templates import KINDS

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
CASE_KEYS = ["id", "process", "version", "title", "status", "enterprise", "county", "created_at", "completed_at",
             "parent", "children", "data", "path", "tasks", "history", "attachments", "documents"]
# bpmn/penalty.bpmn's gasflow.party, and the two every party sees.
PARTY_KEYS = {"case_id", "enterprise_id", *(
    "facts,notified_at,notified_type,notified_amount,notified_basis,defence_due,hearing_right,hearing_request_due,"
    "party_due,defended,statement,hearing_requested,hearing_at,hearing_place,decided_at,decided_type,decided_amount,"
    "decided_basis,document_no,served_at,service_method,payment_due,paid_at,paid_amount,days_late,surcharge,"
    "total_due,reminded_at,court_from").split(",")}
TASK_KEYS = ["id", "case_id", "name", "title", "role", "county", "enterprise", "assignee", "due_at", "created_at",
             "status", "overdue", "form_key", "follow_up_at", "follow_up_reached", "candidates", "delegated_by"]


def iso(value):
    return value.astimezone(UTC).isoformat() if value else None


def completed(user, case_id, name, data) -> bytes:
    """The reply of completing the open task ``name``; it is the case as a read right after shows it."""
    resp = user.post(f"/tasks/{task_named(user, case_id, name)['id']}/complete", {"data": data})
    assert resp.status_code == 200, resp.json
    assert resp.get_data() == user.get(f"/cases/{case_id}").get_data()
    return resp.get_data()


def ids_of(app, *usernames):
    with app.app_context():
        return [db.session.scalar(select(User.id).where(User.username == u)) for u in usernames]


def expected(app, case_id, party: bool) -> dict:
    """What the reply holds, read here from the tables: the party sees its own task, the history of its
    tasks with the case's start, the comments meant for it, its own files and the notice with its PDF."""
    with app.app_context():
        case = db.session.get(Case, case_id)
        tasks = db.session.scalars(select(Task).where(Task.case_id == case_id, Task.status == "open")
                                   .order_by(Task.id)).all()
        users = dict(db.session.execute(select(User.id, User.username)).all())
        names = dict(db.session.execute(select(User.id, User.display_name)).all())
        enterprises = dict(db.session.execute(select(User.id, User.enterprise_id)).all())
        now = datetime.now(UTC)
        shown_tasks = [{
            "id": t.id, "case_id": case_id, "name": t.spec_name, "title": t.title, "role": t.role,
            "county": t.county_id, "enterprise": t.enterprise_id, "assignee": users.get(t.assignee_id),
            "due_at": iso(t.due_at), "created_at": iso(t.created_at), "status": "open",
            "overdue": bool(t.due_at and t.due_at < now), "form_key": t.form_key, "follow_up_at": iso(t.follow_up_at),
            "follow_up_reached": bool(t.follow_up_at and t.follow_up_at <= now),
            "candidates": sorted(users[c.user_id] for c in t.candidates), "delegated_by": users.get(t.delegated_by_id),
        } for t in tasks if not party or t.role == "enterprise"]
        files = db.session.scalars(select(Attachment).where(Attachment.case_id == case_id)
                                   .order_by(Attachment.id)).all()
        docs = db.session.scalars(select(IssuedDocument).where(IssuedDocument.case_id == case_id)
                                  .order_by(IssuedDocument.id)).all()
        roles = {t.id: t.role for t in db.session.scalars(select(Task).where(Task.case_id == case_id))}
        events = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id)
                                    .order_by(CaseEvent.id)).all()
        file_dicts = {a.id: {"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size}
                      for a in files}
        history = []
        for ev in events:
            detail = ev.detail
            if party:
                by_party = enterprises.get(ev.actor_id) is not None
                if ev.event == "comment":
                    if not (by_party or (detail or {}).get("visible_to_party")):
                        continue
                elif ev.event in ("case_started", "case_completed"):
                    detail = {k: v for k, v in (detail or {}).items() if k == "end_name"}
                elif roles.get(ev.task_id) != "enterprise":
                    continue
            entry = {"id": ev.id, "at": iso(ev.at), "actor": users.get(ev.actor_id),
                     "actor_name": names.get(ev.actor_id), "event": ev.event, "task": ev.task_name or None,
                     "task_id": ev.task_id, "detail": detail}
            if ev.event == "comment":
                entry["attachments"] = [file_dicts[i] for i in (ev.detail or {}).get("attachments") or []]
            history.append(entry)
        party_files = {a.id for a in files if enterprises.get(a.uploaded_by_id)} | {
            d.attachment_id for d in docs if KINDS[d.kind].addressed}
        return {
            "id": case_id, "process": "penalty", "version": 1, "title": case.title, "status": "active",
            "enterprise": case.enterprise_id, "county": case.county_id, "created_at": iso(case.created_at),
            "completed_at": None, "parent": None, "children": [],
            "data": {k: v for k, v in case.data.items() if k in PARTY_KEYS} if party else case.data,
            "path": [] if party else case.path,
            "tasks": shown_tasks, "history": history,
            "attachments": [{"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size,
                             "task_id": a.task_id} for a in files if not party or a.id in party_files],
            "documents": [{"kind": d.kind, "title": KINDS[d.kind].title, "number": d.number,
                           "issued_at": iso(d.issued_at), "status": "ready" if d.rendered_at else "pending",
                           "attachment_id": d.attachment_id} for d in docs if not party or KINDS[d.kind].addressed],
        }


def test_the_case_reply_as_the_authority_and_as_the_party(app, api):
    inspector, supervisor = api("keqiao_inspector"), api("keqiao_supervisor")
    party_admin, staff = api("kq_bottled_admin"), api("kq_bottled_staff")
    opened = inspector.post("/cases", {"process": "penalty", "data": {
        "enterprise_id": enterprise_id(app), "source": "complaint", "facts": "群众举报: 违规向无证经营者供气"}})
    assert opened.status_code == 201, opened.json
    case_id = opened.json["id"]
    assert opened.get_data() == inspector.get(f"/cases/{case_id}").get_data()
    completed(supervisor, case_id, "Task_file_approve", {"filing_decision": "approve", "filing_comment": "同意立案"})
    completed(inspector, case_id, "Task_investigate",
              {"findings": "现场查实", "evidence_list": "现场检查笔录\n送气记录三份"})
    # The notice is issued here: its document is pending in the reply, its PDF not rendered yet.
    reply = json.loads(completed(inspector, case_id, "Task_propose", {
        "penalty_type": "fine", "amount": 20000, "listed": False, "legal_basis": "《城镇燃气管理条例》第四十五条"}))
    assert {d["kind"]: d["status"] for d in reply["documents"]} == {"penalty_filing": "pending",
                                                                    "penalty_notice": "pending"}
    from workflows.services.documents.issue import render_pending

    with app.app_context():
        assert render_pending(db.session) == 2

    # Comments with files: the authority's own (internal), one meant for the party, the party's.
    assert inspector.post(f"/cases/{case_id}/comments", data={
        "text": "内部: 现场照片", "files": [(io.BytesIO(PNG), "现场.png", "image/png")]},
        content_type="multipart/form-data").status_code == 201
    assert inspector.post(f"/cases/{case_id}/comments", {"text": "请于五日内陈述", "visible_to_party": True}
                          ).status_code == 201
    assert staff.post(f"/cases/{case_id}/comments", data={
        "text": "已收到告知书", "files": [(io.BytesIO(PNG), "回执.png", "image/png")]},
        content_type="multipart/form-data").status_code == 201

    # The party's task names two candidates and was delegated; a second open task is the authority's own,
    # late and past its follow-up date: the party does not see it.
    staff_id, admin_id, inspector_id, inspector2_id = ids_of(
        app, "kq_bottled_staff", "kq_bottled_admin", "keqiao_inspector", "keqiao_inspector2")
    now = datetime.now(UTC)
    with app.app_context():
        defence = db.session.scalar(select(Task).where(Task.case_id == case_id, Task.status == "open"))
        assert defence.spec_name == "Task_defence"
        db.session.add_all([TaskCandidate(task_id=defence.id, user_id=staff_id),
                            TaskCandidate(task_id=defence.id, user_id=admin_id)])
        db.session.execute(update(Task).where(Task.id == defence.id).values(assignee_id=staff_id,
                                                                              delegated_by_id=admin_id))
        internal = Task(case_id=case_id, spiff_id="x", spec_name="Task_note", title="内部记录", form_key="",
                        role="inspector", county_id=defence.county_id, enterprise_id=defence.enterprise_id,
                        status="open", due_at=now - timedelta(hours=1), follow_up_at=now - timedelta(hours=2))
        db.session.add(internal)
        db.session.flush()
        db.session.add_all([TaskCandidate(task_id=internal.id, user_id=inspector2_id),
                            TaskCandidate(task_id=internal.id, user_id=inspector_id)])
        db.session.commit()

    full = inspector.get(f"/cases/{case_id}").json
    assert list(full) == sorted(CASE_KEYS) and [list(t) for t in full["tasks"]] == [sorted(TASK_KEYS)] * 2
    assert full == expected(app, case_id, party=False)
    assert [(t["name"], t["assignee"], t["candidates"], t["delegated_by"], t["overdue"], t["follow_up_reached"])
            for t in full["tasks"]] == [
        ("Task_defence", "kq_bottled_staff", ["kq_bottled_admin", "kq_bottled_staff"], "kq_bottled_admin", False,
         False),
        ("Task_note", None, ["keqiao_inspector", "keqiao_inspector2"], None, True, True)]
    assert [a["filename"] for a in full["attachments"]][-2:] == ["现场.png", "回执.png"]
    assert [(d["kind"], d["status"]) for d in full["documents"]] == [("penalty_filing", "ready"),
                                                                      ("penalty_notice", "ready")]

    for user in (party_admin, staff):
        seen = user.get(f"/cases/{case_id}").json
        assert seen == expected(app, case_id, party=True)
        assert [t["name"] for t in seen["tasks"]] == ["Task_defence"]
        assert [(h["event"], h["task"]) for h in seen["history"]] == [
            ("case_started", None), ("task_created", "陈述申辩"), ("comment", None), ("comment", None)]
        assert [[a["filename"] for a in h["attachments"]] for h in seen["history"] if h["event"] == "comment"] == [
            [], ["回执.png"]]
        assert [a["id"] for a in seen["attachments"]] == [full["documents"][1]["attachment_id"],
                                                          full["attachments"][-1]["id"]]
        assert [d["kind"] for d in seen["documents"]] == ["penalty_notice"]

    # The party's reply to its own completion is the case as it reads it afterwards.
    with app.app_context():
        db.session.execute(update(Task).where(Task.spec_name == "Task_note", Task.case_id == case_id)
                           .values(status="cancelled"))
        db.session.commit()
    after = json.loads(completed(staff, case_id, "Task_defence",
                                 {"statement": "请求从轻处罚", "request_hearing": False}))
    assert after == expected(app, case_id, party=True) and after["tasks"] == []
    assert inspector.get(f"/cases/{case_id}").json == expected(app, case_id, party=False)


def reply_reads(seen) -> list[str]:
    """The statements that read a case's reply: its row, its history, files or documents (a transition
    reads none of them; its tasks it does)."""
    return [s for s in seen if s.startswith("SELECT") and (
        s.startswith("SELECT cases.") or any(t in s for t in ("case_events", "attachments", "issued_documents")))]


def test_a_reply_reads_the_case_by_one_statement(app, api):
    """The history, open tasks (with their people), files and documents of a reply in one statement; the
    GET's case row in it too, where the caller's scope is checked, so a caller who may not see the case
    is answered 404 by the same one statement."""
    inspector, staff = api("keqiao_inspector"), api("kq_bottled_staff")
    case = open_order(api, app)
    # A comment with a file: its entry names the file, read with the case's files, not by a statement of
    # its own.
    assert inspector.post(f"/cases/{case['id']}/comments", data={
        "text": "现场照片", "files": [(io.BytesIO(PNG), "现场.png", "image/png")]},
        content_type="multipart/form-data").status_code == 201
    for user in (inspector, staff, api("admin")):
        with statements(app) as seen:
            resp = user.get(f"/cases/{case['id']}")
        assert resp.status_code == 200, resp.json
        assert len(reply_reads(seen)) == 1, "\n".join(s[:150] for s in seen)
        assert all(t in reply_reads(seen)[0] for t in ("case_events", "task_candidates", "attachments",
                                                        "issued_documents")), seen
    assert [h["attachments"][0]["filename"] for h in resp.json["history"] if h["event"] == "comment"] == ["现场.png"]
    for user in (api("yuecheng_inspector"), api("yc_pipeline_staff")):  # another county, another enterprise
        with statements(app) as seen:
            resp = user.get(f"/cases/{case['id']}")
        assert resp.status_code == 404 and "tasks" not in resp.json and len(reply_reads(seen)) == 1, seen
    assert inspector.get("/cases/999999").status_code == 404

    respond = task_named(staff, case["id"], "Task_respond")
    with statements(app) as seen:
        done = staff.post(f"/tasks/{respond['id']}/complete", {"data": {"response": "已整改"}})
    assert done.status_code == 200, done.json
    assert len(reply_reads(seen)) == 1, seen
    assert done.get_data() == staff.get(f"/cases/{case['id']}").get_data()
