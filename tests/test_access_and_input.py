"""Tenant scoping (404 for what a caller may not see) and bad input (clear 4xx, nothing half-written)."""
import io

from conftest import enterprise_id, future
from sqlalchemy import func, select

from models import Attachment, Case, Task


def open_case(app, api):
    data = {"enterprise_id": enterprise_id(app), "hazard_description": "软管老化", "hazard_class": "II",
            "deadline_at": future()}
    resp = api("keqiao_inspector").post("/cases", {"process": "rectification", "data": data})
    assert resp.status_code == 201
    return resp.json


def counts(app):
    from web.extensions import db

    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Case, Task, Attachment))


def test_an_enterprise_account_that_names_no_enterprise_sees_nothing_of_its_county(app, api):
    """An enterprise's account whose enterprise is gone from its record (a register change) still carries a
    county: it sees no case, task or warning of that county, as if it were the county's authority."""
    from models import User
    from web.extensions import db

    case = open_case(app, api)
    staff = api("kq_bottled_staff")
    assert staff.get(f"/cases/{case['id']}").status_code == 200  # its enterprise's order, seen while it names it
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "kq_bottled_staff"))
        assert user.county_id is not None
        user.enterprise_id = None
        db.session.commit()
    assert staff.get(f"/cases/{case['id']}").status_code == 404
    assert staff.get("/cases").json["items"] == [] and staff.get("/tasks").json["items"] == []


def test_each_caller_sees_only_its_area(app, api):
    case = open_case(app, api)
    task_id = next(t["id"] for t in api("kq_bottled_staff").get("/tasks").json["items"])
    for outsider in ("yuecheng_inspector", "yc_pipeline_staff"):
        other = api(outsider)
        assert other.get(f"/cases/{case['id']}").status_code == 404
        assert other.get(f"/tasks/{task_id}").status_code == 404
        assert other.post(f"/tasks/{task_id}/complete", {"data": {"response": "x"}}).status_code == 404
        assert other.post(f"/tasks/{task_id}/claim").status_code == 404
        assert other.get("/cases").json["total"] == 0
        assert other.get("/tasks?scope=all").json["total"] == 0
    assert api("admin").get(f"/cases/{case['id']}").status_code == 200
    assert api("keqiao_supervisor").get(f"/cases/{case['id']}").status_code == 200
    assert api("kq_bottled_admin").get(f"/cases/{case['id']}").status_code == 200
    assert api("kq_bottled_staff").get("/cases").json["total"] == 1
    # The enterprise does not see the authority's internal tasks of its own case.
    staff = api("kq_bottled_staff")
    staff.post(f"/tasks/{task_id}/complete", {"data": {"response": "done"}})
    assert staff.get("/tasks?scope=all").json["total"] == 0
    verify_id = next(t["id"] for t in api("keqiao_inspector").get("/tasks?scope=mine").json["items"])
    assert staff.get(f"/tasks/{verify_id}").status_code == 404


def test_unauthenticated_and_bad_tokens(app):
    client = app.test_client()
    assert client.get("/api/v1/cases").status_code == 401
    resp = client.get("/api/v1/cases", headers={"Authorization": "Bearer gf_nope"})
    assert resp.status_code == 401 and resp.json["error"]["code"] == "unauthorized"


def test_enterprise_of_another_county_and_wrong_roles_refused(app, api):
    other_county = enterprise_id(app, "越城燃气有限公司")
    data = {"enterprise_id": other_county, "hazard_description": "x", "hazard_class": "II", "deadline_at": future()}
    before = counts(app)
    resp = api("keqiao_inspector").post("/cases", {"process": "rectification", "data": data})
    assert resp.status_code == 422 and "enterprise_id" in resp.json["error"]["fields"]
    resp = api("kq_bottled_staff").post("/cases", {"process": "rectification",
                                                   "data": {**data, "enterprise_id": enterprise_id(app)}})
    assert resp.status_code in (403, 422)
    assert counts(app) == before


def test_bad_case_input_gives_field_errors_and_writes_nothing(app, api):
    inspector = api("keqiao_inspector")
    good = {"enterprise_id": enterprise_id(app), "hazard_description": "d", "hazard_class": "II",
            "deadline_at": future()}
    before = counts(app)
    bad = {
        "hazard_description": {**good, "hazard_description": ""},
        "hazard_class": {**good, "hazard_class": "IV"},
        "deadline_at": {**good, "deadline_at": "2020-01-01T08:00:00+08:00"},
        "enterprise_id": {k: v for k, v in good.items() if k != "enterprise_id"},
        "colour": {**good, "colour": "red"},
        "hazard_description ": {**good, "hazard_description": {"nested": 1}},
    }
    for field, data in bad.items():
        resp = inspector.post("/cases", {"process": "rectification", "data": data})
        assert resp.status_code == 422, (field, resp.json)
        assert field.strip() in resp.json["error"]["fields"], (field, resp.json)
    not_a_date = inspector.post("/cases", {"process": "rectification", "data": {**good, "deadline_at": "tomorrow"}})
    assert not_a_date.status_code == 422 and "deadline_at" in not_a_date.json["error"]["fields"]
    unknown = inspector.post("/cases", {"process": "nope", "data": good})
    assert unknown.status_code == 422 and "process" in unknown.json["error"]["fields"]
    malformed = inspector.client.post("/api/v1/cases", data="{not json", headers={**inspector.headers,
                                                                                "Content-Type": "application/json"})
    assert malformed.status_code == 400 and malformed.json["error"]["message"]
    assert inspector.post("/cases", ["a list"]).status_code == 422
    assert counts(app) == before


