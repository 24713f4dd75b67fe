"""Every page of the portal, as every demo account, on a desk (1440 px) and on a phone (390×844), in a
real headless Chromium (Debian's).

The pages are not listed here: they are every parameterless GET route of ``app.url_map`` that serves a
page (so pages added later are walked without touching this file), the ledgers, the page of one demo
case of each lifecycle the account can see and the page of every open task it can see. A page may
answer 403 or 404 to a role (recorded); a 5xx on the page or on anything it loads, a console error or
an uncaught script error fails the walk, and so does every finding of the checks in ``CHECKS`` (a page
wider than the screen, to begin with). When $GASFLOW_SCREENSHOTS is set (.ci/run keeps them as artefacts),
each page is kept there as a screenshot, one folder per account and screen, taken after the checks so
that they see the page as it loaded; without it none is taken (nobody would look at them, and they were
some 40 % of the walk's time).

Each page is asked for over HTTP first, as the signed-in browser (its session cookie). A refused page is
the error template (error.html), the same card whatever was refused: the browser shows the first of each
kind on a walk (its status, with or without a reason) and the checks run on it, and the others are checked
over HTTP only: their status, not signed out, nothing internal in their text (tests/leaks.py). A third of
the pages a walk opens are refused ones, and each cost some 65 ms of CPU in the browser against 8 ms over
HTTP; every other answer (a page, a redirect, anything else) is opened in the browser as before.

One test per account and screen (a class per account, a test per screen), so pytest-xdist spreads
them: ``--dist loadscope`` sends each class to a worker as a whole. Each worker starts one Chromium;
each test has its own database (the ``app`` fixture) and its own server.
"""
import http.client
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import CHROMIUM_ARGS, totp_code
from leaks import leaks, page_leaks
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import func, select

from web.demo.seed import DEMO_PASSWORD, demo_accounts

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
if not shutil.which(CHROMIUM) and not os.environ.get("GASFLOW_REQUIRE_BROWSER"):
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

VIEWPORTS = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}
# Screenshots are JPEG; on a phone of the whole page (narrow, so cheap), on a desk of the first screen
# (a whole 1440 px page costs three times as much; GASFLOW_SCREENSHOTS_FULL=1 takes them whole too).
FULL_PAGE = {"phone": True, "desktop": os.environ.get("GASFLOW_SCREENSHOTS_FULL") == "1"}
# Not pages: the API, files, signing out, switching language, downloads and exports, probes for machines,
# and the steps of signing in (the second factor and enrolment belong to a sign-in under way: a signed-in
# visitor is sent back to /login, and enrolment keeps a new pending secret).
SKIP_PATH = re.compile(r"^/(api|static)/|logout|locale|lang|export|download|healthz|readyz|metrics|^/login/"
                       r"|\.\w+$")


@dataclass
class Visit:
    """One page as the walk saw it, for the checks."""

    username: str
    role: str
    viewport: str
    path: str
    kind: str  # "page" (from the URL map or a ledger), "case" (a demo case) or "task" (an open task)
    status: int | None = None
    html: bool = False
    url: str = ""  # where it landed (after redirects)
    drawn: bool = True  # shown in the browser; False: a refused page checked over HTTP only
    errors: list[str] = field(default_factory=list)


# ---- checks: each looks at a page as shown and says what is wrong with it (nothing: an empty list) ----
def wider_than_the_screen(page, visit: Visit) -> list[str]:
    """No page is wider than the screen: a phone shows it without scrolling sideways."""
    # clientWidth, not innerWidth: a phone (is_mobile) widens its layout viewport, and so innerWidth, to
    # a page wider than the screen and shows it zoomed out, so innerWidth would always fit the page.
    wide = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    if wide[0] > wide[1]:
        culprit = page.evaluate("""() => {
            const limit = document.documentElement.clientWidth;
            const wide = [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > limit + 1);
            const outer = wide.filter(e => !wide.includes(e.parentElement));
            return outer.slice(0, 3).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : ''));
        }""")
        return [f"{wide[0]} px wide on a {wide[1]} px screen ({', '.join(culprit)})"]
    return []


