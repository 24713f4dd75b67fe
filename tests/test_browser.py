"""A real headless Chromium (Debian's) signs in and completes a task through the page."""
import os
import shutil
from datetime import UTC, datetime, timedelta

import pytest
from conftest import CHROMIUM_ARGS, enterprise_id, keep_screenshot, sign_in_page

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
if not shutil.which(CHROMIUM) and not os.environ.get("GASFLOW_REQUIRE_BROWSER"):
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)



@pytest.fixture
def page(tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=CHROMIUM_ARGS)
        context = browser.new_context(locale="zh-CN")
        page = context.new_page()
        page.console_errors = []
        page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
        page.on("pageerror", lambda e: page.console_errors.append(str(e)))
        yield page
        browser.close()


def test_enterprise_answers_an_order_in_the_browser(app, api, live_server, page, tmp_path):
    deadline = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    case = api("keqiao_inspector").post("/cases", {"process": "rectification", "data": {
        "enterprise_id": enterprise_id(app), "hazard_description": "钢瓶存放区通风不良", "hazard_class": "II",
        "deadline_at": deadline}}).json

    sign_in_page(page, live_server, "kq_bottled_staff")
    assert "任务" in page.content()  # Chinese first
    page.click("#tasks a[href^='/tasks/']")
    page.click("#submit")  # empty: the form comes back with a message
    assert page.locator(".errors").count() == 1
    photo = tmp_path / "现场.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    page.fill("#response", "已加装排风扇")
    page.set_input_files("#photos", str(photo))
    page.click("#submit")
    page.wait_for_url(f"{live_server}/cases/{case['id']}")
    page.wait_for_selector("#diagram[data-rendered]")
    assert page.get_attribute("#diagram", "data-rendered") == "true"
    assert page.locator(".gf-current").count() >= 1  # the verification step is highlighted
    assert "现场.png" in page.inner_text("#attachments")
    assert "已加装排风扇" in page.inner_text("#history")
    keep_screenshot(page, "enterprise-answers/case")
    # The re-shown invalid form answers 422 on purpose; Chromium logs that status as a console error.
    assert [e for e in page.console_errors if "status of 422" not in e] == []


def test_a_hearing_is_postponed_on_a_phone_with_its_outcome_in_words(app, api, live_server, page):
    """The hearing's task page offers held, postponed and ended in Chinese, fits a phone, and a postponement entered
    there moves the hearing (and the task's due time) to the new time."""
    from leaks import page_leaks
    from test_penalty_procedure import LOCAL, hearing_noticed, working

    from workflows.engine import clock

    inspector = api("keqiao_inspector")
    case_id, first = hearing_noticed(api, app)
    task = next(t for t in inspector.get(f"/cases/{case_id}").json["tasks"] if t["name"] == "Task_hearing_record")
    sign_in_page(page, live_server, "keqiao_inspector")
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server}/tasks/{task['id']}")
        text = page.inner_text("main")
        for words in ("举行听证", "听证结果", "已举行", "延期举行", "视为放弃听证权利", "听证笔录"):
            assert words in text, words
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert page_leaks(page.content()) == []  # no key, id or English word on the Chinese page
        keep_screenshot(page, f"penalty/hearing-{width}")
    # Later than the hearing noticed, and the notice period ahead of now.
    second = max(first + timedelta(days=1), working(app, clock.now(), 7)).astimezone(LOCAL).replace(
        hour=14, minute=0, second=0)
    # Each outcome's own fields: the record for a hearing held, the new time for a postponed one.
    assert page.is_visible("#held_at") and not page.is_visible("#new_hearing_at")
    # Marked required as each outcome needs them (the API's form leaves them optional: they depend on the outcome).
    assert page.get_attribute("#field-held_at", "class").split() == ["field", "required"]
    assert "required" not in page.get_attribute("#field-new_hearing_place", "class").split()
    page.check("input[name=hearing_outcome][value=postponed]")
    assert page.is_visible("#new_hearing_at") and not page.is_visible("#hearing_record")
    shown = page.inner_text("main")
    assert "延期理由" in shown and "不填则仍为：柯桥区住建局三楼会议室" in shown
    noticed = first.astimezone(LOCAL)
    assert f"晚于原定的听证时间{noticed.year}年{noticed.month}月{noticed.day}日 09:30" in shown
    keep_screenshot(page, "penalty/hearing-postponed-390")
    page.fill("#postponement_reason", "当事人法定代表人因病住院")
    page.fill("#new_hearing_at", second.strftime("%Y-%m-%dT%H:%M"))
    page.click("#submit")
    page.wait_for_url(f"{live_server}/cases/{case_id}")
    data = inspector.get(f"/cases/{case_id}").json["data"]
    assert datetime.fromisoformat(data["hearing_at"]) == second and data["hearing_outcome"] == "postponed"
    again = next(t for t in inspector.get(f"/cases/{case_id}").json["tasks"] if t["name"] == "Task_hearing_record")
    assert datetime.fromisoformat(again["due_at"]) == second and again["id"] != task["id"]
    # The task again, after the postponement: its notice named in words, the reason among the facts.
    page.goto(f"{live_server}/tasks/{again['id']}")
    facts = page.inner_text("[data-task-context]")
    assert "延期举行听证通知书" in facts and "当事人法定代表人因病住院" in facts
    assert page_leaks(page.content()) == []
    keep_screenshot(page, "penalty/hearing-again-390")
    assert page.console_errors == []
