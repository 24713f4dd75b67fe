"""Central rights management (O8, GB/T 22239 level 3): the city admin grants and revokes rights per
operator on /admin/users; a change holds from the next request; rights never widen scope; a
deactivated account can neither sign in nor use its API keys."""
import re

from conftest import csrf_of, enterprise_id, future
from sqlalchemy import select

from models import User
from web.demo.seed import DEMO_PASSWORD


def user_id(app, username):
    from web.extensions import db

    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def set_rights(admin, uid, choices: dict):
    """Post the rights form as the admin's browser does: the page's current choices, some changed."""
    page = admin.client.get(f"/admin/users/{uid}")
    assert page.status_code == 200
    html = page.data.decode()
    form = {name: value for name, value in re.findall(
        r'<select[^>]*name="(right_[a-z_]+)"[^>]*>.*?<option selected value="(\w+)"', html, re.S)}
    assert form, "no rights on the page"
    for right, choice in choices.items():
        name = "right_" + right.replace(".", "_")
        assert name in form, (name, sorted(form))
        form[name] = choice
    return admin.client.post(f"/admin/users/{uid}/rights", data={**form, "csrf_token": csrf_of(page.data)})


def effective(admin, uid) -> dict:
    html = admin.client.get(f"/admin/users/{uid}").data.decode()
    rows = re.findall(r'<tr data-right="([a-z.]+)">.*?<td class="effective">([^<]+)</td>', html, re.S)
    return {k: v.strip() for k, v in rows}


def start_rectification(inspector_api, app):
    return inspector_api.post("/cases", {"process": "rectification", "data": {
        "enterprise_id": enterprise_id(app), "hazard_description": "软管老化", "hazard_class": "II",
        "deadline_at": future()}})


def test_users_page_lists_accounts_with_role_scope_and_status(app, browser):
    admin = browser("admin")
    page = admin.client.get("/admin/users")
    assert page.status_code == 200
    html = page.data.decode()
    for username in ("admin", "keqiao_supervisor", "kq_bottled_staff", "yc_pipeline_staff"):
        assert f'data-user="{username}"' in html
    row = re.search(r'<tr data-user="kq_bottled_staff">(.*?)</tr>', html, re.S).group(1)
    assert "柯桥区瓶装液化气供应有限公司" in row and "柯桥区" in row
    # Everyone else is refused the page and every action of it.
    for name in ("keqiao_supervisor", "keqiao_inspector", "kq_bottled_admin"):
        other = browser(name)
        assert other.client.get("/admin/users").status_code == 403
        assert other.client.get(f"/admin/users/{user_id(app, 'kq_bottled_staff')}").status_code == 403
        assert 'id="nav-users"' not in other.client.get("/").data.decode()
    assert 'id="nav-users"' in admin.client.get("/").data.decode()


def test_revoking_a_right_holds_from_the_next_request_and_granting_restores_it(app, browser, api):
    admin = browser("admin")
    inspector = api("keqiao_inspector")
    uid = user_id(app, "keqiao_inspector")
    assert start_rectification(inspector, app).status_code == 201

    resp = set_rights(admin, uid, {"cases.start": "revoke"})
    assert resp.status_code == 303
    assert effective(admin, uid)["cases.start"] in ("No", "否")
    refused = start_rectification(inspector, app)  # the same token, the very next request
    assert refused.status_code == 403, refused.json
    page = browser("keqiao_inspector").client.get("/cases")
    assert "/cases/new/rectification" not in page.data.decode()

    set_rights(admin, uid, {"cases.start": "default"})
    assert start_rectification(inspector, app).status_code == 201


