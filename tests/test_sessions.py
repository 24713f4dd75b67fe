"""Sessions end after 30 idle minutes and 12 hours after sign-in, checked by the server from the times
in the signed session (the clock the code reads is moved, nothing sleeps); a fresh session at sign-in;
"remember me" for enterprise accounts only."""
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from conftest import csrf_of, sign_in_form

from workflows.engine.clock import frozen_at

DEMO = "Gasflow-demo-2026"


def signed_in(app, username, start):
    client = app.test_client()
    client.get("/locale/en")
    with frozen_at(start):
        assert sign_in_form(client, username, DEMO, at=start).status_code == 302
    return client


def test_idle_timeout_ends_the_session_and_sends_to_sign_in_with_a_message(app):
    start = datetime.now(UTC)
    client = signed_in(app, "kq_bottled_staff", start)
    with frozen_at(start + timedelta(minutes=29)):
        assert client.get("/cases").status_code == 200  # activity keeps it alive
    with frozen_at(start + timedelta(minutes=58)):
        assert client.get("/cases").status_code == 200  # 29 idle minutes since the last request
    with frozen_at(start + timedelta(minutes=89)):
        resp = client.get("/cases?status=open")
    target = urlsplit(resp.headers["Location"])
    assert resp.status_code == 302 and target.path == "/login"
    assert parse_qs(target.query)["next"] == ["/cases?status=open"]
    # The session was cleared, not just refused: going back in time does not bring it back.
    with frozen_at(start + timedelta(minutes=60)):
        assert client.get("/cases").status_code == 302
        assert client.get("/api/v1/cases").status_code == 401
    with frozen_at(start + timedelta(minutes=90)):
        page = client.get(resp.headers["Location"])
        assert "Your session has ended" in page.data.decode()
        back = client.post(resp.headers["Location"], data={"username": "kq_bottled_staff", "password": DEMO,
                                                           "csrf_token": csrf_of(page.data)})
        assert back.headers["Location"] == "/cases?status=open"  # signed in again, back where it was
        assert client.get("/cases?status=open").status_code == 200


def test_a_request_beside_a_form_does_not_drop_its_message(app):
    """A page's script may ask the server while its form is being sent (an autosaved draft). The answer to
    the form carries the message for the next page in the session cookie; the script's answer, made from
    the cookie its request began with, must not set the cookie again and drop that message. The idle
    limit's "seen" time moves at most once a minute, and only then is the cookie set by a plain request."""
    start = datetime.now(UTC)
    client = signed_in(app, "kq_bottled_staff", start)
    with frozen_at(start + timedelta(seconds=5)):
        assert client.get("/cases").status_code == 200  # the page with the form (its CSRF token made)
    with frozen_at(start + timedelta(seconds=50)):
        beside = client.get("/cases")  # the script's request
        assert beside.status_code == 200 and "Set-Cookie" not in beside.headers
    # A minute on, a request moves the idle clock on and so sets the cookie.
    with frozen_at(start + timedelta(minutes=2)):
        assert "Set-Cookie" in client.get("/cases").headers


def test_absolute_lifetime_ends_even_a_busy_session(app):
    start = datetime.now(UTC)
    client = signed_in(app, "keqiao_inspector", start)
    minutes = 0
    while minutes + 25 < 12 * 60:
        minutes += 25
        with frozen_at(start + timedelta(minutes=minutes)):
            assert client.get("/").status_code == 200, minutes
    with frozen_at(start + timedelta(hours=12, minutes=1)):
        resp = client.get("/")
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]
        api = client.get("/api/v1/cases")
        assert api.status_code == 401 and api.json["error"]["code"] in ("session_expired", "unauthorized")


def test_the_limits_come_from_the_configuration(app):
    app.config["SESSION_IDLE_MINUTES"] = 5
    start = datetime.now(UTC)
    client = signed_in(app, "kq_bottled_admin", start)
    with frozen_at(start + timedelta(minutes=6)):
        assert client.get("/").status_code == 302


def test_bearer_tokens_are_not_session_bound(app, api):
    caller = api("keqiao_inspector")
    with frozen_at(datetime.now(UTC) + timedelta(hours=13)):
        assert caller.get("/cases").status_code == 200


def test_sign_in_starts_a_fresh_session(app):
    client = app.test_client()
    page = client.get("/login")
    with client.session_transaction() as sess:
        before = dict(sess)
        sess["planted"] = "by someone else"
    client.post("/login", data={"username": "kq_bottled_staff", "password": DEMO, "csrf_token": csrf_of(page.data)})
    with client.session_transaction() as sess:
        assert "planted" not in sess and sess.get("_user_id")
        assert sess.get("csrf_token") != before.get("csrf_token")


def test_remember_me_only_for_enterprise_accounts(app):
    def sign_in_remembered(username):
        client = app.test_client()
        page = client.get("/login")
        resp = client.post("/login", data={"username": username, "password": DEMO, "remember": "y",
                                           "csrf_token": csrf_of(page.data)})
        return client, resp

    _client, resp = sign_in_remembered("kq_bottled_staff")
    cookie = next(h for h in resp.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "Expires=" in cookie  # kept across browser restarts (still within the limits above)

    client, resp = sign_in_remembered("keqiao_supervisor")
    from conftest import totp_code

    page = client.get("/login/code")
    resp = client.post("/login/code", data={"code": totp_code(app, "keqiao_supervisor"),
                                            "csrf_token": csrf_of(page.data)})
    assert resp.status_code == 302
    cookie = next(h for h in resp.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "Expires=" not in cookie  # an authority session ends with the browser