def internal_values(page, visit: Visit) -> list[str]:
    """Nothing internal on a Chinese page (tests/leaks.py): no repr, BPMN id, key, snake_case token, English
    process name, True/False/None or float money in what the page shows."""
    if not visit.html:
        return []
    # The text as rendered (scripts included: the diagram's labels, the map's), without what is verbatim on
    # purpose (data-verbatim, see tests/leaks.py) and the vendored libraries' own notices: bpmn.io's
    # watermark, which its licence requires on every diagram, and Leaflet's attribution.
    # All of it, what is folded away too (a phone's menu, a closed dialog), so from a copy, whose text has no
    # line breaks: each block ends with one, or a key beside a Chinese word in the next block would read
    # as one word and go unseen.
    text = page.evaluate("""() => {
        const body = document.body.cloneNode(true);
        body.querySelectorAll('[data-verbatim], script, style, noscript, .bjs-powered-by, '
                              + '.leaflet-control-attribution').forEach(e => e.remove());
        body.querySelectorAll('address, article, aside, blockquote, br, dd, details, dialog, div, dl, dt, '
                              + 'fieldset, figcaption, figure, footer, form, h1, h2, h3, h4, h5, h6, header, '
                              + 'hr, label, legend, li, main, nav, ol, option, p, pre, section, summary, '
                              + 'table, td, th, tr, ul, button, select, textarea, text')
            .forEach(e => e.append('\\n'));
        return body.textContent;
    }""")
    return [f"shows {found}" for found in leaks(text)]


def task_context_shown(page, visit: Visit) -> list[str]:
    """A task page shows what its task decides on, above its form (forms declare it; _task_context.html)."""
    if visit.kind != "task" or visit.status != 200:
        return []
    return [] if page.query_selector("[data-task-context]") else ["no task context (data-task-context) on the page"]


CHECKS = [wider_than_the_screen, internal_values, task_context_shown]