def test_bad_task_input_and_uploads(app, api):
    open_case(app, api)
    staff = api("kq_bottled_staff")
    task_id = staff.get("/tasks").json["items"][0]["id"]
    before = counts(app)
    resp = staff.post(f"/tasks/{task_id}/complete", {"data": {}})
    assert resp.status_code == 422 and "response" in resp.json["error"]["fields"]
    resp = staff.post(f"/tasks/{task_id}/complete", {"data": {"response": "x", "photos": [99999]}})
    assert resp.status_code == 422 and "photos" in resp.json["error"]["fields"]
    resp = staff.post(f"/tasks/{task_id}/complete", {"data": {"response": "x", "photos": ["abc"]}})
    assert resp.status_code == 422 and "photos" in resp.json["error"]["fields"]
    assert counts(app) == before

    big = io.BytesIO(b"\0" * (11 * 1024 * 1024))
    resp = staff.post("/attachments", data={"file": (big, "big.png", "image/png")}, content_type="multipart/form-data")
    assert resp.status_code == 413 and "file" in resp.json["error"]["fields"]
    huge = io.BytesIO(b"\0" * (26 * 1024 * 1024))
    resp = staff.post("/attachments", data={"file": (huge, "huge.png", "image/png")},
                      content_type="multipart/form-data")
    assert resp.status_code == 413
    exe = staff.post("/attachments", data={"file": (io.BytesIO(b"MZ"), "a.exe", "application/x-msdownload")},
                     content_type="multipart/form-data")
    assert exe.status_code == 422 and "file" in exe.json["error"]["fields"]
    assert counts(app) == before
    # Another user's pending upload cannot be attached.
    theirs = api("kq_bottled_admin").post("/attachments", data={"file": (io.BytesIO(b"%PDF-1.4"), "a.pdf",
                                                                         "application/pdf")},
                                          content_type="multipart/form-data").json["id"]
    resp = staff.post(f"/tasks/{task_id}/complete", {"data": {"response": "x", "photos": [theirs]}})
    assert resp.status_code == 422 and "photos" in resp.json["error"]["fields"]
    assert staff.get(f"/attachments/{theirs}").status_code == 404
    assert staff.get("/tasks").json["items"][0]["id"] == task_id  # still open


def test_completed_task_gives_409(app, api):
    open_case(app, api)
    staff = api("kq_bottled_staff")
    task_id = staff.get("/tasks").json["items"][0]["id"]
    assert staff.post(f"/tasks/{task_id}/complete", {"data": {"response": "x"}}).status_code == 200
    again = staff.post(f"/tasks/{task_id}/complete", {"data": {"response": "y"}})
    assert again.status_code == 409 and again.json["error"]["code"] == "conflict"
    assert staff.post(f"/tasks/{task_id}/claim").status_code == 409


def test_openapi_and_lists(app, api):
    spec = api("admin").get("/openapi.json").json
    assert "/api/v1/tasks/{task_id}/complete" in spec["paths"]
    assert "rectification_issue" in spec["components"]["schemas"]
    assert api("admin").get("/cases?per_page=500").status_code == 200
    assert api("admin").get("/cases?page=x").status_code == 422


def test_numbers_and_characters_the_database_cannot_hold_are_refused_not_500(api):
    admin = api("admin")
    assert admin.get("/cases/4733079411").status_code == 404  # beyond PostgreSQL's integer
    assert admin.get("/tasks/99999999999999999999999").status_code == 404
    for path in ("/cases?enterprise=%C2%B2", "/tasks?enterprise=%C2%B2", "/warnings?county=%C2%B2",
                 "/notifications?page=61913401605766936286447271936", "/cases?county=5151227402"):
        resp = admin.get(path)
        assert resp.status_code in (400, 422) and resp.json["error"], path
    nul = admin.get("/readings?sensor=a%00b")  # refused naming the parameter (issue 16)
    assert nul.status_code == 422 and list(nul.json["error"]["fields"]) == ["sensor"]
