"""The same lifecycle through the HTML pages: real login form, CSRF tokens, file upload."""
import io
import re
from datetime import UTC, datetime, timedelta

from conftest import enterprise_id
from flows import ACCEPT

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def local_deadline(hours=48):
    return (datetime.now(UTC) + timedelta(hours=hours)).astimezone().strftime("%Y-%m-%dT%H:%M")


def task_link(html: bytes) -> int:
    return int(re.search(rb'href="/tasks/(\d+)"', html).group(1))


def test_lifecycle_through_the_pages(app, browser):
    inspector = browser("keqiao_inspector")
    page = inspector.client.get("/cases")
    assert b'id="new-rectification"' in page.data
    bad = inspector.form_post("/cases/new/rectification", {"enterprise_id": enterprise_id(app),
                                                           "hazard_description": "", "hazard_class": "I",
                                                           "deadline_at": "2020-01-01T10:00"})
    assert bad.status_code == 422 and b'class="errors"' in bad.data
    assert bad.data.count(b'class="errors"') == 2  # description and deadline, re-shown with messages
    resp = inspector.form_post("/cases/new/rectification", {
        "enterprise_id": enterprise_id(app), "hazard_description": "调压箱漏气", "hazard_class": "II",
        "deadline_at": local_deadline()})
    assert resp.status_code == 302
    case_url = resp.headers["Location"]

    staff = browser("kq_bottled_staff")
    queue = staff.client.get("/?scope=group")
    task_id = task_link(queue.data)
    done = staff.client.post(f"/tasks/{task_id}", data={
        "response": "已修复", "photos": [(io.BytesIO(PNG), "fixed.png", "image/png")],
        "csrf_token": _csrf(staff, f"/tasks/{task_id}")}, content_type="multipart/form-data")
    assert done.status_code == 302, done.data[:2000]
    case_page = staff.client.get(case_url)
    assert b"fixed.png" in case_page.data
    att_id = int(re.search(rb'href="/attachments/(\d+)">fixed\.png', case_page.data).group(1))
    assert staff.client.get(f"/attachments/{att_id}").data == PNG

    mine = inspector.client.get("/?scope=mine")
    verify_id = task_link(mine.data)
    resp = inspector.form_post(f"/tasks/{verify_id}", {**ACCEPT, "comment": "合格"})
    assert resp.status_code == 302
    page = inspector.client.get(case_url)
    assert 'id="case-status">已完成'.encode() in page.data or b'id="case-status">Completed' in page.data
    assert b'"End_closed"' in page.data  # the diagram marks where the case ended
    assert inspector.client.get(case_url.replace("/cases/", "/cases/") + "/diagram.bpmn").data.startswith(b"<?xml")


def _csrf(b, path):
    from conftest import csrf_of

    return csrf_of(b.client.get(path).data)


def test_forms_without_csrf_are_refused(app, browser):
    inspector = browser("keqiao_inspector")
    resp = inspector.client.post("/cases/new/rectification", data={"hazard_description": "x"})
    assert resp.status_code in (400, 422)
    assert b"CSRF" in resp.data or b"csrf" in resp.data.lower()


def test_wrong_password_and_other_tenants_pages(app, browser):
    client = app.test_client()
    from conftest import csrf_of

    page = client.get("/login")
    resp = client.post("/login", data={"username": "admin", "password": "wrong", "csrf_token": csrf_of(page.data)})
    assert resp.status_code == 200 and b'role="alert"' in resp.data
    assert client.get("/").status_code == 302  # still signed out

    inspector = browser("keqiao_inspector")
    inspector.form_post("/cases/new/rectification", {
        "enterprise_id": enterprise_id(app), "hazard_description": "x", "hazard_class": "II",
        "deadline_at": local_deadline()})
    other = browser("yc_pipeline_staff")
    assert other.client.get("/cases/1").status_code == 404
    assert other.client.get("/cases/1/diagram.bpmn").status_code == 404
    assert b"/tasks/" not in other.client.get("/?scope=all").data
