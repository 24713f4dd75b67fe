"""Sessions are revocable on the server: each sign-in has a record whose id the signed cookie carries,
so a copy of the cookie dies with the record. Sign-out, a password change (one's own, or a reset by an
admin), deactivation and "sign out my other sessions" end them, on every web process alike."""
import re
from datetime import UTC, datetime, timedelta

import pytest
from conftest import Browser, csrf_of, enterprise_id, future, sign_in_form, statements
from sqlalchemy import func, select

from models import User
from web.demo.seed import DEMO_PASSWORD
from web.extensions import db
from workflows.engine.clock import frozen_at

NEW_PASSWORD = "Qx7-kettle-Lantern-42"


def copy_of(client, app):
    """Another browser holding a copy of ``client``'s session cookie (as a thief would)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def open_order(api, app):
    resp = api("keqiao_inspector").post("/cases", {"process": "rectification", "data": {
        "enterprise_id": enterprise_id(app), "hazard_description": "阀门锈蚀",
        "hazard_class": "II", "deadline_at": future()}})
    assert resp.status_code == 201, resp.json
    return resp.json["id"]


def comment(client, case_id, text):
    token = csrf_of(client.get("/cases").data)  # the form token of the session itself
    return client.post(f"/cases/{case_id}/comments", data={"text": text, "csrf_token": token})


def comments(api, case_id) -> list[str]:
    history = api("keqiao_inspector").get(f"/cases/{case_id}").json["history"]
    return [h["detail"]["text"] for h in history if h["event"] == "comment"]


def ended(client) -> bool:
    resp = client.get("/cases")
    return resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_a_cookie_copied_before_sign_out_reads_and_writes_nothing_after_it(app, api, browser):
    case_id = open_order(api, app)
    staff = browser("kq_bottled_staff")
    reader, writer, caller = (copy_of(staff.client, app) for _ in range(3))
    token = csrf_of(writer.get("/cases").data)
    assert comment(writer, case_id, "copied before").status_code == 302  # the copy works while signed in

    staff.client.post("/logout", data={"csrf_token": csrf_of(staff.client.get("/").data)})
    assert reader.get(f"/cases/{case_id}").status_code == 302
    resp = writer.post(f"/cases/{case_id}/comments", data={"text": "after sign-out", "csrf_token": token})
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert caller.post(f"/api/v1/cases/{case_id}/comments", json={"text": "by the API"},
                       headers={"X-CSRFToken": token}).status_code == 401
    assert comments(api, case_id) == ["copied before"]


def test_sign_out_ends_only_that_sign_in(app, browser):
    first, second = browser("kq_bottled_staff"), browser("kq_bottled_staff")
    first.client.post("/logout", data={"csrf_token": csrf_of(first.client.get("/").data)})
    assert ended(first.client) and not ended(second.client)


def test_an_ended_session_says_so_once_and_then_signs_in_again(app, browser):
    staff = browser("kq_bottled_staff")
    staff.client.get("/locale/en")
    thief, api_thief = copy_of(staff.client, app), copy_of(staff.client, app)
    staff.client.post("/logout", data={"csrf_token": csrf_of(staff.client.get("/").data)})
    resp = thief.get("/cases?status=open")
    assert resp.status_code == 302
    assert "Your session has ended" in thief.get(resp.headers["Location"]).data.decode()
    api_resp = api_thief.get("/api/v1/cases")
    assert api_resp.status_code == 401 and api_resp.json["error"]["code"] == "session_expired"
    assert sign_in_form(thief, "kq_bottled_staff", DEMO_PASSWORD).status_code == 302
    assert not ended(thief)


def change_password(client, current, new):
    page = client.get("/account/password")
    return client.post("/account/password", data={"current": current, "new": new, "confirm": new,
                                                  "csrf_token": csrf_of(page.data)})


def test_changing_ones_password_ends_every_other_session_and_keeps_this_one(app, browser):
    here, elsewhere = browser("kq_bottled_staff"), browser("kq_bottled_staff")
    thief = copy_of(here.client, app)
    assert change_password(here.client, DEMO_PASSWORD, NEW_PASSWORD).status_code == 302
    assert not ended(here.client)
    assert ended(elsewhere.client)
    # The copy of this very session was taken before the change: it proved no new password, so it ends.
    assert ended(thief)


def test_a_reset_by_an_admin_ends_every_session_of_the_account(app, browser):
    staff = browser("kq_bottled_staff")
    thief = copy_of(staff.client, app)
    admin = browser("admin")
    with app.app_context():
        uid = db.session.scalar(select(User.id).where(User.username == "kq_bottled_staff"))
    page = admin.client.get(f"/admin/users/{uid}/reset-password")
    assert admin.client.post(f"/admin/users/{uid}/reset-password",
                             data={"csrf_token": csrf_of(page.data)}).status_code == 200
    assert ended(staff.client) and ended(thief)
    assert not ended(admin.client)


def set_active(admin, uid, active):
    page = admin.client.get(f"/admin/users/{uid}")
    return admin.client.post(f"/admin/users/{uid}/active", data={"active": "1" if active else "0",
                                                                 "csrf_token": csrf_of(page.data)})


def test_deactivation_ends_the_sessions_for_good_even_once_reactivated(app, browser):
    staff = browser("kq_bottled_staff")
    thief = copy_of(staff.client, app)
    admin = browser("admin")
    with app.app_context():
        uid = db.session.scalar(select(User.id).where(User.username == "kq_bottled_staff"))
    assert set_active(admin, uid, False).status_code == 303
    assert set_active(admin, uid, True).status_code == 303
    # Reactivating the account does not bring back what was signed in before.
    assert ended(staff.client) and ended(thief)
    assert not ended(browser("kq_bottled_staff").client)


def sessions_page(client):
    return client.get("/account/sessions")


def sign_out_others(client, confirm=True):
    page = sessions_page(client)
    data = {"csrf_token": csrf_of(page.data)}
    if confirm:
        data["confirm"] = "y"
    return client.post("/account/sessions/others", data=data)


def test_sign_out_my_other_sessions_from_the_account_page(app):
    here = Browser(app, "kq_bottled_staff", DEMO_PASSWORD)
    phone = app.test_client()
    phone.environ_base.update({"REMOTE_ADDR": "10.1.2.3", "HTTP_USER_AGENT": (
        "Mozilla/5.0 (Linux; Android 14; V2309A) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.193 "
        "Mobile Safari/537.36 MicroMessenger/8.0.47.2560")})
    assert sign_in_form(phone, "kq_bottled_staff", DEMO_PASSWORD).status_code == 302
    thief = copy_of(phone, app)

    page = sessions_page(here.client)
    html = page.data.decode()
    assert page.status_code == 200
    # The browser as a person names it; the raw header only as the cell's tooltip.
    assert "退出其他会话" in html and ">微信 8 · Android</td>" in html and "10.1.2.3" in html
    assert len(re.findall(r'class="session-row', html)) == 2
    assert 'id="session-current"' in html

    # Confirmation is asked for: without it nothing ends.
    unconfirmed = sign_out_others(here.client, confirm=False)
    assert unconfirmed.status_code == 422 and not ended(phone)
    # Without the form token, nothing ends either.
    assert here.client.post("/account/sessions/others", data={"confirm": "y"}).status_code == 400
    assert not ended(phone)

    resp = sign_out_others(here.client)
    assert resp.status_code == 303
    assert ended(phone) and ended(thief) and not ended(here.client)
    html = sessions_page(here.client).data.decode()
    assert len(re.findall(r'class="session-row', html)) == 1 and "Phone-Browser/7.1" not in html


def test_the_account_page_links_to_the_sessions_and_speaks_english_on_request(app, browser):
    staff = browser("kq_bottled_staff")
    assert b'href="/account/sessions"' in staff.client.get("/account/password").data
    staff.client.get("/locale/en")
    assert "Sign out my other sessions" in sessions_page(staff.client).data.decode()


def test_sessions_of_other_users_are_untouched(app, browser):
    staff, inspector = browser("kq_bottled_staff"), browser("keqiao_inspector")
    assert sign_out_others(staff.client).status_code == 303
    assert not ended(inspector.client) and not ended(staff.client)


def test_the_idle_limit_still_ends_a_live_record(app):
    start = datetime.now(UTC)
    client = app.test_client()
    with frozen_at(start):
        assert sign_in_form(client, "kq_bottled_staff", DEMO_PASSWORD, at=start).status_code == 302
    with frozen_at(start + timedelta(minutes=31)):
        assert ended(client)
    # Ended on the server too: the record is gone from the list of the account's sessions.
    other = Browser(app, "kq_bottled_staff", DEMO_PASSWORD)
    assert len(re.findall(r'class="session-row', sessions_page(other.client).data.decode())) == 1


def test_a_session_costs_one_indexed_read_per_request(app, browser):
    """The user and the sign-in record come in one statement, by the record's unique key; nothing is
    written on an ordinary request."""
    staff = browser("kq_bottled_staff")
    staff.client.get("/cases")
    with statements(app) as seen:
        assert staff.client.get("/notifications").status_code == 200
    about_sessions = [s for s in seen if "user_sessions" in s]
    assert len(about_sessions) == 1, about_sessions
    assert "users" in about_sessions[0] and about_sessions[0].lstrip().upper().startswith("SELECT")
    by_user_id = [s for s in seen if re.search(r"FROM users\s+WHERE users\.id =", s)]
    assert by_user_id == [], by_user_id  # the user is not read a second time


def test_signing_a_user_or_everyone_out_from_a_shell(app, api, database_url):
    from click.testing import CliRunner

    from web.cli import main

    def cli(*args):
        return CliRunner().invoke(main, list(args), env={"DATABASE_URL": database_url}, catch_exceptions=False)

    staff, inspector = (Browser(app, name, DEMO_PASSWORD) for name in ("kq_bottled_staff", "keqiao_inspector"))
    key = api("kq_bottled_staff")
    out = cli("user", "sign-out", "kq_bottled_staff")
    assert out.exit_code == 0 and "ended 1 sessions" in out.output
    assert ended(staff.client) and not ended(inspector.client)
    assert key.get("/cases").status_code == 200  # API keys are revoked on their own (token revoke)
    assert cli("user", "sign-out", "--all").exit_code == 0
    assert ended(inspector.client)
    assert not ended(Browser(app, "kq_bottled_staff", DEMO_PASSWORD).client)  # the account still signs in
    assert cli("user", "sign-out", "nobody").exit_code != 0
    assert cli("user", "sign-out").exit_code != 0


def test_records_of_sessions_that_simply_stopped_go_at_the_next_sign_in(app):
    from models import UserSession

    start = datetime.now(UTC)
    for hours in (0, 1):  # two browsers closed without signing out
        with frozen_at(start + timedelta(hours=hours)):
            assert sign_in_form(app.test_client(), "kq_bottled_staff", DEMO_PASSWORD,
                                at=start + timedelta(hours=hours)).status_code == 302
    assert sign_in_form(app.test_client(), "keqiao_inspector", DEMO_PASSWORD).status_code == 302
    with frozen_at(start + timedelta(hours=1, minutes=20)):
        assert sign_in_form(app.test_client(), "kq_bottled_staff", DEMO_PASSWORD,
                            at=start + timedelta(hours=1, minutes=20)).status_code == 302
    with app.app_context():
        rows = db.session.execute(select(User.username, func.count()).join(UserSession)
                                  .group_by(User.username)).all()
    # The first idled out and went; the second may still be in use; the inspector's are his own business.
    assert dict(rows) == {"kq_bottled_staff": 2, "keqiao_inspector": 1}


@pytest.mark.parametrize(("agent", "label"), [
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
     "Safari/537.36 Edg/131.0.2903.86", "Edge 131 · Windows"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.5 Mobile/15E148 Safari/604.1", "Safari 17 · iOS"),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox 128 · Linux"),
    ("curl/8.5.0", "其他浏览器"),
    (None, "—"),
])
def test_sessions_name_the_browser_and_system(app, agent, label):
    from web.common.labels import browser_label

    with app.test_request_context():
        assert browser_label(agent) == label
