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
