"""A fresh install without the demo: from `gasflow user create --role city_admin` to the first completed
case, through the command line and the pages only (the README's "A new city" journey)."""
import re

import pyotp
import pytest
from click.testing import CliRunner
from conftest import APP_CONFIG, csrf_of, future
from flows import ACCEPT
from sqlalchemy import select

from models.uscc import make_uscc

pytestmark = pytest.mark.slow


def post(client, path, data, page_path=None):
    page = client.get(page_path or path)
    return client.post(path, data={**data, "csrf_token": csrf_of(page.data)})


def first_sign_in(client, username, password, new_password):
    """Password; the second factor's enrolment (authority roles); the password's first change."""
    resp = post(client, "/login", {"username": username, "password": password})
    assert resp.status_code == 302, resp.data[:300]
    if resp.headers["Location"].endswith("/login/enrol"):
        secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', client.get("/login/enrol").data.decode()).group(1)
        assert post(client, "/login/enrol", {"code": pyotp.TOTP(secret).now()}).status_code == 200
    changed = post(client, "/account/password", {"current": password, "new": new_password, "confirm": new_password})
    assert changed.status_code in (302, 303), changed.data[:500]


def one_time_password(html: str) -> str:
    return re.search(r'id="(?:temporary|one-time)-password">([^<]+)<', html).group(1)


def test_a_new_city_from_the_command_line_to_a_completed_case(tmp_path, monkeypatch, _instance):
    from web.app import create_app
    from web.cli import main
    from web.extensions import db

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    made = CliRunner().invoke(main, ["user", "create", "sun_chu", "--role", "city_admin", "--name", "市局 孙处长",
                                     "--password", "Fresh-install-2026!"])
    assert made.exit_code == 0, made.output
    app = create_app({**APP_CONFIG, "SQLALCHEMY_DATABASE_URI": url}, migrate=False)
    try:
        admin = app.test_client()
        first_sign_in(admin, "sun_chu", "Fresh-install-2026!", "Sun-chu-new-2026")
        from models import Enterprise, Region, User

        with app.app_context():
            keqiao = db.session.scalar(select(Region.id).where(Region.name == "柯桥区"))
            assert db.session.scalar(select(Enterprise.id)) is None  # no demo here
        uscc = make_uscc("91330603MC0000001")
        registered = post(admin, "/enterprises/new", {"name": "柯桥华润燃气有限公司", "uscc": uscc, "kind": "pipeline",
                                                      "county_id": keqiao, "address": "柯桥区华宇路 1 号"})
        assert registered.status_code == 303, registered.data[:800]
        with app.app_context():
            ent = db.session.scalar(select(Enterprise.id).where(Enterprise.uscc == uscc))
        accounts = {}
        for username, role, extra in (("li_jian", "inspector", {"county_id": str(keqiao)}),
                                      ("hr_admin", "enterprise_admin", {"enterprise_id": str(ent)})):
            temp = "Initial-pass-2026!"
            resp = post(admin, "/admin/users/new", {"username": username, "display_name": username, "role": role,
                                                    "password": temp, **extra})
            assert resp.status_code == 303, resp.data[:800]
            accounts[username] = temp

        boss = app.test_client()
        first_sign_in(boss, "hr_admin", accounts["hr_admin"], "Hr-admin-new-2026")
        staff = post(boss, "/enterprise/staff", {"username": "hr_staff", "display_name": "华润 安全员 吴敏"})
        assert staff.status_code == 201
        worker = app.test_client()
        first_sign_in(worker, "hr_staff", one_time_password(staff.data.decode()), "Hr-staff-new-2026")

        inspector = app.test_client()
        first_sign_in(inspector, "li_jian", accounts["li_jian"], "Li-jian-new-2026")
        page = inspector.get("/cases/new/rectification").data
        token = re.search(rb'name="(_submission|submission)" value="([^"]+)"', page)
        opened = inspector.post("/cases/new/rectification", data={
            "csrf_token": csrf_of(page), "enterprise_id": str(ent), "hazard_description": "调压箱未上锁",
            "hazard_class": "III", "deadline_at": future(48)[:16], **({token.group(1).decode(): token.group(2).decode()}
                                                                      if token else {})})
        assert opened.status_code in (302, 303), opened.data[:800]
        case_path = opened.headers["Location"]

        def open_task(client):
            home = client.get("/").data.decode()
            ids = re.findall(r'href="/tasks/(\d+)"', home)
            assert ids, home[:2000]
            return f"/tasks/{ids[0]}"

        answer = open_task(worker)
        assert post(worker, answer, {"response": "已上锁并张贴警示"}).status_code in (302, 303)
        verify = open_task(inspector)
        assert post(inspector, verify, {**ACCEPT, "comment": "复查合格"}).status_code in (302, 303)
        with app.app_context():
            from models import Case

            case = db.session.get(Case, int(case_path.rstrip("/").rsplit("/", 1)[-1]))
            assert case.status == "completed"
            assert db.session.scalar(select(User.display_name).where(User.username == "hr_staff")) == "华润 安全员 吴敏"
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
