"""Password rules graded by role, history, the forced change (first sign-in, after a reset) and expiry
of authority passwords (GB/T 22239 level 3, O8 §7.4.3), all through the pages."""
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner
from conftest import csrf_of, sign_in_form
from sqlalchemy import select

from workflows.engine.clock import frozen_at

DEMO = "Gasflow-demo-2026"


def english(client):
    client.get("/locale/en")
    return client


def change(client, current, new, confirm=None):
    page = client.get("/account/password")
    return client.post("/account/password", data={"current": current, "new": new,
                                                   "confirm": new if confirm is None else confirm,
                                                   "csrf_token": csrf_of(page.data)})


def errors_of(resp) -> str:
    html = resp.data.decode()
    start = html.find('id="field-new"')
    return html[start:html.find("</div>", start)]


def test_rules_are_graded_by_role_and_each_refusal_names_its_rule(app, browser):
    inspector = english(browser("keqiao_inspector").client)
    short = change(inspector, DEMO, "Abcdef-1234")  # 11 characters: enough for enterprises only
    assert short.status_code == 422 and "at least 12 characters" in errors_of(short)
    simple = change(inspector, DEMO, "abcdefghijklmn1")  # two classes
    assert simple.status_code == 422 and "at least 3 of" in errors_of(simple)
    assert "at least 12 characters" not in errors_of(simple)
    named = change(inspector, DEMO, "Keqiao_Inspector-2027")
    assert named.status_code == 422 and "Must not contain the username" in errors_of(named)
    same = change(inspector, DEMO, DEMO)
    assert same.status_code == 422 and "Must not be one of your last 5 passwords" in errors_of(same)
    differ = change(inspector, DEMO, "Tidy-river-2027", confirm="Tidy-river-2028")
    assert differ.status_code == 422 and "The two new passwords differ" in differ.data.decode()
    wrong = change(inspector, "not-my-password", "Tidy-river-2027")
    assert wrong.status_code == 422 and "Wrong password" in wrong.data.decode()

    staff = english(browser("kq_bottled_staff").client)
    too_short = change(staff, DEMO, "Abcde-123")
    assert too_short.status_code == 422 and "at least 10 characters" in errors_of(too_short)
    done = change(staff, DEMO, "Abcdef-123")  # 10 characters, four classes: fine for an enterprise
    assert done.status_code == 302
    assert sign_in_form(app.test_client(), "kq_bottled_staff", DEMO).status_code == 200  # the old one is gone
    assert sign_in_form(app.test_client(), "kq_bottled_staff", "Abcdef-123").status_code == 302


def test_history_refuses_the_last_passwords_per_role(app, browser):
    staff = english(browser("kq_bottled_staff").client)
    for new in ("Harbour-01", "Harbour-02", "Harbour-03"):
        assert change(staff, {"Harbour-01": DEMO, "Harbour-02": "Harbour-01", "Harbour-03": "Harbour-02"}[new],
                      new).status_code == 302
    # The enterprise rule looks at the last three: Harbour-01..03; the demo password is older.
    assert "last 3 passwords" in errors_of(change(staff, "Harbour-03", "Harbour-01"))
    assert change(staff, "Harbour-03", DEMO).status_code == 302

    admin = english(browser("admin").client)
    current = DEMO
    for i in range(1, 5):
        assert change(admin, current, f"Lantern-bay-{i:02d}").status_code == 302
        current = f"Lantern-bay-{i:02d}"
    # Four changes: the demo password is still among the last five, the rule refuses it.
    assert "last 5 passwords" in errors_of(change(admin, current, DEMO))
    assert change(admin, current, "Lantern-bay-05").status_code == 302
    assert change(admin, "Lantern-bay-05", DEMO).status_code == 302


def test_first_sign_in_of_a_new_account_forces_a_change_and_nothing_else_opens(app, database_url, monkeypatch, api):
    from web.cli import main

    monkeypatch.setenv("DATABASE_URL", database_url)
    weak = CliRunner().invoke(main, ["user", "create", "kq_new_staff", "--role", "enterprise_staff",
                                     "--enterprise", _uscc(app)], input="short\nshort\n")
    assert weak.exit_code != 0 and "length" in weak.output
    made = CliRunner().invoke(main, ["user", "create", "kq_new_staff", "--role", "enterprise_staff",
                                     "--enterprise", _uscc(app)], input="Given-by-admin-1\nGiven-by-admin-1\n")
    assert made.exit_code == 0, made.output

    client = english(app.test_client())
    resp = sign_in_form(client, "kq_new_staff", "Given-by-admin-1")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/account/password")
    for path in ("/", "/cases", "/data", "/warnings/", "/notifications"):
        blocked = client.get(path)
        assert blocked.status_code == 302 and blocked.headers["Location"].endswith("/account/password"), path
    assert client.get("/api/v1/cases").status_code == 403  # the browser session cannot use the API either
    assert "must be changed" in client.get("/account/password").data.decode()
    assert change(client, "Given-by-admin-1", "Mine-own-2027").status_code == 302
    assert client.get("/").status_code == 200


