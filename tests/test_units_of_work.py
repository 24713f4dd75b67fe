"""One transaction per writing request (issue 17 item 2; web/common/unit_of_work.py, docs/engine.md "Units of
work"): the engine's transition, the reply's reads, the idempotency answer and the audit entry are committed
by one COMMIT, the chain's head locked from the append to that commit only; and what cannot be recorded is
not kept: an audit append that fails takes the request's work with it and the answer is the error."""
import pytest
from conftest import enterprise_id, future, raw_sql, statements
from flask import Blueprint
from sqlalchemy import func, select

from models import AuditEntry, Case, CaseEvent, Notification, Task
from web.extensions import case_engine, csrf, db

KEY = "Idempotency-Key"
MARKS = ("BEGIN", "COMMIT", "ROLLBACK")


def rectification(app) -> dict:
    return {"process": "rectification", "data": {"enterprise_id": enterprise_id(app), "hazard_description": "软管老化",
                                                  "hazard_class": "II", "deadline_at": future()}}


def post(user, path, body, key=None):
    return user.client.post("/api/v1" + path, json=body, headers={**user.headers, **({KEY: key} if key else {})})


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def audit_rows(app, path):
    with app.app_context():
        rows = db.session.scalars(select(AuditEntry).where(AuditEntry.path == path).order_by(AuditEntry.id)).all()
        db.session.expunge_all()
        return rows


def first(seen, fragment, after=0) -> int:
    return next(i for i in range(after, len(seen)) if fragment in seen[i])


def assert_one_transaction(seen, work: str, key: str | None, postgresql: bool, stale: bool):
    """The request's transactions: the key's claim (committed alone, before acting, so that a repeat
    waits for it), then one that holds the work, the reply's reads, the kept answer and the audit entry,
    whose head lock comes last but for the append itself, then its one COMMIT."""
    marks = [s for s in seen if s in MARKS]
    assert marks == ["BEGIN", "COMMIT"] * (2 if key else 1), marks
    last = seen[len(seen) - 1 - seen[::-1].index("BEGIN"):]
    assert last[-1] == "COMMIT"
    done = first(last, work)
    reply = first(last, "FROM case_events", done)  # the reply's history, read after the transition
    answer = first(last, "UPDATE idempotency_keys", reply) if key else reply
    head = first(last, "audit_chain_head", answer)
    entry = first(last, "INSERT INTO audit_entries", head)
    # The head is locked by the append's first statement and the commit follows its last: on PostgreSQL
    # one statement locks, inserts the entry and moves the head; on SQLite the lock, the entry, the move.
    # (A process whose copy of the alert rules is stale reads them after the lock: the rules current then.)
    appended = last[head:-1]
    assert all(any(t in s for t in ("audit_chain_head", "audit_entries", "audit_rules")) for s in appended), appended
    chain = [s for s in appended if "audit_rules" not in s]
    assert len(chain) == (1 if postgresql else 3), appended
    if not postgresql:  # the lock, the entry, the head moved: in that order, the entry after the lock
        assert ["audit_chain_head" in chain[0], "INSERT INTO audit_entries" in chain[1],
                chain[2].startswith("UPDATE audit_chain_head")] == [True] * 3 and entry > head, chain
    # Another process changed the reference data: the rules are read again, after the lock. (Otherwise they
    # are read only by a process that has kept none yet.)
    assert not stale or any("audit_rules" in s for s in appended), appended


@pytest.mark.parametrize("key, stale", [(None, False), ("one-commit", False), (None, True)])
def test_a_writing_api_request_commits_its_work_reply_and_audit_entry_at_once(app, api, database_url, key, stale):
    inspector, staff = api("keqiao_inspector"), api("kq_bottled_staff")
    body = rectification(app)
    for user in (inspector, staff):  # a token's first use is noted (then once a minute), in a commit of its own
        assert user.get("/notifications").status_code == 200
    if stale:  # reference data changed by another process: the rules are read again, still in the one transaction
        raw_sql(database_url, "UPDATE reference_revision SET token = 'changed-elsewhere'")
    with statements(app, transactions=True) as seen:
        opened = post(inspector, "/cases", body, key)
    assert opened.status_code == 201, opened.json
    postgresql = database_url.startswith("postgresql")
    assert_one_transaction(seen, "INSERT INTO cases", key, postgresql, stale)
    [respond] = [t["id"] for t in opened.json["tasks"] if t["name"] == "Task_respond"]

    with statements(app, transactions=True) as seen:
        done = post(staff, f"/tasks/{respond}/complete", {"data": {"response": "已整改"}}, key)
    assert done.status_code == 200, done.json
    assert_one_transaction(seen, "UPDATE tasks", key, postgresql, stale=False)
    # What the reply showed is what was committed, and each request's entry with it.
    assert done.get_data() == staff.get(f"/cases/{opened.json['id']}").get_data()
    assert [(e.status, e.outcome) for e in audit_rows(app, "/api/v1/cases")] == [(201, "success")]
    assert [(e.status, e.outcome) for e in audit_rows(app, f"/api/v1/tasks/{respond}/complete")] == [
        (200, "success")]


