"""The security audit trail: what is recorded (sign-ins, writes, exports: who, from where, outcome),
the SHA-256 chain and its verification (`gasflow audit verify`), the append-only trigger, the
retention purge, the city admin's search and Excel export, and a write failure being counted."""
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from conftest import PG_URL, csrf_of, enterprise_id, future, raw_sql, sign_in_form, totp_code
from openpyxl import load_workbook
from sqlalchemy import select, text

from web.demo.seed import DEMO_PASSWORD


def entries(app, **where):
    from models import AuditEntry
    from web.extensions import db

    with app.app_context():
        rows = db.session.scalars(select(AuditEntry).filter_by(**where).order_by(AuditEntry.id)).all()
        db.session.expunge_all()
        return rows


def user_id(app, username):
    from models import User
    from web.extensions import db

    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def password_step(client, username, password):
    """Only the first step of signing in (the second factor is left pending)."""
    page = client.get("/login")
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_of(page.data)})


def cli(database_url, monkeypatch, *args):
    from web.cli import main

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    return CliRunner().invoke(main, list(args))


def code_step(client, code):
    """The second step of signing in: the code form, with its CSRF token."""
    page = client.get("/login/code")
    return client.post("/login/code", data={"code": code, "csrf_token": csrf_of(page.data)})


def test_sign_ins_failures_and_lockout_are_recorded_with_who_and_where(app):
    inspector = user_id(app, "keqiao_inspector")
    client = app.test_client()
    assert sign_in_form(client, "keqiao_inspector", DEMO_PASSWORD).status_code == 302
    ok = [e for e in entries(app) if e.kind.startswith("login")]
    assert [e.kind for e in ok] == ["login_success"]  # the password alone is a step, not a sign-in
    step, done = entries(app)
    assert (step.kind, step.endpoint, step.status, step.detail["step"]) == ("write", "auth.login", 302, "password")
    assert done.user_id == inspector and done.username == "keqiao_inspector"
    assert done.address == "127.0.0.1" and done.method == "POST" and done.endpoint == "auth.second_factor"
    assert done.status == 302 and done.outcome == "success"
    assert done.at.tzinfo is not None and abs(datetime.now(UTC) - done.at) < timedelta(minutes=1)

    # A wrong second-factor code after the right password: a failed sign-in of that account.
    wrong_code = app.test_client()
    assert password_step(wrong_code, "keqiao_inspector", DEMO_PASSWORD).headers["Location"].endswith("/login/code")
    good = totp_code(app, "keqiao_inspector")
    assert code_step(wrong_code, f"{(int(good) + 1) % 1_000_000:06d}").status_code == 422
    # Half signed in: a second client holds the right password and waits for its code.
    waiting = app.test_client()
    assert password_step(waiting, "keqiao_inspector", DEMO_PASSWORD).status_code == 302
    other = app.test_client()
    for _ in range(4):  # with the wrong code, five failures: the account is locked
        assert sign_in_form(other, "keqiao_inspector", "wrong-password").status_code == 200
    assert sign_in_form(other, "keqiao_inspector", DEMO_PASSWORD).status_code == 429  # locked even with the password
    locked_code = code_step(waiting, totp_code(app, "keqiao_inspector"))  # and even with the right code
    assert locked_code.status_code == 302 and locked_code.headers["Location"].endswith("/login")

    logins = [e for e in entries(app) if e.kind.startswith("login")]
    assert [e.kind for e in logins] == ["login_success"] + ["login_failure"] * 5 + ["login_locked"] * 2
    code_failure = logins[1]
    assert code_failure.endpoint == "auth.second_factor" and code_failure.status == 422
    assert code_failure.user_id == inspector and code_failure.username == "keqiao_inspector"
    assert code_failure.outcome == "failure" and code_failure.detail["step"] == "second_factor"
    failed = logins[2]
    assert failed.endpoint == "auth.login" and failed.detail["username_tried"] == "keqiao_inspector"
    assert failed.user_id is None and failed.username == "keqiao_inspector" and failed.outcome == "failure"
    assert "wrong-password" not in repr(failed.detail)  # never the password
    assert (logins[-2].endpoint, logins[-2].outcome, logins[-2].status) == ("auth.login", "locked", 429)
    assert (logins[-1].endpoint, logins[-1].outcome, logins[-1].user_id) == ("auth.second_factor", "locked", inspector)
    # Only the completed sign-in signed anyone in; the steps that did not are never writes.
    assert [e.endpoint for e in entries(app, kind="write")] == ["auth.login", "auth.login", "auth.login"]

    # Signing out is a write of the signed-in user, although the user is gone after it.
    page = client.get("/")
    client.post("/logout", data={"csrf_token": csrf_of(page.data)})
    out = entries(app, endpoint="auth.logout")
    assert len(out) == 1 and out[0].username == "keqiao_inspector" and out[0].kind == "write"


