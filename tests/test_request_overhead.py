"""What an API call with a bearer token does around its view: nothing a browser's request needs. Its
JSON body is not handed to a form parser, no Flask-Login user is loaded (the token names the caller),
and no cookie signer is made for a session cookie it does not bring; its audit entry still names the
token's user, and a browser's form and session are checked and kept as before."""
import pytest
from flask.sessions import SecureCookieSessionInterface
from flask.wrappers import Request
from flask_login import LoginManager
from flows import open_order, task_named
from test_audit import entries


@pytest.fixture
def counted(monkeypatch):
    calls = {"form parsed": 0, "user loaded": 0, "cookie signer": 0}

    def counting(name, cls, attr):
        original = getattr(cls, attr)

        def wrapper(*args, **kwargs):
            calls[name] += 1
            return original(*args, **kwargs)
        monkeypatch.setattr(cls, attr, wrapper)

    counting("form parsed", Request, "_load_form_data")
    counting("user loaded", LoginManager, "_load_user")
    counting("cookie signer", SecureCookieSessionInterface, "get_signing_serializer")
    return calls


def test_a_bearer_call_parses_no_form_loads_no_session_user_and_signs_no_cookie(app, api, counted):
    inspector, staff = api("keqiao_inspector"), api("kq_bottled_staff")
    case = open_order(api, app)
    task = task_named(staff, case["id"], "Task_respond")
    done = staff.post(f"/tasks/{task['id']}/complete", {"data": {"response": "已整改"}})
    assert done.status_code == 200, done.json
    assert inspector.get(f"/cases/{case['id']}").status_code == 200
    assert counted == {"form parsed": 0, "user loaded": 0, "cookie signer": 0}
    assert "Set-Cookie" not in done.headers
    written = entries(app, path=f"/api/v1/tasks/{task['id']}/complete")
    assert [(e.kind, e.username, e.user_id, e.token_id is not None) for e in written] == [
        ("write", "kq_bottled_staff", staff.user_id, True)]


def test_a_browsers_form_and_session_are_still_read(app, browser, counted):
    inspector = browser("keqiao_inspector")
    page = inspector.client.get("/cases/new/rectification")
    assert page.status_code == 200
    assert counted["user loaded"] >= 1 and counted["cookie signer"] >= 1
    resp = inspector.form_post("/cases/new/rectification", {"hazard_description": "阀门\x00锈蚀"})
    assert resp.status_code in (400, 422) and counted["form parsed"] >= 1