@pytest.fixture
def unrecordable(database_url):
    """``unrecordable(status, endpoint)``: the database refuses the audit entry of a request to ``endpoint`` (an
    API completion unless told) answered ``status`` (and only that one), a fault of the trail itself, met in the
    request's last transaction. Gives what mends it."""
    mends = []

    def refuse(status: int, endpoint: str = "api.complete"):
        name = f"test_refused_{status}_{endpoint.replace('.', '_')}"
        if database_url.startswith("postgresql"):
            raw_sql(database_url, f"ALTER TABLE audit_entries ADD CONSTRAINT {name} CHECK "
                                  f"(NOT (status = {status} AND endpoint = '{endpoint}')) NOT VALID")
            mend = f"ALTER TABLE audit_entries DROP CONSTRAINT {name}"
        else:
            raw_sql(database_url, f"CREATE TRIGGER {name} BEFORE INSERT ON audit_entries "
                                  f"WHEN NEW.status = {status} AND NEW.endpoint = '{endpoint}' "
                                  "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")
            mend = f"DROP TRIGGER {name}"
        mends.append(mend)

        def mended_now():
            raw_sql(database_url, mend)
            mends.remove(mend)
        return mended_now

    yield refuse
    for mend in mends:
        raw_sql(database_url, mend)


def test_a_completion_whose_audit_entry_fails_keeps_nothing_and_says_so(app, api, caplog, unrecordable):
    from web import health
    from workflows.services import audit_chain

    inspector, staff = api("keqiao_inspector"), api("kq_bottled_staff")
    opened = post(inspector, "/cases", rectification(app))
    case_id = opened.json["id"]
    [respond] = [t["id"] for t in opened.json["tasks"] if t["name"] == "Task_respond"]
    before = {model: count(app, model) for model in (Task, CaseEvent, Notification)}
    with app.app_context():
        state = db.session.execute(select(Case.revision, Case.state).where(Case.id == case_id)).one()
    failures = health.AUDIT_FAILURES._value.get()

    mend = unrecordable(200)
    refused = post(staff, f"/tasks/{respond}/complete", {"data": {"response": "已整改"}}, "retry-me")
    # Not a 200 for work that was not kept: the error, and nothing of the transition is left.
    assert refused.status_code == 500 and refused.json["error"]["code"] == "internal_server_error"
    assert {model: count(app, model) for model in before} == before
    assert count(app, Task, Task.id == respond, Task.status == "open") == 1
    with app.app_context():  # the lock's bump and the workflow's state too
        assert db.session.execute(select(Case.revision, Case.state).where(Case.id == case_id)).one() == state
    # The failed request is on record (its entry written in a transaction of its own), and counted.
    [entry] = audit_rows(app, f"/api/v1/tasks/{respond}/complete")
    assert (entry.kind, entry.status, entry.outcome, entry.detail.get("exception")) == (
        "write", 500, "error", "IntegrityError")
    assert health.AUDIT_FAILURES._value.get() == failures + 1
    assert f"AUDIT ENTRY NOT WRITTEN: POST /api/v1/tasks/{respond}/complete" in caplog.text
    with app.app_context():
        assert audit_chain.verify(db.session).ok

    # The trail mended, the same key acts (it was given back, not kept as an answer), once.
    mend()
    done = post(staff, f"/tasks/{respond}/complete", {"data": {"response": "已整改"}}, "retry-me")
    assert done.status_code == 200, done.json
    assert count(app, Task, Task.id == respond, Task.status == "completed") == 1
    assert count(app, Task, Task.case_id == case_id) == 2  # and the verification it opened, once


def test_a_refusal_whose_audit_entry_fails_still_gives_its_key_back(app, api, caplog, unrecordable):
    """A refused completion keeps nothing of its own, so its entry failing costs only the entry: the key
    it claimed is still given back, and the same request with it is answered again, not held as in progress."""
    inspector, staff = api("keqiao_inspector"), api("kq_bottled_staff")
    opened = post(inspector, "/cases", rectification(app))
    [respond] = [t["id"] for t in opened.json["tasks"] if t["name"] == "Task_respond"]
    unrecordable(422)
    invalid = {"data": {"response": ""}}  # the answer is required
    refused = post(staff, f"/tasks/{respond}/complete", invalid, "refused-twice")
    assert refused.status_code == 422 and "response" in refused.json["error"]["fields"]
    assert "AUDIT ENTRY NOT WRITTEN" in caplog.text
    again = post(staff, f"/tasks/{respond}/complete", invalid, "refused-twice")
    assert again.status_code == 422 and "response" in again.json["error"]["fields"]
    assert count(app, Task, Task.id == respond, Task.status == "open") == 1


