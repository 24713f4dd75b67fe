"""What a transition writes, and by how many statements: its history by one INSERT, in the order things
happened; the people a new task's notice reaches with their areas' group robots by one SELECT; its case
and task rows by statements of their own, the case by one UPDATE."""
from contextlib import contextmanager

import pytest
from conftest import enterprise_id, future, statements
from flows import ACCEPT, open_order, task_named
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from models import Case, Task, User
from workflows.errors import ModelRuntimeError


def history_inserts(seen):
    """The statements inserting history: an INSERT of its own, or (PostgreSQL) the case's UPDATE carrying it."""
    return [s for s in seen if s.startswith("INSERT INTO case_events")
            or (s.startswith("WITH written_") and "written_case_events AS" in s)]


def carried(statement: str) -> str:
    """What a statement does once the rows it carries in its WITH clause are set aside: the case's UPDATE
    that carries a transition's history and notices on PostgreSQL is the UPDATE (workflows/held_rows.py)."""
    if statement.startswith("WITH written_"):
        return statement[statement.rindex(" UPDATE cases SET ") + 1:]
    return statement


def test_each_transition_writes_its_history_in_one_statement_in_order(app, api):
    inspector, staff = api("keqiao_inspector"), api("kq_bottled_staff")
    with statements(app) as seen:
        case = open_order(api, app)
    # Opened, its task made, the notice issued (a handler): one INSERT. The enterprise's staff, who are
    # told of the task, are read with their areas' robots by one statement, not their ids first.
    assert len(history_inserts(seen)) == 1, seen
    # (The transition's statements: the request's audit, after them, may tell admins of an alert.)
    transition = seen[:seen.index(history_inserts(seen)[0])]
    assert len([s for s in transition if s.startswith("SELECT users.")]) == 1, transition
    assert "notification_robots" in next(s for s in transition if s.startswith("SELECT users.")), transition
    steps = [("respond", staff, "Task_respond", {"response": "已整改"}),
             ("send back", inspector, "Task_verify", {"decision": "send_back", "comment": "照片不清晰"}),
             ("respond again", staff, "Task_respond", {"response": "补充照片"}),
             ("accept", inspector, "Task_verify", ACCEPT)]
    for step, user, name, data in steps:
        task = task_named(user, case["id"], name)
        with statements(app) as seen:
            done = user.post(f"/tasks/{task['id']}/complete", {"data": data})
        assert done.status_code == 200, (step, done.json)
        # The task sent back quotes the history (why it came back): what the transition recorded before
        # is written first, with nothing left to write after; one INSERT either way.
        assert len(history_inserts(seen)) == 1, (step, seen)
    history = inspector.get(f"/cases/{case['id']}").json["history"]
    respond, verify = "提交整改反馈", "核查整改情况"
    assert [(h["event"], h["task"]) for h in history] == [
        ("case_started", None), ("task_created", respond), ("message_handled", None),
        ("task_completed", respond), ("task_created", verify),
        ("task_completed", verify), ("task_created", respond),
        ("task_completed", respond), ("task_created", verify),
        ("task_completed", verify), ("message_handled", None), ("case_completed", None)], history


@contextmanager
def flushed_rows():
    """The case and task objects the ORM's unit of work had to write inside the block (by class name)."""
    seen: list[str] = []

    def note(session, _context, _instances):
        seen.extend(type(o).__name__ for o in [*session.new, *session.dirty] if isinstance(o, Case | Task))

    event.listen(Session, "before_flush", note)
    try:
        yield seen
    finally:
        event.remove(Session, "before_flush", note)


def case_writes(seen):
    """The UPDATEs of the case other than the lock's (which bumps the revision alone)."""
    return [s for s in map(carried, seen)
            if s.startswith("UPDATE cases SET") and not s.startswith("UPDATE cases SET revision=")]