def test_an_enterprise_account_signs_in_with_the_password_alone_once_recorded(app):
    client = app.test_client()
    resp = sign_in_form(client, "kq_bottled_staff", DEMO_PASSWORD)
    assert resp.status_code == 302 and not resp.headers["Location"].endswith("/login/code")
    assert [(e.kind, e.endpoint, e.username) for e in entries(app)] == [
        ("login_success", "auth.login", "kq_bottled_staff")]


def test_a_write_through_the_api_names_the_token_the_objects_and_the_outcome(app, api):
    inspector = api("keqiao_inspector")
    data = {"enterprise_id": enterprise_id(app), "hazard_description": "报警器失效", "hazard_class": "II",
            "deadline_at": future()}
    case = inspector.post("/cases", {"process": "rectification", "data": data})
    assert case.status_code == 201
    staff = api("kq_bottled_staff")
    task = next(t for t in staff.get("/tasks?scope=group").json["items"] if t["case_id"] == case.json["id"])
    assert staff.post(f"/tasks/{task['id']}/complete", {"data": {"response": "已更换"}}).status_code == 200
    again = staff.post(f"/tasks/{task['id']}/complete", {"data": {"response": "again"}})
    assert again.status_code in (404, 409)

    writes = entries(app, kind="write")
    assert [(e.endpoint, e.status) for e in writes] == [("api.create_case", 201), ("api.complete", 200),
                                                        ("api.complete", again.status_code)]
    opened, done, refused = writes
    from models import ApiToken
    from web.extensions import db

    with app.app_context():
        token_ids = {t.user_id: t.id for t in db.session.scalars(select(ApiToken))}
    assert opened.user_id == inspector.user_id and opened.username == "keqiao_inspector"
    assert opened.token_id == token_ids[inspector.user_id] and opened.path == "/api/v1/cases"
    assert done.object_ids == {"task_id": task["id"]} and done.token_id == token_ids[staff.user_id]
    assert done.outcome == "success" and refused.outcome in ("denied", "failure")
    # Reads are not recorded, only the writes.
    assert not [e for e in entries(app) if e.method == "GET" and e.status == 200]


def test_downloads_are_exports_and_the_admin_finds_and_exports_them(app, browser):
    admin = browser("admin")
    dmn = admin.client.get("/admin/models/decisions/penalty_approval/1/table.dmn")
    assert dmn.status_code == 200 and "attachment" in dmn.headers["Content-Disposition"]
    export = entries(app, kind="export")
    assert len(export) == 1
    assert export[0].object_ids == {"key": "penalty_approval", "version": 1}
    assert export[0].username == "admin" and export[0].method == "GET" and export[0].token_id is None

    page = admin.client.get("/admin/audit?kind=export")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/admin/models/decisions/penalty_approval/1/table.dmn" in html
    assert "login_success" in html and html.count('data-kind="export"') == 1
    assert 'data-kind="login_success"' not in html  # filtered out
    assert 'id="nav-audit"' in html

    xlsx = admin.client.get("/admin/audit/export.xlsx?user=admin")
    assert xlsx.status_code == 200 and xlsx.headers["Content-Disposition"].startswith("attachment")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("编号", "时间 (UTC)", "类型", "用户编号", "用户名")
    assert {r[4] for r in rows[1:]} == {"admin"} and len(rows) == 3  # sign-in and the download
    assert [e.endpoint for e in entries(app, kind="export")] == ["admin.decision_xml", "audit.export"]


