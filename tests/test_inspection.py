"""The inspection lifecycle (L1): an activity over several enterprises, checklists scored by the model,
problems opening rectification orders; and a single inspection started by hand."""
from datetime import UTC, date, datetime, timedelta

from conftest import enterprise_id
from flows import children, complete, end_of, task_named
from sqlalchemy import select

KEQIAO_BOTTLED, KEQIAO_PIPELINE = "柯桥区瓶装液化气供应有限公司", "柯桥天然气有限公司"


def template(app, kind="lpg_station"):
    from models import ChecklistTemplate
    from web.extensions import db

    with app.app_context():
        t = db.session.scalar(select(ChecklistTemplate).where(ChecklistTemplate.kind == kind))
        return t.id, t.items


def plan(api, app, **overrides):
    template_id, _items = template(app)
    data = {"name": "2026 年冬季燃气安全检查", "level": "county", "department": "柯桥区住建局",
            "planned_on": date.today().isoformat(), "delegated": False, "template_id": template_id,
            "enterprise_ids": [enterprise_id(app, KEQIAO_BOTTLED), enterprise_id(app, KEQIAO_PIPELINE)],
            "inspectors": ["keqiao_inspector"]}
    data.update(overrides)
    return api("keqiao_supervisor").post("/cases", {"process": "inspection_activity", "data": data})


def answers(items, fail: dict[int, str] | None = None) -> dict:
    fail = fail or {}
    out = {"rectification_days": 10, "summary": "现场检查"}
    for i in range(len(items)):
        out[f"item_{i}"] = "fail" if i in fail else ("na" if i == len(items) - 1 else "pass")
        if i in fail:
            out[f"note_{i}"] = fail[i]
    return out


def test_activity_dispatches_one_inspection_per_enterprise_to_the_named_inspectors(app, api):
    resp = plan(api, app)
    assert resp.status_code == 201, resp.json
    activity = resp.json
    assert activity["status"] == "completed" and end_of(activity) == "End_dispatched"
    supervisor, inspector, inspector2 = api("keqiao_supervisor"), api("keqiao_inspector"), api("keqiao_inspector2")
    inspections = children(supervisor, activity["id"], "inspection")
    assert len(inspections) == 2
    first = supervisor.get(f"/cases/{inspections[0]}").json
    assert first["enterprise"] == enterprise_id(app, KEQIAO_BOTTLED)
    assert first["data"]["name"] == "2026 年冬季燃气安全检查" and first["data"]["template_kind"] == "lpg_station"

    # Only the named inspector finds the checklists in the group queue; a colleague cannot take them.
    queued = {t["case_id"] for t in inspector.get("/tasks?scope=group").json["items"]}
    assert set(inspections) <= queued
    assert not {t["case_id"] for t in inspector2.get("/tasks?scope=group").json["items"]} & set(inspections)
    task = task_named(inspector2, inspections[0], "Task_fill")
    assert inspector2.post(f"/tasks/{task['id']}/claim").status_code == 403
    # Another county's inspector does not see them at all.
    assert api("yuecheng_inspector").get(f"/tasks/{task['id']}").status_code == 404


def test_checklist_is_scored_and_each_problem_opens_a_rectification(app, api):
    activity = plan(api, app).json
    inspector, staff = api("keqiao_inspector"), api("kq_bottled_staff")
    first, second = children(inspector, activity["id"], "inspection")
    _tid, items = template(app)
    task = task_named(inspector, first, "Task_fill")
    schema = inspector.get(f"/tasks/{task['id']}").json["form"]
    assert {f"item_{i}" for i in range(len(items))} <= set(schema["required"])
    assert schema["properties"]["item_0"]["enum"] == ["pass", "fail", "na"]

    missing = answers(items)
    del missing["item_2"]
    resp = inspector.post(f"/tasks/{task['id']}/complete", {"data": missing})
    assert resp.status_code == 422 and "item_2" in resp.json["error"]["fields"]
    resp = inspector.post(f"/tasks/{task['id']}/complete", {"data": {**answers(items), "rectification_days": 0}})
    assert resp.status_code == 422 and "rectification_days" in resp.json["error"]["fields"]
    resp = inspector.post(f"/tasks/{task['id']}/complete", {"data": {**answers(items), "score": 100}})
    assert resp.status_code == 422 and "score" in resp.json["error"]["fields"]  # computed, never typed

    # Item 0 is a class I problem (12 points), item 3 a class II one (6 points).
    done = complete(inspector, first, "Task_fill", answers(items, {0: "3 只过期气瓶待充装", 3: "2 名送气工无证"}))
    assert done["status"] == "completed" and end_of(done) == "End_problems"
    data = done["data"]
    assert data["score"] == 100 - items[0]["points"] - items[3]["points"]
    assert data["problem_counts"] == {"I": 1, "II": 1, "III": 0} and data["qualified"] is False

    orders = children(inspector, first, "rectification")
    assert len(orders) == 2
    order = staff.get(f"/cases/{orders[0]}").json
    assert order["data"]["hazard_class"] == "I" and "3 只过期气瓶待充装" in order["data"]["hazard_description"]
    due = datetime.fromisoformat(order["data"]["deadline_at"])
    # The plan's 10 days are cut to the class I period (rectification_period.dmn: 24 hours).
    assert timedelta(hours=23) < due - datetime.now(UTC) <= timedelta(hours=24)
    # The enterprise answers; the verification goes to the inspector who found the problem.
    complete(staff, orders[0], "Task_respond", {"response": "已停止充装过期气瓶并送检"})
    assert task_named(inspector, orders[0], "Task_verify")["assignee"] == "keqiao_inspector"

    clean = complete(inspector, second, "Task_fill", answers(items))
    assert end_of(clean) == "End_clean" and clean["data"]["score"] == 100 and clean["data"]["qualified"] is True
    assert children(inspector, second) == []