def test_granting_a_right_lets_the_user_act_but_only_inside_his_scope(app, browser, api):
    admin = browser("admin")
    case = start_rectification(api("keqiao_inspector"), app).json
    task_id = case["tasks"][0]["id"]
    inspector2 = api("keqiao_inspector2")
    outsider = api("yuecheng_inspector")
    # Inspectors do not assign tasks by default.
    assert inspector2.post(f"/tasks/{task_id}/assign", {"user": "kq_bottled_staff"}).status_code == 403

    set_rights(admin, user_id(app, "keqiao_inspector2"), {"tasks.assign": "grant"})
    set_rights(admin, user_id(app, "yuecheng_inspector"), {"tasks.assign": "grant"})
    resp = inspector2.post(f"/tasks/{task_id}/assign", {"user": "kq_bottled_staff"})
    assert resp.status_code == 200 and resp.json["assignee"] == "kq_bottled_staff"
    # The same right in another county: the task stays out of sight.
    assert outsider.post(f"/tasks/{task_id}/assign", {"user": "kq_bottled_admin"}).status_code == 404
    assert outsider.get(f"/cases/{case['id']}").status_code == 404


def test_personal_data_right_never_reaches_another_enterprise(app, browser, api):
    admin = browser("admin")
    ent_admin = api("kq_bottled_admin")
    staff = api("kq_bottled_staff")
    record = {"external_id": "U-9", "name": "王小明", "id_number": "11010519491231002X", "user_type": "residential",
              "phone": "13912345678", "address": "柯桥区华舍街道"}
    assert ent_admin.post("/data/gas_user", {"records": [record]}).status_code == 202
    shown = staff.get("/data/gas_user?status=pending").json["items"][0]["data"]
    assert shown["id_number"] != record["id_number"]  # staff see it masked by default
    set_rights(admin, user_id(app, "kq_bottled_staff"), {"data.personal": "grant"})
    assert staff.get("/data/gas_user?status=pending").json["items"][0]["data"]["id_number"] == record["id_number"]
    # Granted to another enterprise's staff: still nothing of this enterprise to see.
    set_rights(admin, user_id(app, "yc_pipeline_staff"), {"data.personal": "grant"})
    assert api("yc_pipeline_staff").get("/data/gas_user?status=all").json["total"] == 0
    # Revoked from the enterprise admin: masked for him too.
    set_rights(admin, user_id(app, "kq_bottled_admin"), {"data.personal": "revoke"})
    assert ent_admin.get("/data/gas_user?status=pending").json["items"][0]["data"]["id_number"] != record["id_number"]


def test_revoked_decision_right_keeps_the_task_from_the_supervisor(app, demo_cases, browser, api):
    """penalty.approve: the county supervisor without it cannot claim or complete an approval."""
    sup = api("keqiao_supervisor")
    approval = next(t for t in sup.get("/tasks?scope=group").json["items"] if t["form_key"] == "penalty_approve")
    set_rights(browser("admin"), user_id(app, "keqiao_supervisor"), {"penalty.approve": "revoke"})
    assert sup.post(f"/tasks/{approval['id']}/claim").status_code == 403
    resp = sup.post(f"/tasks/{approval['id']}/complete", {"data": {"decision": "approve", "comment": "同意"}})
    assert resp.status_code == 403
    assert sup.get(f"/tasks/{approval['id']}").json["status"] == "open"
    # Other tasks of his are untouched by that revocation.
    review = next(t for t in sup.get("/tasks?scope=group").json["items"] if t["form_key"] == "data_review")
    assert sup.post(f"/tasks/{review['id']}/claim").status_code == 200


def test_rights_the_role_cannot_hold_are_not_offered_and_cannot_be_posted(app, browser, api):
    admin = browser("admin")
    uid = user_id(app, "keqiao_supervisor")
    html = admin.client.get(f"/admin/users/{uid}").data.decode()
    assert 'data-right="users.manage"' not in html and 'data-right="models.manage"' not in html
    page = admin.client.get(f"/admin/users/{uid}")
    admin.client.post(f"/admin/users/{uid}/rights", data={"right_users_manage": "grant",
                                                          "right_models_manage": "grant",
                                                          "csrf_token": csrf_of(page.data)})
    assert browser("keqiao_supervisor").client.get("/admin/users").status_code == 403
    assert api("keqiao_supervisor").post("/processes", data=b"<x/>").status_code == 403