def test_search_filters_and_pages_newest_first(app, browser):
    from web.extensions import db
    from workflows.services import audit_chain as audit

    with app.app_context():
        for i in range(60):
            audit.append(db.session, at=datetime(2026, 3, 1, 2, 0, tzinfo=UTC) + timedelta(minutes=i), kind="write",
                         username="someone", address="10.0.0.9", method="POST", path=f"/x/{i}", status=200,
                         outcome="success", detail={"note": "needle" if i == 7 else ""})
        db.session.commit()
    admin = browser("admin")
    page = admin.client.get("/admin/audit?address=10.0.0.9").get_data(as_text=True)
    ids = [int(x) for x in re.findall(r'data-entry="(\d+)"', page)]
    assert len(ids) == 50 and ids == sorted(ids, reverse=True)
    second = admin.client.get("/admin/audit?address=10.0.0.9&page=2").get_data(as_text=True)
    assert second.count('data-entry="') == 10
    found = admin.client.get("/admin/audit?q=needle").get_data(as_text=True)
    assert found.count('data-entry="') == 1 and "/x/7" in found
    # Dates are days in Shanghai: 2026-03-01 10:00–10:59 local.
    day = admin.client.get("/admin/audit?user=someone&date_from=2026-03-01&date_to=2026-03-01")
    assert day.get_data(as_text=True).count('data-entry="') == 50 and "60" in day.get_data(as_text=True)
    bad = admin.client.get("/admin/audit?date_from=2026-03-05&date_to=2026-03-01")
    assert bad.status_code == 422 and "截止日期早于起始日期" in bad.get_data(as_text=True)
    admin.client.get("/locale/en")
    bad = admin.client.get("/admin/audit?date_from=2026-03-05&date_to=2026-03-01")
    assert bad.status_code == 422 and "The end date is before the start date." in bad.get_data(as_text=True)
    assert admin.client.get("/admin/audit?date_from=notadate").status_code == 422


@pytest.mark.parametrize("username", ["keqiao_supervisor", "kq_bottled_admin"])
def test_only_the_city_admin_reads_the_trail(app, browser, username):
    user = browser(username)
    for path in ("/admin/audit", "/admin/audit/export.xlsx", "/admin/audit/rules"):
        assert user.client.get(path).status_code == 403
    assert 'id="nav-audit"' not in user.client.get("/").get_data(as_text=True)
    assert app.test_client().get("/admin/audit").status_code == 302  # to the sign-in page
    # The refusals are themselves in the trail.
    assert len(entries(app, kind="denied", username=username)) == 3


def test_the_chain_verifies_and_an_edited_row_is_reported(app, api, database_url, monkeypatch):
    inspector = api("keqiao_inspector")
    for _ in range(4):
        inspector.post("/cases", {"process": "rectification", "data": {}})  # 422s: still writes
    assert len(entries(app, kind="write")) == 4
    result = cli(database_url, monkeypatch, "audit", "verify")
    assert result.exit_code == 0 and "audit chain OK: 4 entries" in result.output

    victim = entries(app)[1].id
    statements = [f"UPDATE audit_entries SET status = 201 WHERE id = {victim}"]
    if PG_URL:  # a superuser switching the trigger off first, as only the database owner could
        statements = ["ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only", *statements,
                      "ALTER TABLE audit_entries ENABLE TRIGGER audit_entries_append_only"]
    raw_sql(database_url, *statements)
    result = cli(database_url, monkeypatch, "audit", "verify")
    assert result.exit_code == 1
    assert f"BROKEN at entry {victim}: its content does not match its hash" in result.output


def test_a_deleted_entry_in_the_middle_is_detected(app, api, database_url, monkeypatch):
    inspector = api("keqiao_inspector")
    for _ in range(5):
        inspector.post("/cases", {"process": "rectification", "data": {}})
    ids = [e.id for e in entries(app)]
    statements = [f"DELETE FROM audit_entries WHERE id = {ids[2]}"]
    if PG_URL:
        statements = ["ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only", *statements,
                      "ALTER TABLE audit_entries ENABLE TRIGGER audit_entries_append_only"]
    raw_sql(database_url, *statements)
    result = cli(database_url, monkeypatch, "audit", "verify")
    assert result.exit_code == 1 and f"BROKEN at entry {ids[3]}: entry {ids[2]} is missing" in result.output


def test_a_deleted_last_entry_is_detected(app, api):
    from web.extensions import db
    from workflows.services import audit_chain as audit

    api("keqiao_inspector").post("/cases", {"process": "rectification", "data": {}})
    api("keqiao_inspector").post("/cases", {"process": "rectification", "data": {}})
    last = entries(app)[-1].id
    with app.app_context():
        assert audit.verify(db.session).ok
        if PG_URL:
            db.session.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only"))
        db.session.execute(text(f"DELETE FROM audit_entries WHERE id = {last}"))
        verdict = audit.verify(db.session)
        db.session.rollback()
    assert not verdict.ok and verdict.bad_id == last