def test_a_transition_writes_its_case_and_tasks_by_statements_of_its_own(app, api):
    """The unit of work flushed the case and its tasks (a sixth of the web side's CPU per completion);
    now a transition inserts and updates them by statements of its own, the case by one UPDATE at its
    end, after the handlers that read it (the notice quotes its deadline), and the objects hold what
    was written: the replies show it, and the rows read back agree."""
    inspector, staff = api("keqiao_inspector"), api("kq_bottled_staff")
    with flushed_rows() as flushed, statements(app) as seen:
        case = open_order(api, app)
    assert flushed == [], flushed
    assert len([s for s in seen if s.startswith("INSERT INTO cases")]) == 1, seen
    assert len(case_writes(seen)) == 1, seen
    steps = [("respond", staff, "Task_respond", {"response": "已整改"}, "active"),
             ("send back", inspector, "Task_verify", {"decision": "send_back", "comment": "照片不清晰"}, "active"),
             ("respond again", staff, "Task_respond", {"response": "补充照片"}, "active"),
             ("accept", inspector, "Task_verify", ACCEPT, "completed")]
    for step, user, name, data, status in steps:
        task = task_named(user, case["id"], name)
        with flushed_rows() as flushed, statements(app) as seen:
            done = user.post(f"/tasks/{task['id']}/complete", {"data": data})
        assert done.status_code == 200, (step, done.json)
        assert flushed == [], (step, flushed)
        assert len(case_writes(seen)) == 1, (step, seen)
        assert done.json["status"] == status, (step, done.json)
        again = user.get(f"/cases/{case['id']}").json
        assert (again["status"], again["data"]) == (done.json["status"], done.json["data"]), step
    from web.extensions import db

    with app.app_context():
        row = db.session.get(Case, case["id"])
        tasks = db.session.scalars(select(Task).where(Task.case_id == case["id"]).order_by(Task.id)).all()
        assert row.status == "completed" and row.completed_at is not None and row.next_timer_at is None
        assert row.data["reinspection_findings"] == "复查合格" and "Task_verify" in row.path
        assert [(t.spec_name, t.status, t.completed_by_id) for t in tasks] == [
            ("Task_respond", "completed", staff.user_id), ("Task_verify", "completed", inspector.user_id),
            ("Task_respond", "completed", staff.user_id), ("Task_verify", "completed", inspector.user_id)]


def test_a_refused_transition_leaves_no_row_behind_in_the_session(app, engine):
    """The rows a refused start inserted go with its rollback, from the database and from the session;
    SQLite hands their ids out again, and the next start in the same request's session gets them cleanly."""
    from web.extensions import db

    ent = enterprise_id(app)
    with app.test_request_context():  # a request's units of work share its session
        inspector = db.session.scalar(select(User).where(User.username == "keqiao_inspector"))
        order = {"hazard_description": "报警器失效", "hazard_class": "II", "deadline_at": future()}
        # Refused: the notice needs an enterprise to go to. The error is kept, as an error page keeps it
        # while it answers, and with it (its traceback) the refused case's object.
        with pytest.raises(ModelRuntimeError, match="has none") as refused:
            engine.start_case("rectification", order, inspector)
        case_id = engine.start_case("rectification", order, inspector, enterprise_id=ent)
        assert refused.value is not None
        case = db.session.get(Case, case_id)
        assert (case.status, case.data["enterprise_id"]) == ("active", ent)
        tasks = db.session.scalars(select(Task).where(Task.case_id == case_id)).all()
        assert [(t.spec_name, t.status) for t in tasks] == [("Task_respond", "open")]


def test_history_and_notices_are_written_with_the_case_whatever_their_text(app, api):
    """A transition's history and notifications are held and written at its end (on PostgreSQL by the
    case's UPDATE, as JSON records): what was recorded arrives whole, text with quotes, backslashes, a
    JSON-looking string and CJK alike, in the order it happened, on both databases."""
    from models import CaseEvent, Notification
    from web.extensions import db

    inspector, staff = api("keqiao_inspector"), api("kq_bottled_staff")
    case = open_order(api, app)
    odd = '已整改 "引号" \\反斜杠\\ {"a": [1, 2]} \' ; -- 🙂'
    task = task_named(staff, case["id"], "Task_respond")
    with statements(app) as seen:
        done = staff.post(f"/tasks/{task['id']}/complete", {"data": {"response": odd}})
    assert done.status_code == 200, done.json
    postgresql = app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    own = [s for s in seen if s.startswith(("INSERT INTO case_events", "INSERT INTO notifications", "UPDATE tasks"))]
    # PostgreSQL: no statement of their own, the task ended, the history and the notice ride the case's one
    # UPDATE; SQLite: a statement each.
    assert len(own) == (0 if postgresql else 3), seen
    if postgresql:
        update = next(s for s in seen if carried(s) != s)
        assert all(f"written_{kind} AS" in update for kind in ("ended_tasks", "case_events", "notifications")), update
    with app.app_context():
        events = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case["id"])
                                    .order_by(CaseEvent.id)).all()
        completed = next(e for e in events if e.event == "task_completed")
        assert completed.detail["response"] == odd and completed.at.tzinfo is not None
        assert [e.event for e in events][-2:] == ["task_completed", "task_created"]
        told = db.session.scalars(select(Notification).where(Notification.case_id == case["id"],
                                                             Notification.user_id == inspector.user_id)).all()
        verify = next(e for e in events if e.event == "task_created" and e.task_name == "核查整改情况")
        assert [(n.kind, n.task_id, n.read_at, n.mail) for n in told] == [("task_created", verify.task_id, None, True)]
        assert told[0].created_at == completed.at
        ended = db.session.get(Task, task["id"])
        assert (ended.status, ended.completed_by_id, ended.completed_at) == ("completed", staff.user_id, completed.at)


