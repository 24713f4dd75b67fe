"""A fresh install without the demo, in Chromium (issue 15's "through the browser"): from
`gasflow user create --role city_admin` on an empty database, the city admin signs in (second factor,
first password change), adds a county-level unit, registers an enterprise and creates the inspector's
and the enterprise admin's accounts through the pages; the inspector issues a rectification order, the
enterprise answers it on a phone and the inspector's acceptance completes the case. Every step is a
click or a form fill on the pages a person uses; the database is only read, to check the outcome.
Screenshots (390 px for the enterprise's pages) in $GASFLOW_SCREENSHOTS (else a temporary folder)."""
import os
import re
import shutil
import threading

import pyotp
import pytest
from click.testing import CliRunner
from conftest import APP_CONFIG, CHROMIUM_ARGS, keep_screenshot
from sqlalchemy import select

from models.uscc import make_uscc

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
if not shutil.which(CHROMIUM) and not os.environ.get("GASFLOW_REQUIRE_BROWSER"):
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

DESK = {"viewport": {"width": 1440, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def tap(page, selector):
    """Click what opens a page, and wait for that page."""
    with page.expect_navigation(wait_until="load"):
        page.click(selector)


def fits(page, where):
    # clientWidth: a phone (is_mobile) widens innerWidth to a page wider than the screen.
    width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width[0] <= width[1], f"{where}: {width[0]} px wide on a {width[1]} px screen"


def first_sign_in(page, base, username, password, new_password):
    """The sign-in form; the second factor's enrolment for authority roles (the key read off the page,
    the code computed as the authenticator app would); the password's first change, which is due."""
    page.goto(f"{base}/login", wait_until="load")
    page.fill("#username", username)
    page.fill("#password", password)
    tap(page, "#submit")
    if page.url.endswith("/login/enrol"):
        secret = page.inner_text("#totp-secret").strip()
        page.fill("#code", pyotp.TOTP(secret).now())
        tap(page, "#submit")
        assert page.locator("#recovery-codes li").count() > 0, "no recovery codes after enrolment"
        tap(page, "#continue")
    assert page.url.endswith("/account/password"), f"{username}: the first password change was not asked: {page.url}"
    page.fill("#current", password)
    page.fill("#new", new_password)
    page.fill("#confirm", new_password)
    tap(page, "#submit")
    assert "/login" not in page.url and not page.url.endswith("/account/password"), page.url


def flashed(page) -> str:
    return " ".join(page.locator(".flash").all_inner_texts())


def test_a_new_city_in_the_browser(tmp_path, monkeypatch, _instance):
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from models import Case, Enterprise, Region, User
    from web.app import create_app
    from web.cli import main
    from web.extensions import db

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    made = CliRunner().invoke(main, ["user", "create", "sun_chu", "--role", "city_admin", "--name", "市局 孙处长",
                                     "--password", "Fresh-install-2026!"])
    assert made.exit_code == 0, made.output
    app = create_app({**APP_CONFIG, "SQLALCHEMY_DATABASE_URI": url}, migrate=False)
    with app.app_context():
        assert db.session.scalar(select(Enterprise.id)) is None  # no demo here
        assert db.session.scalar(select(Case.id)) is None

    def shot(page, name):
        keep_screenshot(page, f"fresh-install/{name}")

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    errors = []
    try:
        with sync_playwright() as p:
            chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=CHROMIUM_ARGS)

            def person(screen):
                context = chromium.new_context(locale="zh-CN", **screen)
                page = context.new_page()
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.on("response", lambda r: r.status >= 500 and errors.append(f"{r.status} {r.url}"))
                return context, page

            # The city admin: signs in, adds a county-level unit, registers an enterprise in it.
            admin_context, admin = person(DESK)
            first_sign_in(admin, base, "sun_chu", "Fresh-install-2026!", "Sun-chu-new-2026")
            admin.goto(f"{base}/regions", wait_until="load")
            admin.fill("#code", "330690")
            admin.fill("#name", "滨海新区")
            tap(admin, "#submit")
            assert "滨海新区" in admin.inner_text("#regions"), flashed(admin)
            admin.goto(f"{base}/enterprises/new", wait_until="load")
            uscc = make_uscc("91330690MC0000001")
            admin.fill("#name", "滨海华润燃气有限公司")
            admin.fill("#uscc", uscc)
            admin.select_option("#kind", "pipeline")
            admin.select_option("#county_id", label="滨海新区")
            admin.fill("#address", "滨海新区海涂路 1 号")
            tap(admin, "#submit")
            assert "滨海华润燃气有限公司" in admin.inner_text("main"), admin.url
            shot(admin, "1-enterprise-registered")

            # ... and the inspector's and the enterprise admin's accounts, with initial passwords.
            temp = "Initial-pass-2026!"
            for username, name, role, scope in (("li_jian", "李剑", "inspector", ("#county_id", "滨海新区")),
                                                 ("hr_admin", "华润 王经理", "enterprise_admin",
                                                  ("#enterprise_id", "滨海华润燃气有限公司"))):
                admin.goto(f"{base}/admin/users/new", wait_until="load")
                admin.fill("#username", username)
                admin.fill("#display_name", name)
                admin.select_option("#role", role)
                admin.select_option(scope[0], label=scope[1])
                admin.fill("#password", temp)
                tap(admin, "#submit")
                assert re.search(r"/admin/users/\d+$", admin.url), admin.inner_text("main")[:800]
            shot(admin, "2-account-created")
            admin_context.close()

            # The inspector issues a rectification order to the new enterprise, from the case menu.
            inspector_context, inspector = person(DESK)
            first_sign_in(inspector, base, "li_jian", temp, "Li-jian-new-2026")
            inspector.goto(f"{base}/cases", wait_until="load")
            tap(inspector, "#new-rectification")
            inspector.select_option("#enterprise_id", label="滨海华润燃气有限公司")
            inspector.fill("#hazard_description", "调压箱未上锁")
            inspector.select_option("#hazard_class", "III")
            tap(inspector, "#submit")
            assert re.search(r"/cases/\d+$", inspector.url), inspector.inner_text("main")[:800]
            case_id = int(inspector.url.rsplit("/", 1)[1])

            # The enterprise admin, on a phone, finds the order among its tasks and answers it.
            boss_context, boss = person(PHONE)
            first_sign_in(boss, base, "hr_admin", temp, "Hr-admin-new-2026")
            boss.goto(f"{base}/", wait_until="load")
            shot(boss, "3-enterprise-home")
            fits(boss, "the enterprise's home")
            tap(boss, "#tasks td.card-title a")
            fits(boss, "the enterprise's answer page")
            assert "调压箱未上锁" in boss.inner_text("main")
            shot(boss, "4-enterprise-answer")
            boss.fill("#response", "已上锁并张贴警示")
            tap(boss, "#submit")
            assert boss.url.endswith(f"/cases/{case_id}"), boss.url
            assert "已上锁并张贴警示" in boss.inner_text("#history")
            fits(boss, "the enterprise's case page")
            shot(boss, "5-enterprise-answered")
            boss_context.close()

            # The inspector accepts the rectification: the case is completed.
            inspector.goto(f"{base}/", wait_until="load")
            tap(inspector, "#tasks td.card-title a")
            inspector.check("input[name=decision][value=accept]")
            inspector.fill("#reinspection_findings", "复查合格")
            tap(inspector, "#submit")
            assert inspector.url.endswith(f"/cases/{case_id}"), inspector.url
            shot(inspector, "6-case-completed")
            inspector_context.close()
            chromium.close()
        with app.app_context():
            case = db.session.get(Case, case_id)
            assert case.status == "completed"
            assert case.enterprise.name == "滨海华润燃气有限公司"
            assert case.enterprise.county_id == db.session.scalar(select(Region.id).where(Region.name == "滨海新区"))
            assert db.session.scalar(select(User.county_id).where(User.username == "li_jian")) == case.county_id
        assert errors == []
    finally:
        server.shutdown()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