# ---- the walk -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def chromium():
    """One Chromium for the walk's tests in a row on a worker; each test opens its own context (cookies,
    screen). Not for the session: the other browser tests start Playwright themselves, and its sync API
    refuses to start while another instance's loop is still running in the process."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def screenshots() -> Path | None:
    """Where the screenshots go: $GASFLOW_SCREENSHOTS, or None (none taken) when it is not set."""
    if not os.environ.get("GASFLOW_SCREENSHOTS"):
        return None
    where = Path(os.environ["GASFLOW_SCREENSHOTS"])
    where.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots of the portal walk: {where}")
    return where


def screenshot(page, shot: Path | None, full_page: bool):
    """A JPEG: a person can read it, and it costs a fraction of a PNG."""
    if shot is not None:
        page.screenshot(path=str(shot), full_page=full_page, type="jpeg", quality=60)


def sign_in(app, page, base_url, username):
    """Sign in through the real login form (and the second factor), as a person does."""
    page.goto(f"{base_url}/login", wait_until="domcontentloaded")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    with page.expect_navigation(wait_until="domcontentloaded"):
        page.click("#submit")
    if page.url.endswith("/login/code"):
        page.fill("#code", totp_code(app, username))
        with page.expect_navigation(wait_until="domcontentloaded"):
            page.click("#submit")
    assert "/login" not in page.url, f"{username} could not sign in: {page.url}"


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


def cylinder_pages(app, username) -> list[str]:
    """The demo cylinders' traces the user may see, and the label sheet of each bottled enterprise in scope:
    their paths carry a code or a choice, so the URL map alone does not list them."""
    from models import DataRecord, Enterprise, User
    from web.extensions import db
    from workflows import access

    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        scope = access.enterprise_scope(user)
        rows = db.session.execute(select(DataRecord.enterprise_id, DataRecord.data).join(Enterprise).where(
            DataRecord.kind == "cylinder", DataRecord.status == "official", scope)).all()
        bottled = db.session.scalars(select(Enterprise.id).where(scope, Enterprise.kind == "bottled")).all()
    return ([f"/cylinders/{data['code']}" for _, data in rows]
            + [f"/cylinder-labels?enterprise={eid}" for eid in sorted({eid for eid, _ in rows} & set(bottled))])


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


def open_task_pages(app, username) -> list[str]:
    """Every open task the user can see."""
    from models import Task, User
    from web.extensions import db
    from workflows import access

    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        ids = db.session.scalars(select(Task.id).where(Task.status == "open", access.task_scope(user))
                                 .order_by(Task.id)).all()
    return [f"/tasks/{task_id}" for task_id in ids]


DRAWN = """() => !document.querySelector(
    '#diagram:not([data-rendered]), .linked-diagram:not([hidden]):not([data-rendered]), [data-rendered=loading]')"""
SPENT = {"open": 0.0, "screenshot": 0.0, "checks": 0.0}  # seconds, per worker: where a walk's time goes


def visit(page, base_url, target: Visit) -> Visit:
    """Open one page: what it answered, what went wrong in the browser while it loaded."""
    errors, failures = target.errors, []
    began = time.monotonic()
    page.on("console", on_console := (lambda m: m.type == "error" and errors.append(m.text)))
    page.on("pageerror", on_error := (lambda e: errors.append(f"page error: {e}")))
    page.on("response", on_response := (lambda r: r.status >= 500 and failures.append(f"{r.status} {r.url}")))
    try:
        try:
            # "load": the page, its scripts, styles and images are in; its own scripts have run (the
            # charts, the map and the diagram draw from data they fetch, checked by their own tests).
            response = page.goto(base_url + target.path, wait_until="load")
        except PlaywrightError as exc:
            if "Download is starting" not in str(exc):
                raise
            target.status, target.kind = 200, "download"
            return target
        target.status = response.status if response is not None else None
        target.url = page.url
        target.html = (response.headers.get("content-type", "") if response is not None else "").startswith(
            "text/html")
        if target.status == 200 and target.html:
            # The drawings the page fetches after "load" (a case's diagram, the map's markers) are done
            # before the checks read the page: its diagram's labels are part of what it shows. (They
            # used to be done or not depending on how long the screenshot before the checks took.)
            page.wait_for_function(DRAWN, timeout=10_000)
        SPENT["open"] += time.monotonic() - began
    finally:
        page.remove_listener("console", on_console)
        page.remove_listener("pageerror", on_error)
        page.remove_listener("response", on_response)
    if target.status in (403, 404):
        # Chromium reports the refused page itself as a failed resource; that is the answer, not a fault.
        errors[:] = [e for e in errors if f"status of {target.status}" not in e]
    errors.extend(failures)
    return target


ERROR_CARD = re.compile(r'<div class="card" id="error" data-status="(\d+)">')


def as_the_browser(page, base_url) -> dict[str, str]:
    """The headers of a request as the signed-in browser: its session cookie and its user agent."""
    return {"Cookie": "; ".join(f"{c['name']}={c['value']}" for c in page.context.cookies(base_url)),
            "User-Agent": page.evaluate("navigator.userAgent")}


def ask(connection, headers, path) -> tuple[tuple[int, bool], list[str]] | None:
    """The page over HTTP (plain http.client: Playwright's own request API costs twice the CPU, in its
    driver and in Python). For a refused page that is the error template, its kind (the status, and
    whether it gives a reason: a paragraph more on the card) and what tests/leaks.py finds in it; None
    for any other answer (a page, a redirect, anything else): the browser shows those."""
    connection.request("GET", path, headers=headers)  # reconnects if the server closed the last one
    answer = connection.getresponse()
    html = answer.read().decode("utf-8", "replace")
    if answer.status not in (403, 404) or not answer.getheader("Content-Type", "").startswith("text/html"):
        return None
    if not (card := ERROR_CARD.search(html)) or int(card.group(1)) != answer.status:
        return None
    return (answer.status, 'id="error-message"' in html), [f"shows {found}" for found in page_leaks(html)]


def raise_an_audit_alert(app):
    """A burst of refused requests from one address: the alert goes to the city admins, whose pages
    (notifications, the audit log) must show it cleanly."""
    client = app.test_client()
    for _ in range(21):
        assert client.get("/api/v1/cases", headers={"Authorization": "Bearer gf_not-a-token"}).status_code == 401
    from models import AuditAlert
    from web.extensions import db

    with app.app_context():
        assert db.session.scalars(select(AuditAlert.rule)).all(), "the burst raised no audit alert"


def walk(app, live_server, chromium, screenshots, username, role, viewport):
    started = time.monotonic()
    if role == "city_admin":
        raise_an_audit_alert(app)
    routes = page_routes(app)
    assert "/" in routes and "/cases" in routes  # the walk finds the pages by itself
    targets = ([Visit(username, role, viewport, p, "page") for p in routes + ledger_pages()]
               + [Visit(username, role, viewport, p, "case") for p in demo_case_pages(app, username)]
               + [Visit(username, role, viewport, p, "task") for p in open_task_pages(app, username)]
               + [Visit(username, role, viewport, p, "page") for p in cylinder_pages(app, username)])
    folder = screenshots / f"{viewport}-{username}" if screenshots else None
    if folder:
        folder.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(locale="zh-CN", viewport=VIEWPORTS[viewport],
                                   is_mobile=viewport == "phone", has_touch=viewport == "phone")
    problems, refused, shown = [], [], set()  # shown: the kinds of refused page the browser has shown
    server = urlsplit(live_server)
    connection = http.client.HTTPConnection(server.hostname, server.port, timeout=60)
    try:
        page = context.new_page()
        sign_in(app, page, live_server, username)
        headers = as_the_browser(page, live_server)
        for target in targets:
            kind, findings = ask(connection, headers, target.path) or (None, [])
            if kind is not None and kind in shown:  # the same card as one the browser showed
                target.status, target.html, target.drawn = kind[0], True, False
                target.url = live_server + target.path
                target.errors.extend(findings)
            else:
                visit(page, live_server, target)
                if kind is not None and target.status == kind[0]:  # the browser saw that card too
                    shown.add(kind)
            where = f"{username} ({role}, {viewport}) GET {target.path}"
            if target.status is None or target.status >= 500:
                problems.append(f"{where}: {target.status}")
            elif target.status in (403, 404):
                refused.append(f"{where}: {target.status}" + ("" if target.drawn else " (over HTTP)"))
            elif target.kind == "download":
                refused.append(f"{where}: a download, not a page")
            elif target.status != 200 or not target.html:
                problems.append(f"{where}: answered {target.status} (not an HTML page)")
            if target.path != "/login" and target.url.startswith(f"{live_server}/login"):
                problems.append(f"{where}: landed on the sign-in page (signed out?)")
            if target.errors:
                problems.append(f"{where}: {'browser errors' if target.drawn else 'over HTTP'} {target.errors}")
            if target.kind in ("case", "task") and target.status != 200:
                problems.append(f"{where}: a {target.kind} in the role's scope is not shown")
            if target.drawn and target.html and target.status in (200, 403, 404):
                began = time.monotonic()
                problems.extend(f"{where}: {finding}" for check in CHECKS for finding in check(page, target))
                SPENT["checks"] += time.monotonic() - began
                if folder:
                    began = time.monotonic()
                    name = (target.path.strip("/").replace("/", "_") or "home") + ".jpg"
                    screenshot(page, folder / name, FULL_PAGE[viewport])
                    SPENT["screenshot"] += time.monotonic() - began
    finally:
        connection.close()
        context.close()
    print(f"\n{username} ({role}, {viewport}): walked {len(targets)} pages in {time.monotonic() - started:.1f} s;"
          f" refused to the role (fine): {len(refused)}; this worker so far: "
          + ", ".join(f"{k} {v:.1f} s" for k, v in SPENT.items()))
    for line in refused:
        print("  " + line)
    assert problems == [], "\n".join(problems)


class _WalkAs:
    """The walk as one demo account, on each screen; subclassed once per account below."""

    username = role = ""

    @pytest.mark.parametrize("viewport", list(VIEWPORTS))
    def test_every_page(self, demo_cases, live_server, chromium, screenshots, viewport):
        walk(demo_cases, live_server, chromium, screenshots, self.username, self.role, viewport)


for _username, _role, _name in demo_accounts():
    globals()[f"TestWalkAs_{_username}"] = type(f"TestWalkAs_{_username}", (_WalkAs,),
                                                 {"username": _username, "role": _role})


# ---- the README's "Try it" journeys, on a phone -------------------------------------------------
def tap(page, selector):
    """Tap a link or button that opens a page, and wait for that page."""
    with page.expect_navigation(wait_until="load"):
        page.click(selector)


def fits(page, where):
    width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width[0] <= width[1], f"{where}: {width[0]} px wide on a {width[1]} px phone"


def test_try_it_journeys_on_a_phone(demo_cases, live_server, chromium, screenshots, tmp_path):
    """README "Try it" 1 to 5 on a 390×844 phone, through the menu and the forms as a person taps them:
    the supervisor plans an inspection, the inspector fills the checklist and a problem opens a
    rectification order, the enterprise answers it with a photo, the case page shows its diagram with
    the current step, and a penalty above the threshold is approved by the county, then the city."""
    from models import Case
    from web.extensions import db

    app = demo_cases
    folder = screenshots / "phone-journeys" if screenshots else None
    if folder:
        folder.mkdir(parents=True, exist_ok=True)

    def phone(username):
        context = chromium.new_context(locale="zh-CN", viewport=VIEWPORTS["phone"], is_mobile=True, has_touch=True)
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.errors = errors
        sign_in(app, page, live_server, username)
        return context, page

    def shot(page, name):
        screenshot(page, folder / f"{name}.jpg" if folder else None, full_page=True)

    # 1. The supervisor plans an inspection activity: the menu opens behind its toggle, 案卷 → 新建.
    context, page = phone("keqiao_supervisor")
    assert not page.is_visible("#nav-cases")  # the menu is folded away on a phone
    page.click("#nav-toggle")
    tap(page, "#nav-cases")
    tap(page, "#new-inspection_activity")
    fits(page, "the new inspection form")
    tap(page, "#submit")  # empty: the summary of what is missing comes first
    assert page.is_visible("#error-summary") and page.locator(".field.required").count() >= 5
    shot(page, "1-plan-errors")
    page.fill("#name", "手机端检查活动")
    page.fill("#department", "柯桥区综合行政执法局")
    page.fill("#planned_on", datetime.now().strftime("%Y-%m-%d"))
    page.get_by_label("柯桥区瓶装液化气供应有限公司", exact=True).check()
    page.check("input[name=inspectors][value=keqiao_inspector]")
    tap(page, "#submit")
    assert re.search(r"/cases/\d+$", page.url), page.url
    fits(page, "the new activity's case page")
    shot(page, "1-plan-case")

    def orders():
        with app.app_context():
            return db.session.scalars(select(Case.id).where(Case.process_key == "rectification")).all()

    with app.app_context():
        from models import Task

        checklist = db.session.scalar(select(Task.id).join(Case, Task.case_id == Case.id).where(
            Case.process_key == "inspection", Task.status == "open", Case.parent_id == int(page.url.rsplit("/", 1)[1])))
    assert checklist, "the plan opened no inspection with a checklist"
    supervisor = page  # signed in still: a second code within the same 30 s would be refused

    # 2. The inspector fills the checklist (one problem found), found through the menu and the task cards.
    before = orders()
    context, page = phone("keqiao_inspector")
    page.click("#nav-toggle")
    tap(page, "#nav-tasks-all")
    tap(page, f"#tasks tr[data-task='{checklist}'] td.card-title a")
    fits(page, "the checklist")
    radios = page.locator("input[type=radio][name^=item_]")
    names = sorted({radios.nth(i).get_attribute("name") for i in range(radios.count())})
    for i, name in enumerate(names):
        page.check(f"input[name={name}][value={'fail' if i == 0 else 'pass'}]")
    page.fill("input[name=note_0]", "手机端发现问题")
    tap(page, "#submit")
    assert re.search(r"/cases/\d+$", page.url), page.url
    assert "成功" in page.inner_text("main") or page.locator(".flash.success").count() == 1
    shot(page, "2-checklist-done")
    context.close()
    opened = sorted(set(orders()) - set(before))
    assert len(opened) == 1, "the problem found opened no rectification order"
    with app.app_context():
        from models import Task

        task = db.session.scalar(select(Task).where(Task.case_id == opened[0], Task.status == "open"))
        answer, enterprise = task.id, task.case.enterprise.name

    # 3. The enterprise answers its order with a photo.
    account = {"柯桥区瓶装液化气供应有限公司": "kq_bottled_staff"}.get(enterprise)
    if account is None:
        pytest.fail(f"the order went to {enterprise}, which has no demo account")
    context, page = phone(account)
    tap(page, f"#tasks tr[data-task='{answer}'] td.card-title a")
    fits(page, "the enterprise's answer")
    photo = tmp_path / "现场.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    page.fill("#response", "已整改")
    page.set_input_files("#photos", str(photo))
    tap(page, "#submit")
    assert re.search(r"/cases/\d+$", page.url), page.url
    # 5. The case page: data, history and the diagram with the current step, within the phone's width.
    page.wait_for_selector("#diagram[data-rendered]")
    assert page.get_attribute("#diagram", "data-rendered") == "true"
    assert "已整改" in page.inner_text("#history")
    fits(page, "the case page")
    shot(page, "3-answered-case")
    assert page.errors == []
    context.close()

    # 4. A penalty above 50 000 yuan (the demo's 80 000): the county approves, then the city.
    from models import Task

    def approval(role):
        with app.app_context():
            return db.session.scalar(select(Task.id).join(Case, Task.case_id == Case.id).where(
                Case.process_key == "penalty", Task.status == "open", Task.form_key == "penalty_approve",
                Task.role == role))

    county = approval("county_supervisor")
    assert county, "the demo has no penalty waiting for the county"
    supervisor.click("#nav-toggle")
    tap(supervisor, "#nav-tasks-all")
    tap(supervisor, f"#tasks tr[data-task='{county}'] td.card-title a")
    fits(supervisor, "the county's penalty approval")
    supervisor.check("input[name=decision][value=approve]")
    supervisor.fill("#comment", "同意，报市级审批")
    tap(supervisor, "#submit")
    shot(supervisor, "4-county-approved")
    supervisor.context.close()
    city = approval("city_admin")
    assert city, "a penalty above the threshold did not go on to the city"
    context, page = phone("admin")
    page.goto(f"{live_server}/tasks/{city}", wait_until="load")
    fits(page, "the city's penalty approval")
    page.check("input[name=decision][value=approve]")
    tap(page, "#submit")
    assert re.search(r"/cases/\d+$", page.url), page.url
    fits(page, "the approved penalty's case page")
    shot(page, "4-city-approved")
    with app.app_context():
        assert db.session.get(Task, city).status != "open"
    context.close()