@pytest.fixture
def failing_after_the_engine(own_app):
    """A route that opens a case through the engine and then fails as a bug would, answered as in
    production (a 500, not an exception raised into the test)."""
    app = own_app()
    bp = Blueprint("failing_after", __name__)

    @bp.post("/test-only/open-then-fail")
    def open_then_fail():
        from flask_login import current_user

        case_engine().start_case("rectification", {"hazard_description": "未保存", "hazard_class": "II",
                                                   "deadline_at": future()}, current_user._get_current_object(),
                                 enterprise_id=enterprise_id(app))
        raise RuntimeError("a bug after the transition")

    csrf.exempt(bp)
    app.register_blueprint(bp)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def test_a_server_error_after_the_transition_keeps_nothing_but_its_entry(failing_after_the_engine):
    from conftest import Browser

    from web.demo.seed import DEMO_PASSWORD

    app = failing_after_the_engine
    inspector = Browser(app, "keqiao_inspector", DEMO_PASSWORD)
    cases = count(app, Case)
    resp = inspector.client.post("/test-only/open-then-fail")
    assert resp.status_code == 500
    assert count(app, Case) == cases  # the transition went with the request it belonged to
    [entry] = audit_rows(app, "/test-only/open-then-fail")
    assert (entry.kind, entry.status, entry.outcome, entry.detail["exception"]) == (
        "write", 500, "error", "RuntimeError")


def test_a_page_write_is_committed_with_its_audit_entry_or_not_at_all(app, browser, unrecordable):
    """A view that writes without the engine (the city admin's working calendar) ends its writes with
    ``writes_done()``: the change and its entry are one transaction, and an entry the trail refuses takes
    the change with it. The answer is then the error, not the page's success."""
    from models import CalendarAdjustment

    admin = browser("admin")
    change = {"day": "2027-01-04", "working": "off", "note": "城市停气检修"}
    mend = unrecordable(302, "working_calendar.index")
    refused = admin.form_post("/admin/calendar", change)
    assert refused.status_code == 500
    assert count(app, CalendarAdjustment) == 0
    [entry] = audit_rows(app, "/admin/calendar")
    assert (entry.kind, entry.status, entry.outcome) == ("write", 500, "error")

    mend()
    with statements(app, transactions=True) as seen:
        done = admin.form_post("/admin/calendar", change)
    assert done.status_code == 302
    assert count(app, CalendarAdjustment, CalendarAdjustment.note == "城市停气检修") == 1
    # The page's read (a GET, its own transaction, rolled back) and then the post: one BEGIN … COMMIT
    # holding the adjustment and, after it, the entry.
    post = seen[len(seen) - 1 - seen[::-1].index("BEGIN"):]
    assert post[-1] == "COMMIT" and "ROLLBACK" not in post and post.count("BEGIN") == 1, post
    adjusted = first(post, "INSERT INTO calendar_adjustments")
    assert first(post, "INSERT INTO audit_entries") > adjusted  # the entry after the work, in its transaction
    assert [(e.status, e.outcome) for e in audit_rows(app, "/admin/calendar")] == [(500, "error"), (302, "success")]


def test_an_api_write_without_the_engine_is_not_kept_without_its_entry(app, api, unrecordable):
    """The same for the API's own writes (an enterprise registered over the API): nothing is kept, and the
    client is told the error, when the trail refuses the entry; the request, sent again, registers it once."""
    from models import Enterprise, Region
    from models.uscc import make_uscc

    admin = api("admin")
    with app.app_context():
        county = db.session.scalar(select(Region.id).where(Region.name == "柯桥区"))
    body = {"name": "柯桥新奥燃气九号站", "uscc": make_uscc("91330603MB0000098"), "kind": "pipeline",
            "county_id": county, "address": "柯桥区笛扬路 9 号", "lon": 120.5, "lat": 30.05}
    mend = unrecordable(201, "register_api.create_enterprise")
    refused = admin.post("/enterprises", body)
    assert refused.status_code == 500 and refused.json["error"]["code"] == "internal_server_error"
    assert count(app, Enterprise, Enterprise.uscc == body["uscc"]) == 0
    mend()
    made = admin.post("/enterprises", body)
    assert made.status_code == 201, made.json
    assert count(app, Enterprise, Enterprise.uscc == body["uscc"]) == 1
    assert [(e.status, e.outcome) for e in audit_rows(app, "/api/v1/enterprises")] == [(500, "error"),
                                                                                       (201, "success")]