def test_a_document_a_transition_issues_is_written_with_its_case(app, api):
    """The notice an order issues is written with the case (on PostgreSQL by the case's UPDATE, its id taken
    with its number) and is in the reply, pending its PDF; the next order's notice gets the next number."""
    from models import IssuedDocument
    from web.extensions import db

    with statements(app) as seen:
        case = open_order(api, app)
    postgresql = app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    own = [s for s in seen if s.startswith("INSERT INTO issued_documents")]
    assert len(own) == (0 if postgresql else 1), seen
    if postgresql:
        assert any(s.startswith("WITH written_") and "written_issued_documents AS" in s for s in seen), seen
    second = open_order(api, app)
    with app.app_context():
        docs = db.session.scalars(select(IssuedDocument).where(IssuedDocument.case_id.in_([case["id"], second["id"]]))
                                  .order_by(IssuedDocument.id)).all()
        assert [(d.case_id, d.kind, d.rendered_at) for d in docs] == [
            (case["id"], "rectification_notice", None), (second["id"], "rectification_notice", None)]
        assert docs[1].serial == docs[0].serial + 1 and docs[0].fields["enterprise"]
    # The reply, read after the transition in its transaction, lists it, pending its PDF.
    assert [(d["number"], d["status"], d["attachment_id"]) for d in case["documents"]] == [
        (docs[0].number, "pending", None)], case["documents"]


def test_the_lock_reads_the_task_and_its_case_as_they_stand_over_what_the_session_held(app, api, engine):
    """A completion reads the task, its case and their candidates after taking the case's lock, over what the
    request's session read before (another transaction may have changed them meanwhile): the session's own
    objects then hold the rows as they stand, and the transition works from them."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from web.extensions import db

    staff = api("kq_bottled_staff")
    case = open_order(api, app)
    task = task_named(staff, case["id"], "Task_respond")
    other = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=NullPool)
    with app.test_request_context():  # the engine works in the request's session
        user = db.session.scalar(select(User).where(User.username == "kq_bottled_staff"))
        held_case, held_task = db.session.get(Case, case["id"]), db.session.get(Task, task["id"])
        assert held_task.assignee_id is None and held_task.candidates == []
        try:
            with other.begin() as conn:  # meanwhile, elsewhere
                conn.execute(text("UPDATE cases SET title = :t WHERE id = :id"),
                             {"t": "另一处改过的标题", "id": case["id"]})
                conn.execute(text("UPDATE tasks SET title = :t WHERE id = :id"),
                             {"t": "另一处改过的任务", "id": task["id"]})
                conn.execute(text("INSERT INTO task_candidates (task_id, user_id) VALUES (:t, :u)"),
                             {"t": task["id"], "u": user.id})
        finally:
            other.dispose()
        engine.complete_task(task["id"], user, {"response": "已整改"})
        assert db.session.get(Case, case["id"]) is held_case and held_case.title == "另一处改过的标题"
        # Columns the completion does not write show the other transaction's values; those it writes, its own.
        assert (held_task.title, held_task.status, held_task.completed_by_id) == (
            "另一处改过的任务", "completed", user.id)
        assert [c.user_id for c in held_task.candidates] == [user.id]
        db.session.commit()
    again = api("keqiao_inspector").get(f"/cases/{case['id']}").json
    assert again["title"] == "另一处改过的标题" and [t["name"] for t in again["tasks"]] == ["Task_verify"]