def test_a_county_supervisor_cannot_edit_rights_or_accounts(app, browser):
    sup = browser("keqiao_supervisor")
    target = user_id(app, "keqiao_inspector")
    token = csrf_of(sup.client.get("/").data)
    assert sup.client.post(f"/admin/users/{target}/rights",
                           data={"right_tasks_assign": "grant", "csrf_token": token}).status_code == 403
    resp = sup.client.post(f"/admin/users/{target}/active", data={"active": "0", "csrf_token": token})
    assert resp.status_code == 403
    assert sup.client.post("/admin/users/new", data={"username": "sneaky", "display_name": "x", "role": "city_admin",
                                                     "password": "x" * 16, "csrf_token": token}).status_code == 403
    from web.extensions import db

    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "sneaky")) is None
        assert not db.session.get(User, target).right_overrides


def test_the_admin_cannot_lock_himself_out(app, browser):
    admin = browser("admin")
    uid = user_id(app, "admin")
    resp = set_rights(admin, uid, {"users.manage": "revoke"})
    assert resp.status_code == 422
    page = admin.client.get(f"/admin/users/{uid}")
    resp = admin.client.post(f"/admin/users/{uid}/active", data={"active": "0", "csrf_token": csrf_of(page.data)})
    assert resp.status_code == 422
    assert admin.client.get("/admin/users").status_code == 200


def test_deactivated_accounts_cannot_sign_in_or_use_keys_until_reactivated(app, browser, api):
    admin = browser("admin")
    staff_api = api("kq_bottled_staff")
    staff_browser = browser("kq_bottled_staff")
    assert staff_api.get("/cases").status_code == 200
    uid = user_id(app, "kq_bottled_staff")
    page = admin.client.get(f"/admin/users/{uid}")
    resp = admin.client.post(f"/admin/users/{uid}/active", data={"active": "0", "csrf_token": csrf_of(page.data)})
    assert resp.status_code == 303
    assert "data-user=\"kq_bottled_staff\"" in admin.client.get("/admin/users").data.decode()
    assert staff_api.get("/cases").status_code == 401
    assert staff_browser.client.get("/").status_code == 302  # the open session ends with the next request
    fresh = app.test_client()
    login = fresh.get("/login")
    resp = fresh.post("/login", data={"username": "kq_bottled_staff", "password": DEMO_PASSWORD,
                                      "csrf_token": csrf_of(login.data)})
    assert resp.status_code == 200  # the form again, not the redirect of a signed-in user
    assert fresh.get("/").status_code == 302

    page = admin.client.get(f"/admin/users/{uid}")
    admin.client.post(f"/admin/users/{uid}/active", data={"active": "1", "csrf_token": csrf_of(page.data)})
    assert staff_api.get("/cases").status_code == 200
    assert browser("kq_bottled_staff").client.get("/").status_code == 200


def test_admin_creates_a_user_with_field_errors_first(app, browser):
    admin = browser("admin")
    page = admin.client.get("/admin/users/new")
    assert page.status_code == 200
    token = csrf_of(page.data)
    bad = admin.client.post("/admin/users/new", data={"username": "keqiao_supervisor", "display_name": "x",
                                                      "role": "inspector", "county_id": "", "password": "short",
                                                      "csrf_token": token})
    assert bad.status_code == 422
    html = bad.data.decode()
    assert 'id="field-county_id"' in html and html.count('class="errors"') >= 2
    from web.extensions import db

    with app.app_context():
        keqiao = db.session.scalar(select(User.county_id).where(User.username == "keqiao_supervisor"))
    good = admin.client.post("/admin/users/new", data={
        "username": "keqiao_inspector3", "display_name": "柯桥区检查员 钱三", "role": "inspector",
        "county_id": str(keqiao), "email": "qian@example.cn", "password": "A-long-password-2026",
        "csrf_token": token})
    assert good.status_code == 303
    with app.app_context():
        made = db.session.scalar(select(User).where(User.username == "keqiao_inspector3"))
        assert made.county_id == keqiao and made.role == "inspector" and made.active
        assert made.password_hash != "A-long-password-2026"
    client = app.test_client()  # the new account signs in with its initial password
    login = client.get("/login")
    resp = client.post("/login", data={"username": "keqiao_inspector3", "password": "A-long-password-2026",
                                       "csrf_token": csrf_of(login.data)})
    assert resp.status_code == 302