def test_a_model_version_uploaded_is_kept_with_its_entry_or_not_at_all(app, browser, unrecordable):
    """A new version of a process model is among the writes a regulator must be able to trace: when the trail
    refuses its entry the version is not stored, and the upload, sent again, creates it once."""
    import io

    from test_admin_models import changed_bpmn

    from models import ProcessModel

    admin = browser("admin")
    versions = count(app, ProcessModel, ProcessModel.key == "rectification")

    def upload():
        return admin.form_post("/admin/models/upload", {"file": (io.BytesIO(changed_bpmn(2)), "rectification.bpmn")},
                               page_path="/admin/models")

    mend = unrecordable(303, "admin.upload")
    assert upload().status_code == 500
    assert count(app, ProcessModel, ProcessModel.key == "rectification") == versions
    mend()
    assert upload().status_code == 303
    assert count(app, ProcessModel, ProcessModel.key == "rectification") == versions + 1


def test_a_password_change_whose_entry_fails_keeps_the_old_password_and_the_browser_signed_in(app, browser,
                                                                                              unrecordable):
    """Rolled back with its entry, the change leaves the browser as it was: still signed in (not under a new
    sign-in key that was never stored), with no "changed" message waiting, and the old password still works."""
    from conftest import csrf_of, sign_in_form

    from web.demo.seed import DEMO_PASSWORD

    staff = browser("kq_bottled_staff")
    page = staff.client.get("/account/password")
    mend = unrecordable(302, "account.change_password")
    refused = staff.client.post("/account/password", data={
        "current": DEMO_PASSWORD, "new": "Harbour-lights-01", "confirm": "Harbour-lights-01",
        "csrf_token": csrf_of(page.data)})
    assert refused.status_code == 500
    mend()
    still = staff.client.get("/account/password")
    assert still.status_code == 200 and "密码已修改" not in still.data.decode()
    assert sign_in_form(app.test_client(), "kq_bottled_staff", DEMO_PASSWORD).status_code == 302


def test_a_password_change_that_fails_in_the_view_keeps_the_browser_signed_in(app, browser, database_url):
    """The same when the database refuses the change inside the view (its error handler answers the 5xx):
    the browser is not sent the new sign-in key of a change that was not kept."""
    from conftest import csrf_of, sign_in_form

    from web.demo.seed import DEMO_PASSWORD

    if database_url.startswith("postgresql"):
        refuse = "ALTER TABLE password_history ADD CONSTRAINT test_refused CHECK (user_id < 0) NOT VALID"
        mend = "ALTER TABLE password_history DROP CONSTRAINT test_refused"
    else:
        refuse = ("CREATE TRIGGER test_refused BEFORE INSERT ON password_history "
                  "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")
        mend = "DROP TRIGGER test_refused"
    staff = browser("kq_bottled_staff")
    page = staff.client.get("/account/password")
    raw_sql(database_url, refuse)
    propagate = app.config["PROPAGATE_EXCEPTIONS"]
    app.config["PROPAGATE_EXCEPTIONS"] = False  # answered as in production: a 5xx, not raised into the test
    try:
        refused = staff.client.post("/account/password", data={
            "current": DEMO_PASSWORD, "new": "Harbour-lights-02", "confirm": "Harbour-lights-02",
            "csrf_token": csrf_of(page.data)})
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = propagate
        raw_sql(database_url, mend)
    assert refused.status_code >= 500
    assert staff.client.get("/account/password").status_code == 200  # still signed in
    assert sign_in_form(app.test_client(), "kq_bottled_staff", DEMO_PASSWORD).status_code == 302


def test_a_write_retried_on_a_key_conflict_must_be_the_views_only_write(app):
    """written_again_on_conflict rolls the transaction back on a conflict: with a change already pending it would
    undo that too, so it refuses to start (and refuses a number of attempts that would write nothing)."""
    from models import Setting
    from web.common.unit_of_work import written_again_on_conflict

    with app.app_context():
        db.session.add(Setting(key="pending", value="x"))
        with pytest.raises(RuntimeError, match="only write"):
            written_again_on_conflict(lambda: None)
        db.session.rollback()
        with pytest.raises(ValueError):
            written_again_on_conflict(lambda: None, attempts=0)
        assert written_again_on_conflict(lambda: db.session.add(Setting(key="written", value="y")) or 7) == 7
        assert db.session.get(Setting, "written").value == "y"
