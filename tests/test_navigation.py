"""The page chrome: the menu by area as the rights open it, breadcrumbs, the workbench, the summary of a
failed submit, confirmations before destructive actions, success messages, the audit log as a person
reads it (the layout on screens is tests/test_portal_browser.py's)."""
import re
from datetime import UTC, datetime

from conftest import csrf_of, enterprise_id, future


def groups(html: str) -> list[str]:
    return re.findall(r'<section class="nav-group">\s*<h2>([^<]+)</h2>', html)


def test_the_menu_groups_pages_by_area_as_the_rights_open_them(app, browser):
    admin = browser("admin").client.get("/").get_data(as_text=True)
    assert groups(admin) == ["工作台", "待办", "案卷", "企业与数据", "监测预警", "执法台账", "系统管理"]
    assert 'id="nav-users"' in admin and 'id="nav-audit"' in admin and 'id="nav-ledger-penalties"' in admin
    assert 'id="nav-toggle"' in admin and 'aria-controls="site-nav"' in admin
    inspector = browser("keqiao_inspector").client.get("/").get_data(as_text=True)
    assert "系统管理" not in groups(inspector) and 'id="nav-users"' not in inspector
    assert "执法台账" in groups(inspector)
    staff = browser("kq_bottled_staff").client.get("/").get_data(as_text=True)
    assert groups(staff) == ["工作台", "待办", "案卷", "企业与数据", "监测预警"]
    assert 'id="nav-enterprise"' in staff and 'id="nav-dashboard"' not in staff and 'id="nav-map"' not in staff
    # The authority lands on its workbench: the counts above the queue; an enterprise on its queue.
    assert 'id="workbench"' in admin and "<h1>工作台</h1>" in admin
    assert 'id="workbench"' not in staff and "<h1>待办任务</h1>" in staff


def test_case_and_task_pages_have_breadcrumbs(app, api, browser):
    case = api("keqiao_inspector").post("/cases", {"process": "rectification", "data": {
        "enterprise_id": enterprise_id(app), "hazard_description": "通风不良", "hazard_class": "II",
        "deadline_at": future()}}).json
    staff = browser("kq_bottled_staff").client
    page = staff.get(f"/cases/{case['id']}").get_data(as_text=True)
    trail = re.search(r'<nav class="breadcrumbs".*?</nav>', page, re.S).group(0)
    assert 'href="/cases"' in trail and f'aria-current="page">#{case["id"]} ' in trail
    task_id = re.search(r'href="/tasks/(\d+)"', page).group(1)
    task = staff.get(f"/tasks/{task_id}").get_data(as_text=True)
    trail = re.search(r'<nav class="breadcrumbs".*?</nav>', task, re.S).group(0)
    assert 'href="/"' in trail and f'href="/cases/{case["id"]}"' in trail and 'aria-current="page">' in trail


def test_a_failed_submit_lists_what_is_missing_at_the_top_and_marks_required_fields(app, browser):
    supervisor = browser("keqiao_supervisor")
    path = "/cases/new/inspection_activity"
    form = supervisor.client.get(path).get_data(as_text=True)
    assert 'class="field required" id="field-name"' in form and 'class="field" id="field-delegate_unit"' in form
    assert 'id="error-summary"' not in form
    failed = supervisor.form_post(path, {"name": "", "department": ""})
    html = failed.get_data(as_text=True)
    assert failed.status_code == 422
    summary = re.search(r'<div class="error-summary".*?</div>', html, re.S).group(0)
    assert 'href="#field-name"' in summary and 'href="#field-department"' in summary
    assert "请修改以下" in summary


def test_assign_claim_and_release_say_what_happened(app, api, browser):
    case = api("keqiao_inspector").post("/cases", {"process": "rectification", "data": {
        "enterprise_id": enterprise_id(app), "hazard_description": "通风不良", "hazard_class": "II",
        "deadline_at": future()}}).json
    staff = api("kq_bottled_staff")
    task = next(t for t in staff.get("/tasks?scope=all").json["items"] if t["case_id"] == case["id"])
    staff.post(f"/tasks/{task['id']}/complete", {"data": {"response": "已整改"}})
    verify = next(t for t in api("keqiao_supervisor").get("/tasks?scope=all").json["items"]
                  if t["case_id"] == case["id"])
    supervisor = browser("keqiao_supervisor")
    page = supervisor.client.get(f"/tasks/{verify['id']}")
    assert "(keqiao_inspector2)" not in page.get_data(as_text=True)  # people by name, not username
    done = supervisor.client.post(f"/tasks/{verify['id']}/assign", data={
        "user": "keqiao_inspector2", "csrf_token": csrf_of(page.data)}, follow_redirects=True)
    assert "任务已指派给柯桥区检查员 赵强。" in done.get_data(as_text=True)
    inspector = browser("keqiao_inspector2")
    page = inspector.client.get(f"/tasks/{verify['id']}")
    released = inspector.client.post(f"/tasks/{verify['id']}/unclaim", data={"csrf_token": csrf_of(page.data)},
                                     follow_redirects=True)
    assert "已取消签收" in released.get_data(as_text=True)
    claimed = inspector.client.post(f"/tasks/{verify['id']}/claim", data={"csrf_token": csrf_of(page.data)},
                                    follow_redirects=True)
    assert "您已签收此任务" in claimed.get_data(as_text=True)


def test_destructive_actions_ask_first(app, browser):
    from sqlalchemy import select

    from models import User
    from web.extensions import db

    with app.app_context():
        staff_id = db.session.scalar(select(User.id).where(User.username == "kq_bottled_staff"))
    page = browser("admin").client.get(f"/admin/users/{staff_id}").get_data(as_text=True)
    button = re.search(r'<button[^>]*id="toggle-active"[^>]*>', page).group(0)
    assert 'data-confirm="确定停用柯桥瓶装 安全员 张华吗？' in button
    sessions = browser("kq_bottled_staff").client.get("/account/sessions").get_data(as_text=True)
    assert "data-confirm=" in sessions


def test_the_audit_log_reads_in_beijing_time_and_labels(app, browser):
    from web.extensions import db
    from workflows.services import audit_chain as audit

    with app.app_context():
        audit.append(db.session, at=datetime(2026, 3, 1, 2, 5, 9, tzinfo=UTC), kind="export", username="admin",
                     address="10.0.0.9", method="GET", path="/cases/export.xlsx", status=200, outcome="success",
                     detail={"disposition": "attachment; filename*=UTF-8''%E6%A1%88%E5%8D%B7.xlsx"})
        db.session.commit()
    html = browser("admin").client.get("/admin/audit?address=10.0.0.9").get_data(as_text=True)
    row = re.search(r'<tr data-entry="\d+" data-kind="export".*?</tr>', html, re.S).group(0)
    assert "2026-03-01 10:05:09" in row and "02:05:09" not in row  # Beijing time
    assert "(UTC)" not in html
    assert "案卷.xlsx" in row and 'title="attachment; filename*=UTF-8' in row  # the raw header as a tooltip
    assert "导出" in row and "成功" in row
