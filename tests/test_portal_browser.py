"""Every page of the portal, as every demo role, in a real headless Chromium (Debian's).

The pages are not listed here: they are every parameterless GET route of ``app.url_map`` that serves a
page (so pages added later are crawled without touching this file), plus the page of one demo case of
each lifecycle the role can see. A page may answer 403 or 404 to a role (recorded); a 5xx on the page or
on anything it loads, a console error or an uncaught script error fails the crawl. Each page is kept
as a screenshot in $GASFLOW_SCREENSHOTS (else a temporary directory, printed).
"""
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from conftest import sign_in_page
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import func, select

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
if not shutil.which(CHROMIUM) and not os.environ.get("GASFLOW_REQUIRE_BROWSER"):
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

# Not pages: the API, files, signing out, switching language, downloads and exports, probes for machines,
# and the steps of signing in (the second factor and enrolment belong to a sign-in under way: a signed-in
# visitor is sent back to /login, and enrolment keeps a new pending secret).
SKIP_PATH = re.compile(r"^/(api|static)/|logout|locale|lang|export|download|healthz|readyz|metrics|^/login/"
                       r"|\.\w+$")



@pytest.fixture
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"])
        yield browser
        browser.close()


@pytest.fixture
def screenshots():
    where = Path(os.environ.get("GASFLOW_SCREENSHOTS") or tempfile.mkdtemp(prefix="gasflow-screens-"))
    where.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots of the portal crawl: {where}")
    return where


def sign_in(page, base_url, username):
    """Sign in through the real login form (and the second factor), as a person does."""
    sign_in_page(page, base_url, username)


def page_routes(app) -> list[str]:
    """The parameterless GET routes that serve pages, from the app's own URL map."""
    paths = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.arguments or rule.endpoint == "static":
            continue
        if SKIP_PATH.search(rule.rule):
            continue
        paths.add(rule.rule)
    return sorted(paths)


def ledger_pages() -> list[str]:
    """The ledgers take their key in the path, so the URL map alone does not list them."""
    from workflows.services.enforcement_ledgers import LEDGERS

    return [f"/ledger/{key}" for key in sorted(LEDGERS)]


def demo_case_pages(app, username) -> list[str]:
    """One case page per lifecycle the user can see among the demo cases (the oldest of each)."""
    from models import Case, User
    from web.extensions import db
    from workflows import access

    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        rows = db.session.execute(select(Case.process_key, func.min(Case.id)).where(access.case_scope(user))
                                  .group_by(Case.process_key).order_by(Case.process_key)).all()
    return [f"/cases/{case_id}" for _, case_id in rows]


def visit(page, base_url, path, shot: Path) -> dict:
    """Open one page; what it answered, and what went wrong in the browser while it loaded."""
    errors, failures = [], []
    page.on("console", on_console := (lambda m: m.type == "error" and errors.append(m.text)))
    page.on("pageerror", on_error := (lambda e: errors.append(f"page error: {e}")))
    page.on("response", on_response := (lambda r: r.status >= 500 and failures.append(f"{r.status} {r.url}")))
    try:
        try:
            response = page.goto(base_url + path, wait_until="networkidle")
        except PlaywrightError as exc:
            if "Download is starting" not in str(exc):
                raise
            return {"status": 200, "html": False, "download": True, "errors": [], "server_errors": failures}
        status = response.status if response is not None else None
        content_type = (response.headers.get("content-type", "") if response is not None else "")
        page.screenshot(path=str(shot), full_page=True)
    finally:
        page.remove_listener("console", on_console)
        page.remove_listener("pageerror", on_error)
        page.remove_listener("response", on_response)
    if status in (403, 404):
        # Chromium reports the refused page itself as a failed resource; that is the answer, not a fault.
        errors = [e for e in errors if f"status of {status}" not in e]
    return {"status": status, "html": content_type.startswith("text/html"), "download": False, "errors": errors,
            "server_errors": failures, "signed_out": path != "/login" and page.url.startswith(f"{base_url}/login")}


def test_every_page_as_every_role(app, engine, live_server, chromium, screenshots):
    from web.demo.cases import seed_demo_cases
    from web.demo.seed import demo_accounts
    from web.extensions import db

    with app.app_context():
        assert seed_demo_cases(engine, db.session) is True
    routes = page_routes(app)
    assert "/" in routes and "/cases" in routes  # the crawl finds the pages by itself

    problems, refused, seen = [], [], [0]

    def crawl(username, role, paths, cases=(), shot_prefix=""):
        context = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        page = context.new_page()
        sign_in(page, live_server, username)
        for path in [*paths, *cases]:
            name = f"{shot_prefix}{username}{path.replace('/', '_') or '_'}.png".replace("__", "_")
            result = visit(page, live_server, path, screenshots / name)
            seen[0] += 1
            where = f"{username} ({role}) GET {path}"
            if result["status"] is None or result["status"] >= 500 or result["server_errors"]:
                problems.append(f"{where}: {result['status']} {result['server_errors']}")
            elif result["status"] in (403, 404):
                refused.append(f"{where}: {result['status']}")
            elif result["download"]:
                refused.append(f"{where}: a download, not a page")
            elif result["status"] != 200 or not result["html"]:
                problems.append(f"{where}: answered {result['status']} (not an HTML page)")
            if result.get("signed_out"):
                problems.append(f"{where}: landed on the sign-in page (signed out?)")
            if result["errors"]:
                problems.append(f"{where}: browser errors {result['errors']}")
            if path in cases and result["status"] != 200:
                problems.append(f"{where}: a case in the role's scope is not shown")
        context.close()

    for username, role, _ in demo_accounts():
        # none for the roles of a county without demo cases
        crawl(username, role, routes + ledger_pages(), demo_case_pages(app, username))
    # The crawl's many refusals may match the audit's abnormal-operation rules (a burst of refused
    # requests from one address); the alerts go to the city admins, whose pages must show them cleanly.
    with app.app_context():
        from models import AuditAlert

        alerts = db.session.scalars(select(AuditAlert.rule)).all()
    print(f"audit alerts raised during the crawl: {alerts}")
    crawl("admin", "city_admin, after the crawl", ["/", "/notifications", "/admin/audit"], shot_prefix="after-")
    print(f"crawled {seen[0]} pages; refused to a role (fine): {len(refused)}")
    for line in refused:
        print("  " + line)
    assert problems == [], "\n".join(problems)
