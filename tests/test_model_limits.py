"""Runaway models: every script and expression runs under a CPU time and a memory limit per step, a
step that hits one fails its transition (422 model_error naming the element, nothing written) and
leaves the thread and the database free; expressions that cannot be bounded are refused at upload."""
import io
import re
import threading
import time

import pytest
from conftest import BPMN_DIR, enterprise_id, future
from sqlalchemy import func, select, text

from models import Case, CaseEvent, Task

CPU_SECONDS = 0.5


@pytest.fixture(autouse=True)
def small_limits(app, monkeypatch):
    """Limits as an operator sets them (the environment, read when the app starts), small so a runaway
    step is stopped quickly; the session's app has started already, so they are applied as it would."""
    from web.config import load_config
    from workflows.engine import restricted

    monkeypatch.setenv("GASFLOW_SCRIPT_CPU_SECONDS", str(CPU_SECONDS))
    monkeypatch.setenv("GASFLOW_SCRIPT_MEMORY_MB", "128")
    started = load_config()
    app.config.update(SCRIPT_CPU_SECONDS=started["SCRIPT_CPU_SECONDS"], SCRIPT_MEMORY_MB=started["SCRIPT_MEMORY_MB"])
    restricted.configure(app.config["SCRIPT_CPU_SECONDS"], app.config["SCRIPT_MEMORY_MB"])


def upload(api_user, content: bytes, name="model.bpmn"):
    return api_user.post("/processes", data={"file": (io.BytesIO(content), name)},
                         content_type="multipart/form-data")


def issue_data(app):
    return {"enterprise_id": enterprise_id(app), "hazard_description": "阀门锈蚀", "hazard_class": "III",
            "deadline_at": future()}


def deployed_before_the_checks(engine, monkeypatch, content: bytes) -> None:
    """A model stored before uploads were checked for unbounded expressions (a database upgraded
    from an earlier version): deployed with the upload checks switched off."""
    from workflows.engine import loader

    monkeypatch.setattr(loader, "expression_refused", lambda text: None)
    monkeypatch.setattr(loader, "_check_timer", lambda kind, text: None)
    engine.deploy(content + b"<!-- stored before upload checks -->")
    monkeypatch.undo()


def snapshot(app, case_id: int) -> tuple:
    from web.extensions import db

    with app.app_context():
        case = db.session.get(Case, case_id)
        tasks = db.session.execute(select(Task.id, Task.status).where(Task.case_id == case_id)
                                   .order_by(Task.id)).all()
        events = db.session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case_id))
        return case.revision, case.status, case.state, case.data, [tuple(t) for t in tasks], events


def complete_within(client, task_id: int, data: dict, seconds: float = 60):
    """Complete a task in a thread of its own: a step that never returns must fail the test, not hang it."""
    done = []
    worker = threading.Thread(target=lambda: done.append(client.post(f"/tasks/{task_id}/complete", {"data": data})),
                              daemon=True)
    worker.start()
    worker.join(seconds)
    assert done, f"the completion did not return within {seconds} s"
    return done[0]


def assert_stopped_at(app, api, process: str, element: str | tuple, limit: str) -> None:
    inspector, staff = api("keqiao_inspector"), api("kq_bottled_staff")
    opened = inspector.post("/cases", {"process": process, "data": issue_data(app)})
    assert opened.status_code == 201, opened.json
    case_id = opened.json["id"]
    task_id = next(t["id"] for t in staff.get("/tasks").json["items"] if t["case_id"] == case_id)
    before = snapshot(app, case_id)

    resp = complete_within(staff, task_id, {"response": "已整改"})
    assert resp.status_code == 422, resp.json
    error = resp.json["error"]
    assert error["code"] == "model_error"
    named = (element,) if isinstance(element, str) else element
    assert any(f"at {e}:" in error["message"] for e in named) and limit in error["message"], error["message"]
    assert snapshot(app, case_id) == before  # rolled back: nothing half-written

    # The thread and the database are free again: the next writer does not wait for a lock.
    started = time.monotonic()
    other = inspector.post("/cases", {"process": "rectification", "data": issue_data(app)})
    assert other.status_code == 201 and time.monotonic() - started < 10
    assert staff.get(f"/cases/{case_id}").status_code == 200
    from web.extensions import db

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            idle = db.session.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                          "AND state LIKE 'idle in transaction%'"))
            assert idle == 0


