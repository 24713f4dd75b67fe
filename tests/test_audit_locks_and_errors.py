"""The audit trail on the bad days: an account locked by wrong passwords or second-factor codes raises
an alert of its own (once per episode), and a request that ends in an unhandled exception (500) still
leaves its entry, outcome "error", without leaving the database session broken for the next request."""
import pytest
from conftest import Browser, csrf_of, totp_code
from flask import Blueprint
from sqlalchemy import func, select

from models import AuditAlert, AuditEntry, Notification, User
from web.demo.seed import DEMO_PASSWORD
from web.extensions import csrf, db


def locked_alerts(app):
    with app.app_context():
        rows = db.session.scalars(select(AuditAlert).where(AuditAlert.rule == "account_locked")
                                  .order_by(AuditAlert.id)).all()
        db.session.expunge_all()
        return rows


def admin_notes(app, needle):
    with app.app_context():
        return db.session.scalars(select(Notification.text).join(User, User.id == Notification.user_id).where(
            User.username == "admin", Notification.kind == "audit_alert", Notification.text.contains(needle))).all()


def user_id(app, username):
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def password_step(client, username, password):
    page = client.get("/login")
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_of(page.data)})


def test_wrong_passwords_that_lock_an_account_raise_one_alert(app):
    client = app.test_client()
    for _ in range(4):
        assert password_step(client, "kq_bottled_staff", "wrong").status_code == 200
    assert locked_alerts(app) == []
    assert password_step(client, "kq_bottled_staff", "wrong").status_code == 200  # the fifth: locked now
    alerts = locked_alerts(app)
    assert len(alerts) == 1 and alerts[0].subject == f"user:{user_id(app, 'kq_bottled_staff')}"
    notes = admin_notes(app, "锁定")
    assert len(notes) == 1 and "kq_bottled_staff" in notes[0] and "127.0.0.1" in notes[0]

    # Tries while locked belong to the same episode.
    assert password_step(client, "kq_bottled_staff", DEMO_PASSWORD).status_code == 429
    alerts = locked_alerts(app)
    assert len(alerts) == 1 and alerts[0].matches == 2
    # A name no account has locks the same (nothing tells which exist), but no account was locked.
    for _ in range(6):
        password_step(client, "nobody_at_all", "wrong")
    assert len(locked_alerts(app)) == 1


def test_wrong_second_factor_codes_that_lock_an_account_raise_an_alert(app):
    client = app.test_client()
    assert password_step(client, "keqiao_supervisor", DEMO_PASSWORD).headers["Location"].endswith("/login/code")
    right = totp_code(app, "keqiao_supervisor")
    wrong = f"{(int(right) + 500000) % 1000000:06d}"
    for i in range(5):
        page = client.get("/login/code")
        resp = client.post("/login/code", data={"code": wrong, "csrf_token": csrf_of(page.data)})
        assert resp.status_code == 422
        assert len(locked_alerts(app)) == (0 if i < 4 else 1)
    assert "keqiao_supervisor" in admin_notes(app, "锁定")[0]


def test_wrong_current_passwords_on_the_change_page_lock_and_alert(app, browser):
    staff = browser("kq_bottled_staff")
    for _ in range(5):
        page = staff.client.get("/account/password")
        if page.status_code != 200:
            break
        staff.client.post("/account/password", data={"current": "wrong", "new": "x", "confirm": "x",
                                                      "csrf_token": csrf_of(page.data)})
    assert len(locked_alerts(app)) == 1


def test_the_admin_switches_the_lock_alert_off(app, browser):
    from test_audit_rules import rule_form

    admin = browser("admin")
    page = admin.client.get("/admin/audit/rules")
    assert b'id="rule-account_locked"' in page.data
    assert admin.form_post("/admin/audit/rules", rule_form(account_locked_enabled=None)).status_code == 303
    client = app.test_client()
    for _ in range(6):
        password_step(client, "kq_bottled_staff", "wrong")
    assert locked_alerts(app) == []


# ---- unhandled exceptions ------------------------------------------------------------------------
class Boom(RuntimeError):
    pass


@pytest.fixture
def failing(own_app):
    """Routes that fail the way a bug would: after a write they leave pending (holding SQLite's write
    lock), or after a statement the database refused (an aborted transaction on PostgreSQL). Answered
    as in production: a 500 page, not an exception raised into the test."""
    app = own_app()
    bp = Blueprint("failing", __name__)

    @bp.get("/test-only/broken-read")
    def broken_read():
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        db.session.add(Notification(user_id=admin.id, kind="audit_alert", text="never committed"))
        db.session.flush()
        raise Boom("a bug")

    @bp.post("/test-only/broken-write")
    def broken_write():
        db.session.add(User(username="admin", display_name="twin", password_hash="x", role="inspector"))
        db.session.flush()  # a duplicate username: IntegrityError, nobody handles it
        return "", 204

    csrf.exempt(bp)
    app.register_blueprint(bp)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def audit_rows(app, path):
    with app.app_context():
        rows = db.session.scalars(select(AuditEntry).where(AuditEntry.path == path).order_by(AuditEntry.id)).all()
        db.session.expunge_all()
        return rows


def test_a_read_that_fails_is_audited_and_the_next_requests_go_on(failing):
    app = failing
    inspector = Browser(app, "keqiao_inspector", DEMO_PASSWORD)
    resp = inspector.client.get("/test-only/broken-read?x=1")
    assert resp.status_code == 500
    [entry] = audit_rows(app, "/test-only/broken-read")
    assert (entry.kind, entry.outcome, entry.status, entry.method) == ("error", "error", 500, "GET")
    assert entry.username == "keqiao_inspector" and entry.detail["exception"] == "Boom"
    assert entry.detail["query"] == "x=1"
    with app.app_context():  # nothing of the failed request was kept
        assert db.session.scalar(select(func.count()).select_from(Notification)
                                 .where(Notification.text == "never committed")) == 0
    # The same process serves, reads and writes again at once (no lock left held, no aborted transaction).
    assert inspector.client.get("/cases").status_code == 200
    page = inspector.client.get("/notifications")
    assert inspector.client.post("/notifications/read", data={"all": "1", "csrf_token": csrf_of(page.data)}
                                 ).status_code == 303
    assert audit_rows(app, "/notifications/read")[-1].outcome == "success"


def test_a_write_that_fails_in_the_database_is_audited_as_an_error(failing):
    app = failing
    anonymous = app.test_client()
    staff = Browser(app, "kq_bottled_staff", DEMO_PASSWORD).client
    for client, who in ((anonymous, ""), (staff, "kq_bottled_staff")):
        resp = client.post("/test-only/broken-write")
        assert resp.status_code == 500
        entry = audit_rows(app, "/test-only/broken-write")[-1]
        assert (entry.kind, entry.outcome, entry.status, entry.username) == ("write", "error", 500, who)
        assert entry.detail["exception"] == "IntegrityError"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User).where(User.username == "admin")) == 1
        from workflows.services import audit_chain

        assert audit_chain.verify(db.session).ok
    assert password_step(app.test_client(), "kq_bottled_admin", DEMO_PASSWORD).status_code == 302