@pytest.mark.postgresql  # the append-only trigger is PostgreSQL's
def test_postgresql_refuses_updates_and_deletes_of_the_trail(app, api, database_url):
    from sqlalchemy.exc import DBAPIError

    api("keqiao_inspector").post("/cases", {"process": "rectification", "data": {}})
    victim = entries(app)[0].id
    for stmt in (f"UPDATE audit_entries SET path = '/nothing' WHERE id = {victim}",
                 f"DELETE FROM audit_entries WHERE id = {victim}"):
        with pytest.raises(DBAPIError, match="append-only"):
            raw_sql(database_url, stmt)
    assert entries(app)[0].path == "/api/v1/cases"


def test_purge_keeps_180_days_and_the_rest_still_verifies(app, api, database_url, monkeypatch):
    from web.extensions import db
    from workflows.engine import clock
    from workflows.services import audit_chain as audit

    inspector = api("keqiao_inspector")
    with clock.frozen_at(datetime.now(UTC) - timedelta(days=400)):
        for _ in range(3):
            inspector.post("/cases", {"process": "rectification", "data": {}})
    with clock.frozen_at(datetime.now(UTC) - timedelta(days=100)):
        inspector.post("/cases", {"process": "rectification", "data": {}})
    inspector.post("/cases", {"process": "rectification", "data": {}})

    too_recent = (datetime.now(UTC) - timedelta(days=179)).date().isoformat()
    refused = cli(database_url, monkeypatch, "audit", "purge", "--before", too_recent)
    assert refused.exit_code == 2 and "at least 180 days" in refused.output
    assert len(entries(app)) == 5
    with app.app_context(), pytest.raises(audit.PurgeRefused):
        audit.purge(db.session, datetime.now(UTC) - timedelta(days=10), datetime.now(UTC))

    cutoff = (datetime.now(UTC) - timedelta(days=200)).date().isoformat()
    done = cli(database_url, monkeypatch, "audit", "purge", "--before", cutoff)
    assert done.exit_code == 0 and "removed 3 audit entries" in done.output
    left = entries(app)
    assert [e.kind for e in left] == ["write", "write", "purge"]
    assert left[-1].detail["removed"] == 3 and left[-1].detail["first_kept"] == left[0].id
    result = cli(database_url, monkeypatch, "audit", "verify")
    assert result.exit_code == 0 and "audit chain OK: 3 entries" in result.output


def test_a_failed_audit_write_keeps_the_request_and_is_counted(app, api, database_url, caplog):
    from web import health

    before = health.AUDIT_FAILURES._value.get()
    raw_sql(database_url, "ALTER TABLE audit_entries RENAME TO audit_entries_away")
    try:
        resp = api("keqiao_inspector").post("/cases", {"process": "rectification", "data": {}})
    finally:
        raw_sql(database_url, "ALTER TABLE audit_entries_away RENAME TO audit_entries")
    assert resp.status_code == 422 and resp.json["error"]["fields"]  # the request's own answer
    assert health.AUDIT_FAILURES._value.get() == before + 1
    assert "AUDIT ENTRY NOT WRITTEN: POST /api/v1/cases" in caplog.text
    metrics = app.test_client().get("/metrics").get_data(as_text=True)
    assert f"gasflow_audit_write_failures_total {before + 1}" in metrics


def test_forwarded_addresses_are_believed_only_behind_configured_proxies(app, database_url):
    from web.app import create_app
    from web.extensions import db

    forwarded = {"X-Forwarded-For": "203.0.113.7"}
    app.test_client().post("/login", data={"username": "someone", "password": "x"}, headers=forwarded)
    proxied = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, "INPROCESS_TICKER": False,
                          "PROXY_HOPS": 1}, migrate=False)
    try:
        proxied.test_client().post("/login", data={"username": "someone", "password": "x"}, headers=forwarded)
    finally:
        with proxied.app_context():
            db.engine.dispose()
    assert [(e.kind, e.address) for e in entries(app)] == [("login_failure", "127.0.0.1"),
                                                           ("login_failure", "203.0.113.7")]