def test_without_the_comment_right_the_form_goes_and_posting_is_refused(app, browser, api):
    case_id = start_rectification(api("keqiao_inspector"), app).json["id"]
    inspector = browser("keqiao_inspector")
    assert 'id="comment-form"' in inspector.client.get(f"/cases/{case_id}").data.decode()
    set_rights(browser("admin"), user_id(app, "keqiao_inspector"), {"cases.comment": "revoke"})
    page = inspector.client.get(f"/cases/{case_id}")
    assert 'id="comment-form"' not in page.data.decode()
    resp = inspector.client.post(f"/cases/{case_id}/comments", data={"text": "x", "csrf_token": csrf_of(page.data)})
    assert resp.status_code == 403
    resp = api("keqiao_inspector").post(f"/cases/{case_id}/comments", {"text": "x"})
    assert resp.status_code == 403 and resp.json["error"]["code"] == "forbidden"
    assert all(h["event"] != "comment" for h in api("keqiao_supervisor").get(f"/cases/{case_id}").json["history"])


def test_report_information_and_audit_rights_are_checked_on_every_request(app, browser):
    admin = browser("admin")
    inspector = browser("keqiao_inspector").client
    assert inspector.get("/portal/dashboard.xlsx").status_code == 200
    set_rights(admin, user_id(app, "keqiao_inspector"), {"reports.export": "revoke"})
    for path in ("/portal/dashboard.xlsx", "/ledger/penalties/export.xlsx", "/statistics/volumes.xlsx"):
        assert inspector.get(path).status_code == 403, path
    assert inspector.get("/ledger/penalties").status_code == 200  # seeing them is another right
    set_rights(admin, user_id(app, "keqiao_inspector"), {"reports.view": "revoke", "reports.export": "default"})
    for path in ("/portal/", "/portal/dashboard.json", "/ledger/penalties", "/statistics/volumes"):
        assert inspector.get(path).status_code == 403, path
    assert inspector.get("/portal/dashboard.xlsx").status_code == 403  # exporting needs both
    assert 'id="nav-dashboard"' not in inspector.get("/").data.decode()

    supervisor = browser("keqiao_supervisor").client
    assert "/info/manage/" in supervisor.get("/").data.decode()
    set_rights(admin, user_id(app, "keqiao_supervisor"), {"info.publish": "revoke"})
    assert supervisor.get("/info/manage/").status_code == 403
    assert "/info/manage/" not in supervisor.get("/").data.decode()
    assert supervisor.get("/info/").status_code == 200  # the public site stays
    # info.publish is not the inspectors' to receive at all.
    assert 'data-right="info.publish"' not in admin.client.get(
        f"/admin/users/{user_id(app, 'keqiao_inspector')}").data.decode()

    assert 'id="nav-audit"' in admin.client.get("/").data.decode()
    set_rights(admin, user_id(app, "admin"), {"audit.view": "revoke"})
    assert admin.client.get("/admin/audit").status_code == 403
    assert 'id="nav-audit"' not in admin.client.get("/").data.decode()


def test_rights_and_account_changes_leave_audit_entries(app, browser):
    from models import AuditEntry
    from web.extensions import db

    admin = browser("admin")
    uid = user_id(app, "keqiao_inspector2")
    assert set_rights(admin, uid, {"tasks.assign": "grant"}).status_code == 303
    page = admin.client.get(f"/admin/users/{uid}")
    assert f'href="/admin/users/{uid}/reset-password"' in page.data.decode()
    assert admin.client.post(f"/admin/users/{uid}/active",
                             data={"active": "0", "csrf_token": csrf_of(page.data)}).status_code == 303
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.username == "admin",
                                                              AuditEntry.kind == "write")).all()
    done = {(e.endpoint, e.method, e.status, str((e.object_ids or {}).get("user_id"))) for e in entries}
    assert ("users_admin.save_rights", "POST", 303, str(uid)) in done
    assert ("users_admin.set_active", "POST", 303, str(uid)) in done