def test_a_reset_gives_a_one_time_password_that_must_be_changed(app, browser):
    from models import User
    from web.extensions import db

    ids = _ids(app)
    signed_in_before = browser("keqiao_inspector").client
    assert signed_in_before.get("/cases").status_code == 200
    admin = browser("admin")
    page = admin.client.get(f"/admin/users/{ids['keqiao_inspector']}/reset-password")
    assert page.status_code == 200
    done = admin.form_post(f"/admin/users/{ids['keqiao_inspector']}/reset-password", {})
    temporary = _temporary(done)
    with app.app_context():
        assert temporary not in db.session.get(User, ids["keqiao_inspector"]).password_hash  # stored hashed

    assert sign_in_form(app.test_client(), "keqiao_inspector", DEMO).status_code == 200  # the old one is gone
    assert signed_in_before.get("/cases").headers["Location"].startswith("/login")  # its sessions ended
    client = english(app.test_client())
    resp = sign_in_form(client, "keqiao_inspector", temporary)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/account/password")
    assert client.get("/cases").headers["Location"].endswith("/account/password")
    # The temporary password counts in the history: it cannot be kept.
    assert "last 5 passwords" in errors_of(change(client, temporary, temporary))
    other_device = english(app.test_client())
    sign_in_form(other_device, "keqiao_inspector", temporary)
    assert change(client, temporary, "Fresh-start-2027").status_code == 302
    assert client.get("/cases").status_code == 200  # the session that changed it goes on
    assert other_device.get("/account/password").status_code == 302  # another one ends


def test_who_may_reset_whose_password(app, browser):
    ids = _ids(app)
    supervisor = browser("keqiao_supervisor")
    for name in ("keqiao_inspector", "kq_bottled_staff", "kq_bottled_admin"):  # their county's
        assert supervisor.client.get(f"/admin/users/{ids[name]}/reset-password").status_code == 200, name
    for name in ("yuecheng_inspector", "yc_pipeline_staff", "admin", "keqiao_supervisor"):
        assert supervisor.client.get(f"/admin/users/{ids[name]}/reset-password").status_code == 404, name
        resp = supervisor.client.post(f"/admin/users/{ids[name]}/reset-password",
                                      data={"csrf_token": csrf_of(supervisor.client.get("/account/password").data)})
        assert resp.status_code == 404
    listed = supervisor.client.get("/admin/users/reset-password").data.decode()
    assert "kq_bottled_staff" in listed and "yuecheng_inspector" not in listed
    assert _temporary(supervisor.form_post(f"/admin/users/{ids['kq_bottled_staff']}/reset-password", {}))

    inspector = browser("keqiao_inspector")
    assert inspector.client.get(f"/admin/users/{ids['kq_bottled_staff']}/reset-password").status_code == 404
    assert inspector.client.get("/admin/users/reset-password").status_code == 404
    assert browser("admin").client.get(f"/admin/users/{ids['yuecheng_inspector']}/reset-password").status_code == 200


def test_authority_passwords_expire_after_90_days_with_a_warning_from_14_days_before(app, browser):
    now = datetime.now(UTC)
    soon = now + timedelta(days=80)
    with frozen_at(soon):
        client = english(app.test_client())
        resp = sign_in_form(client, "keqiao_inspector", DEMO, at=soon)
        assert resp.status_code == 302 and not resp.headers["Location"].endswith("/account/password")
        assert "Your password expires in" in client.get("/").data.decode()

    late = now + timedelta(days=91)
    with frozen_at(late):
        client = english(app.test_client())
        resp = sign_in_form(client, "keqiao_inspector", DEMO, at=late)
        assert resp.headers["Location"].endswith("/account/password")
        assert client.get("/cases").headers["Location"].endswith("/account/password")
        assert change(client, DEMO, "Spring-tide-2027").status_code == 302
        assert client.get("/cases").status_code == 200
        # Enterprise passwords do not expire.
        staff = english(app.test_client())
        assert sign_in_form(staff, "kq_bottled_staff", DEMO).headers["Location"].endswith("/")
        assert "expires" not in staff.get("/").data.decode()


def test_api_tokens_keep_working_while_a_change_is_due(app, api, browser):
    ids = _ids(app)
    caller = api("keqiao_inspector")
    browser("admin").form_post(f"/admin/users/{ids['keqiao_inspector']}/reset-password", {})
    assert caller.get("/cases").status_code == 200


def _temporary(resp) -> str:
    import re

    assert resp.status_code == 200, resp.data[:300]
    match = re.search(r'id="temporary-password">([^<]+)<', resp.data.decode())
    assert match
    return match.group(1)


def _ids(app) -> dict:
    from models import User
    from web.extensions import db

    with app.app_context():
        return dict(db.session.execute(select(User.username, User.id)).all())


def _uscc(app) -> str:
    from models import Enterprise
    from web.extensions import db

    with app.app_context():
        return db.session.scalar(select(Enterprise.uscc).where(Enterprise.name == "柯桥区瓶装液化气供应有限公司"))


def test_production_hashes_use_argon2id_at_rfc_9106_low_memory(own_app):
    """The suite hashes with the cheapest parameters; a deployment cannot: its profile is not read from
    the environment, and an app built without the test's override hashes and verifies at full cost."""
    from sqlalchemy import select

    from models import User
    from web.common.security import hash_password
    from web.config import load_config
    from web.demo.seed import DEMO_PASSWORD
    from web.extensions import db

    assert load_config()["PASSWORD_HASH_PROFILE"] == "production"
    app = own_app(PASSWORD_HASH_PROFILE="production")
    with app.app_context():
        hashed = hash_password(DEMO_PASSWORD)
        assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
        db.session.scalar(select(User).where(User.username == "kq_bottled_staff")).password_hash = hashed
        db.session.commit()
    assert sign_in_form(app.test_client(), "kq_bottled_staff", "wrong-" + DEMO_PASSWORD).status_code == 200
    assert sign_in_form(app.test_client(), "kq_bottled_staff", DEMO_PASSWORD).status_code == 302