def test_a_script_that_never_returns_is_stopped_at_its_cpu_limit(app, api):
    assert upload(api("admin"), (BPMN_DIR / "runaway_script.bpmn").read_bytes()).status_code == 201
    assert_stopped_at(app, api, "runaway_script", "Spin", f"CPU time limit of {CPU_SECONDS:g} s")


def test_a_script_that_fills_memory_is_stopped_at_its_memory_limit(app, api):
    assert upload(api("admin"), (BPMN_DIR / "memory_bomb.bpmn").read_bytes()).status_code == 201
    assert_stopped_at(app, api, "memory_bomb", "Hoard", "memory limit of 128 MB")


def test_a_gigabyte_made_in_one_multiplication_is_refused_before_it_is_made(app, api):
    # A plain condition (it is run in the engine's thread): the guard of `*` refuses the operands.
    assert upload(api("admin"), (BPMN_DIR / "repeat_bomb.bpmn").read_bytes()).status_code == 201
    assert_stopped_at(app, api, "repeat_bomb", "Decide", "memory limit of 128 MB")


def test_a_runaway_condition_stored_earlier_is_stopped(app, api, engine, monkeypatch):
    deployed_before_the_checks(engine, monkeypatch, (BPMN_DIR / "runaway_condition.bpmn").read_bytes())
    assert_stopped_at(app, api, "runaway_condition", "Decide", "CPU time limit")


def test_a_runaway_timer_expression_stored_earlier_is_stopped(app, api, engine, monkeypatch):
    deployed_before_the_checks(engine, monkeypatch, (BPMN_DIR / "runaway_timer.bpmn").read_bytes())
    assert_stopped_at(app, api, "runaway_timer", "Wait", "CPU time limit")


def test_a_model_that_loops_without_waiting_is_stopped(app, api):
    assert upload(api("admin"), (BPMN_DIR / "endless_loop.bpmn").read_bytes()).status_code == 201
    assert_stopped_at(app, api, "endless_loop", ("Count", "Again"), "more than 500 steps in one transition")


def test_a_timer_that_gives_a_number_is_named_as_such(app, api, engine, monkeypatch):
    content = (BPMN_DIR / "runaway_timer.bpmn").read_bytes()
    start, end = content.index(b"<bpmn:timeDate>") + 15, content.index(b"</bpmn:timeDate>")
    deployed_before_the_checks(engine, monkeypatch, content[:start] + b"12345" + content[end:])
    assert_stopped_at(app, api, "runaway_timer", "Wait", "ISO 8601 text")


def test_plain_expressions_and_scripts_run_in_the_engines_thread(app, api, monkeypatch):
    """The cheap path stays cheap: the shipped models never need the sandbox."""
    from workflows.engine import sandbox

    def no_sandbox(*args):
        raise AssertionError(f"sent to the sandbox: {args[:2]}")

    monkeypatch.setattr(sandbox, "run", no_sandbox)
    inspector, staff = api("keqiao_inspector"), api("kq_bottled_staff")
    case = inspector.post("/cases", {"process": "rectification", "data": issue_data(app)}).json
    task = next(t for t in staff.get("/tasks").json["items"] if t["case_id"] == case["id"])
    assert staff.post(f"/tasks/{task['id']}/complete", {"data": {"response": "ok"}}).status_code == 200
    verify = next(t for t in inspector.get("/tasks?scope=mine").json["items"] if t["case_id"] == case["id"])
    done = inspector.post(f"/tasks/{verify['id']}/complete", {"data": {"decision": "send_back", "comment": "再改"}})
    assert done.status_code == 200, done.json