def test_plan_input_is_checked(app, api):
    resp = plan(api, app, delegated=True)
    assert resp.status_code == 422 and "delegate_unit" in resp.json["error"]["fields"]
    other_county = enterprise_id(app, "越城燃气有限公司")
    resp = plan(api, app, enterprise_ids=[other_county])
    assert resp.status_code == 422 and "enterprise_ids" in resp.json["error"]["fields"]
    resp = plan(api, app, inspectors=["yuecheng_inspector"])
    assert resp.status_code == 422 and "inspectors" in resp.json["error"]["fields"]
    resp = plan(api, app, template_id=999999)
    assert resp.status_code == 422 and "template_id" in resp.json["error"]["fields"]
    # Inspectors inspect; they do not plan activities, and are told so before any field is checked.
    resp = api("keqiao_inspector").post("/cases", {"process": "inspection_activity", "data": {}})
    assert resp.status_code == 403


def test_single_inspection_started_by_an_inspector_is_theirs(app, api):
    template_id, items = template(app, "enterprise_safety")
    inspector = api("keqiao_inspector")
    resp = inspector.post("/cases", {"process": "inspection", "data": {
        "enterprise_id": enterprise_id(app, KEQIAO_PIPELINE), "name": "专项检查", "template_id": template_id}})
    assert resp.status_code == 201, resp.json
    task = task_named(inspector, resp.json["id"], "Task_fill")
    assert task["assignee"] == "keqiao_inspector"
    done = complete(inspector, resp.json["id"], "Task_fill", answers(items, {5: "未投保"}))
    assert done["data"]["problem_counts"] == {"I": 0, "II": 0, "III": 1} and done["data"]["qualified"] is True
    assert len(children(inspector, resp.json["id"], "rectification")) == 1


def test_checklist_page_shows_one_question_per_template_item_and_takes_answers(app, api, browser):
    activity = plan(api, app).json
    (first, _second) = children(api("keqiao_inspector"), activity["id"], "inspection")
    task = task_named(api("keqiao_inspector"), first, "Task_fill")
    _tid, items = template(app)
    page = browser("keqiao_inspector")
    html = page.client.get(f"/tasks/{task['id']}").data.decode()
    for i, item in enumerate(items):
        assert f'name="item_{i}"' in html and item["code"] in html
    form = {f"item_{i}": "pass" for i in range(len(items))}
    form.update({"rectification_days": "10", "item_1": "fail", "note_1": "追溯系统离线"})
    del form["item_2"]
    resp = page.form_post(f"/tasks/{task['id']}", form)
    assert resp.status_code == 422  # re-shown, the missing answer marked
    html = resp.data.decode()
    marked = html[html.index('id="field-item_2"'):html.index('id="field-note_2"')]
    assert 'class="errors"' in marked
    form["item_2"] = "na"
    resp = page.form_post(f"/tasks/{task['id']}", form)
    assert resp.status_code == 302, resp.data[:300]
    done = api("keqiao_inspector").get(f"/cases/{first}").json
    assert done["data"]["problem_counts"]["II"] == 1 and len(children(api("keqiao_inspector"), first)) == 1
