"""The TOTP second factor of authority accounts: enrolment with a locally drawn QR code, a code after
the password on every sign-in, no replay, recovery codes once each, wrong codes feeding the lockout."""
import re
from datetime import UTC, datetime, timedelta

import pyotp
from click.testing import CliRunner
from conftest import csrf_of, sign_in_form, totp_code
from sqlalchemy import func, select

DEMO = "Gasflow-demo-2026"


def password_step(client, username, password=DEMO):
    client.get("/locale/en")
    page = client.get("/login")
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_of(page.data)})


def code_step(client, code, path="/login/code"):
    page = client.get(path)
    return client.post(path, data={"code": code, "csrf_token": csrf_of(page.data)})


def reset(app, browser, username, totp_too=True) -> str:
    from models import User
    from web.extensions import db

    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == username))
    done = browser("admin").form_post(f"/admin/users/{user_id}/reset-password", {"reset_totp": "y"} if totp_too else {})
    return re.search(r'id="temporary-password">([^<]+)<', done.data.decode()).group(1)


def test_enrolment_on_first_sign_in_then_a_code_every_time_never_the_same_one_twice(app, browser):
    temporary = reset(app, browser, "keqiao_inspector2")
    client = app.test_client()
    first = password_step(client, "keqiao_inspector2", temporary)
    assert first.status_code == 302 and first.headers["Location"].endswith("/login/enrol")
    assert client.get("/").status_code == 302  # not signed in by the password alone

    page = client.get("/login/enrol").data.decode()
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    assert "<svg" in page and "otpauth" not in page.replace(secret, "")  # the QR is drawn here, no service
    wrong = code_step(client, "000000" if pyotp.TOTP(secret).now() != "000000" else "111111", "/login/enrol")
    assert wrong.status_code == 422 and "Wrong code" in wrong.data.decode()
    code = pyotp.TOTP(secret).now()
    done = code_step(client, code, "/login/enrol")
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([0-9a-f]{8}-[0-9a-f]{8})</code></li>", done.data.decode())
    assert len(codes) == 10
    # Signed in now, and the reset password must be changed first.
    assert client.get("/cases").headers["Location"].endswith("/account/password")
    page = client.get("/account/password")
    client.post("/account/password", data={"current": temporary, "new": "Second-factor-27",
                                            "confirm": "Second-factor-27", "csrf_token": csrf_of(page.data)})
    assert client.get("/cases").status_code == 200

    again = app.test_client()
    assert password_step(again, "keqiao_inspector2", "Second-factor-27").headers["Location"].endswith("/login/code")
    replay = code_step(again, code)  # the code that confirmed the enrolment, still within its window
    assert replay.status_code == 422 and "already used" in replay.data.decode()
    later = pyotp.TOTP(secret).at(datetime.now(UTC) + timedelta(seconds=30))  # the next step (clock drift)
    assert code_step(again, later).status_code == 302
    assert again.get("/cases").status_code == 200
    other = app.test_client()
    password_step(other, "keqiao_inspector2", "Second-factor-27")
    assert code_step(other, later).status_code == 422  # the same code does not open a second session


def test_wrong_codes_count_towards_the_lockout(app):
    from models import LoginFailure
    from web.extensions import db

    client = app.test_client()
    assert password_step(client, "keqiao_supervisor").headers["Location"].endswith("/login/code")
    right = totp_code(app, "keqiao_supervisor")
    wrong = f"{(int(right) + 1) % 1000000:06d}"
    for _ in range(5):
        assert code_step(client, wrong).status_code == 422
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LoginFailure)
                                 .where(LoginFailure.username == "keqiao_supervisor")) == 5
    locked = code_step(client, right)  # even the right code now
    assert locked.status_code == 302 and locked.headers["Location"].endswith("/login")
    assert "Too many failed sign-ins" in client.get("/login").data.decode()
    assert password_step(app.test_client(), "keqiao_supervisor").status_code == 429
    # A right password does not clear the failures of the second step (no endless guessing).
    assert client.get("/").status_code == 302


def test_password_again_does_not_clear_code_failures(app):
    from models import LoginFailure
    from web.extensions import db

    client = app.test_client()
    for _ in range(2):
        password_step(client, "keqiao_inspector")
        assert code_step(client, "12345x").status_code == 422
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LoginFailure)
                                 .where(LoginFailure.username == "keqiao_inspector")) == 2
    password_step(client, "keqiao_inspector")
    assert code_step(client, totp_code(app, "keqiao_inspector")).status_code == 302
    with app.app_context():  # a complete sign-in clears them
        assert db.session.scalar(select(func.count()).select_from(LoginFailure)
                                 .where(LoginFailure.username == "keqiao_inspector")) == 0


def test_a_recovery_code_signs_in_once(app, browser):
    temporary = reset(app, browser, "yuecheng_inspector")
    client = app.test_client()
    password_step(client, "yuecheng_inspector", temporary)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', client.get("/login/enrol").data.decode()).group(1)
    codes = re.findall(r"<li><code>([0-9a-f-]{17})</code></li>",
                       code_step(client, pyotp.TOTP(secret).now(), "/login/enrol").data.decode())

    lost = app.test_client()
    password_step(lost, "yuecheng_inspector", temporary)
    used = code_step(lost, codes[0])
    assert used.status_code == 302
    assert "9 are left" in lost.get("/account/password").data.decode()
    again = app.test_client()
    password_step(again, "yuecheng_inspector", temporary)
    refused = code_step(again, codes[0])
    assert refused.status_code == 422
    assert code_step(again, codes[1]).status_code == 302


def test_sign_in_without_an_authenticator_when_the_deployment_turns_it_off(app):
    app.config["REQUIRE_TOTP"] = False
    client = app.test_client()
    resp = password_step(client, "admin")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/")
    assert client.get("/cases").status_code == 200


def test_enterprise_accounts_have_no_second_factor(app):
    client = app.test_client()
    assert password_step(client, "kq_bottled_admin").headers["Location"].endswith("/")
    assert client.get("/login/code").headers["Location"].endswith("/login")  # nothing pending


def test_the_demo_command_prints_a_code_that_signs_in(app, database_url, monkeypatch):
    from web.cli import main

    monkeypatch.setenv("DATABASE_URL", database_url)
    out = CliRunner().invoke(main, ["user", "totp-code", "keqiao_supervisor"])
    assert out.exit_code == 0, out.output
    client = app.test_client()
    password_step(client, "keqiao_supervisor")
    assert code_step(client, out.output.strip()).status_code == 302
    assert client.get("/cases").status_code == 200
    assert CliRunner().invoke(main, ["user", "totp-code", "kq_bottled_staff"]).exit_code != 0
    assert sign_in_form(app.test_client(), "keqiao_supervisor", DEMO).status_code == 302


def test_the_secret_is_encrypted_at_rest(app):
    from models import User
    from web.extensions import db

    with app.app_context():
        stored = db.session.scalar(select(User.totp_secret).where(User.username == "admin"))
    assert stored.startswith("enc:") and len(stored) > 60