def test_a_loop_in_a_script_still_works_under_the_limits(app, engine):
    from workflows.engine.scripting import RestrictedEnvironment

    context = {"items": [{"ref": 2}, {"ref": 1}]}
    RestrictedEnvironment().execute("refs = sorted([i['ref'] for i in items])\ntotal = 0\n"
                                    "for r in refs:\n    total += r\n", context)
    assert context["refs"] == [1, 2] and context["total"] == 3


# ---- refused at upload ------------------------------------------------------------------------------
def _timer(content: bytes, element: bytes) -> bytes:
    start, end = content.index(b"<bpmn:timeDate>"), content.index(b"</bpmn:timeDate>") + 16
    return content[:start] + element + content[end:]


UNBOUNDED = {
    "runaway_condition.bpmn": ((BPMN_DIR / "runaway_condition.bpmn").read_bytes(),
                               "Flow_yes: expression 'sum(i for i in range(999)"),
    "runaway_timer.bpmn": ((BPMN_DIR / "runaway_timer.bpmn").read_bytes(), "Wait: expression 'max(add_days"),
    "number_timer.bpmn": (_timer((BPMN_DIR / "runaway_timer.bpmn").read_bytes(),
                                 b"<bpmn:timeDate>12345</bpmn:timeDate>"),
                          "Wait: expression '12345' refused: a timer must give ISO 8601 text"),
    "endless_duration.bpmn": (_timer((BPMN_DIR / "runaway_timer.bpmn").read_bytes(),
                                     b"<bpmn:timeDuration>'P99999999999Y'</bpmn:timeDuration>"),
                              "longer than 1000 years"),
    "due_lambda.bpmn": ((BPMN_DIR / "due_answer.bpmn").read_bytes().replace(
        b'camunda:dueDate="deadline_at"', b'camunda:dueDate="(lambda f: f(f))(lambda f: f(f))"'),
        "Answer: dueDate '(lambda f: f(f))(lambda f: f(f))' refused: not a plain expression"),
}


def test_unbounded_expressions_are_refused_at_upload(api):
    admin = api("admin")
    for name, (content, reason) in UNBOUNDED.items():
        resp = upload(admin, content, name)
        assert resp.status_code == 422, (name, resp.json)
        assert resp.json["error"]["code"] == "invalid_model"
        assert any(reason in r for r in resp.json["error"]["fields"]["file"]), (name, resp.json)
    keys = {p["key"] for p in admin.get("/processes").json}
    assert not keys & {"runaway_condition", "runaway_timer"}


def test_unbounded_decision_table_entries_are_refused_at_upload(api):
    admin = api("admin")
    table = (BPMN_DIR / "sample_decision.dmn").read_bytes()
    looping = table.replace(b"&gt; 50000", b"&gt; max(i * j for i in range(999) for j in range(999))")
    looping = looping.replace(b'"low"', b'sorted(range(999), key=lambda i: -i)[0]')
    resp = admin.post("/decisions", data={"file": (io.BytesIO(looping), "fine_level.dmn")},
                      content_type="multipart/form-data")
    assert resp.status_code == 422, resp.json
    reasons = resp.json["error"]["fields"]["file"]
    assert any("rule 1: input entry" in r and "not a plain expression" in r for r in reasons), reasons
    assert any("rule 2 output" in r and "not a plain expression" in r for r in reasons), reasons
    assert admin.post("/decisions", data=table, content_type="application/xml").status_code == 201


