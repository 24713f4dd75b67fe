"""What a transition writes, and by how many statements: its history by one INSERT, in the order things
happened; the people a new task's notice reaches with their areas' group robots by one SELECT."""
from conftest import statements
from flows import ACCEPT, open_order, task_named


def history_inserts(seen):
    return [s for s in seen if s.startswith("INSERT INTO case_events")]


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