def test_the_upload_page_lists_the_unbounded_expression(browser):
    admin = browser("admin")
    admin.client.get("/locale/en")
    content = (BPMN_DIR / "runaway_condition.bpmn").read_bytes()
    resp = admin.form_post("/admin/models/upload", {"file": (io.BytesIO(content), "runaway_condition.bpmn")},
                           page_path="/admin/models")
    assert resp.status_code == 422
    listed = re.search(r'id="upload-errors">(.*?)</div>', resp.data.decode(), re.S).group(1)
    assert "Flow_yes" in listed and "not a plain expression" in listed, listed


# ---- the limits themselves, step by step ------------------------------------------------------------
HUGE_AT_ONCE = [  # one C call each: refused by the operator guards before anything is allocated
    "x = 'a' * 10**9", "x = 10**10**8", "x = 1 << 10**9", "x = '%0999999999d' % 1", "x = '%*d' % (10**9, 1)",
    "x = pow(10, 10**8)", "x = [[1, 2]] * 10**8", "x = 'abc'\nx *= 10**9",
    "x = [1]\nfor i in range(3):\n    x = x * 10**4",
]
STOPPED_BY_THE_SANDBOX = {  # caught only by the worker's limits
    "x = round(1, -10**9)": "CPU time limit",  # a single C call that never returns to the interpreter
    "try:\n    while True:\n        pass\nexcept:\n    while True:\n        pass": "CPU time limit",  # swallows
    "x = f'{1:>999999999}'": "memory limit",
    "a = [1]\nfor i in range(40):\n    a = [a, a]": "values|CPU time",  # small in memory, 2**40 values as JSON
}


@pytest.mark.parametrize("script", HUGE_AT_ONCE)
def test_operators_that_build_huge_values_are_refused_at_once(app, script):
    from workflows.engine.scripting import RestrictedEnvironment, ScriptLimitExceeded

    started = time.monotonic()
    with pytest.raises(ScriptLimitExceeded):
        RestrictedEnvironment().execute(script, {})
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("script", list(STOPPED_BY_THE_SANDBOX))
def test_what_no_guard_sees_is_stopped_by_the_sandbox(app, script):
    from workflows.engine.scripting import RestrictedEnvironment, ScriptLimitExceeded

    with pytest.raises(ScriptLimitExceeded, match=STOPPED_BY_THE_SANDBOX[script]):
        RestrictedEnvironment().execute(script, {})
    context = {"n": 3}  # the next step gets a working sandbox
    RestrictedEnvironment().execute("for i in range(n):\n    n = n + 1", context)
    assert context["n"] == 6


# ---- the working-day calendar is not in the sandbox ----------------------------------------------------
def _counting_in_a_loop() -> bytes:
    """runaway_script.bpmn whose script counts working days in a loop (so it would run in the sandbox)."""
    content = (BPMN_DIR / "runaway_script.bpmn").read_bytes().replace(b'id="runaway_script"', b'id="counting_loop"')
    return content.replace(b"while True:\n        pass",
                           b"for i in range(2):\n    due = add_working_days(now(), 3)")


def test_a_script_that_would_count_working_days_in_the_sandbox_is_refused_at_upload(api):
    resp = upload(api("admin"), _counting_in_a_loop())
    assert resp.status_code == 422, resp.json
    assert resp.json["error"]["code"] == "invalid_model"
    reasons = resp.json["error"]["fields"]["file"]
    assert any(r.startswith("Spin: script refused: add_working_days counts on the working-day calendar")
               for r in reasons), reasons


def test_one_stored_earlier_fails_its_step_instead_of_counting_other_dates(app, api, engine, monkeypatch):
    # Before, the sandbox counted Monday to Friday (no holidays, no city adjustments) and returned the
    # instant plus those days, where a plain script gives the end of the calendar's n-th working day.
    from workflows.engine import loader

    monkeypatch.setattr(loader, "_calendar_in_sandbox", lambda script: None, raising=False)
    engine.deploy(_counting_in_a_loop())
    monkeypatch.undo()
    assert_stopped_at(app, api, "counting_loop", "Spin", "which a script run in the sandbox")
