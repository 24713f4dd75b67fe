"""The enterprise portal home (§5.5): its own open tasks, data status, warnings, inspection scores and staff
training; nothing of another enterprise."""
import re
from datetime import UTC, datetime, timedelta

from conftest import enterprise_id, future
from flows import complete, open_order, task_named
from sqlalchemy import select

KQ_BOTTLED, KQ_PIPELINE, YC_PIPELINE = "柯桥区瓶装液化气供应有限公司", "柯桥天然气有限公司", "越城燃气有限公司"



def inspect(api, app, fail: dict[int, str]):
    """A single inspection of the bottled company, scored by the model from the checklist answers."""
    from models import ChecklistTemplate
    from web.extensions import db

    with app.app_context():
        template = db.session.scalar(select(ChecklistTemplate).where(ChecklistTemplate.kind == "enterprise_safety"))
        template_id, items = template.id, template.items
    inspector = api("keqiao_inspector")
    case = inspector.post("/cases", {"process": "inspection", "data": {
        "enterprise_id": enterprise_id(app, KQ_BOTTLED), "name": "专项检查", "template_id": template_id}})
    assert case.status_code == 201, case.json
    answers = {"rectification_days": 10, "summary": "现场检查"}
    for i in range(len(items)):
        answers[f"item_{i}"] = "fail" if i in fail else "pass"
        if i in fail:
            answers[f"note_{i}"] = fail[i]
    done = complete(inspector, case.json["id"], "Task_fill", answers)
    return case.json["id"], done["data"]["score"], 100 - sum(items[i]["points"] for i in fail)


def section(html: bytes, name: str) -> bytes:
    match = re.search(rb'<section class="card" id="%s">(.*?)</section>' % name.encode(), html, re.S)
    assert match, name
    return match.group(1)


def test_home_shows_the_enterprises_own_work_and_nothing_of_others(app, api, browser):
    staff = api("kq_bottled_staff")
    mine = open_order(api, app)["id"]
    neighbour = open_order(api, app, KQ_PIPELINE, hazard="调压箱锈蚀")["id"]
    yc_order = api("yuecheng_inspector").post("/cases", {"process": "rectification", "data": {
        "enterprise_id": enterprise_id(app, YC_PIPELINE), "hazard_description": "阀门井积水", "hazard_class": "III",
        "deadline_at": future()}}).json["id"]
    my_task = task_named(staff, mine, "Task_respond")

    # Scores: two inspections, the first with a problem (which also opens an order), the second clean.
    first, first_score, expected = inspect(api, app, {5: "未投保"})
    assert first_score == expected < 100
    second, second_score, _ = inspect(api, app, {})
    assert second_score == 100

    # Data: a batch of stations waiting for the county's review.
    sent = api("kq_bottled_admin").post("/data/station", {"records": [
        {"external_id": "ST-9", "name": "新站", "station_type": "supply"}]})
    assert sent.status_code == 202, sent.json
    # A warning: the store above 55 °C.
    at = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    readings = staff.post("/readings", {"readings": [{"site": "KQ-LPG-01", "site_kind": "storage_station",
                                                      "sensor": "T-01", "quantity": "temperature", "value": 61,
                                                      "at": at}]})
    assert readings.status_code == 202 and len(readings.json["warnings_opened"]) == 1
    warning_id = readings.json["warnings_opened"][0]["id"]
    # Training, through the page.
    kq_page = browser("kq_bottled_staff")
    resp = kq_page.form_post("/training/sessions/new", {
        "name": "十月培训", "held_on": "2026-10-08", "topic": "钢瓶配送安全", "assessment": "闭卷考试",
        "roster": "张华, 送气工, 合格\n李强, 不合格"})
    assert resp.status_code == 302, resp.data[:800]
    yc_page = browser("yc_pipeline_staff")
    assert yc_page.form_post("/training/sessions/new", {
        "name": "越城培训", "held_on": "2026-10-09", "topic": "管网巡检", "assessment": "实操",
        "roster": "周丽, 合格"}).status_code == 302

    home = kq_page.client.get("/enterprise/")
    assert home.status_code == 200
    tasks = section(home.data, "open-tasks")
    orders = re.search(rb'<ul data-group="orders">(.*?)</ul>', tasks, re.S).group(1)
    assert f'data-task="{my_task["id"]}" data-case="{mine}"'.encode() in orders
    assert f'data-case="{neighbour}"'.encode() not in tasks and f'data-case="{yc_order}"'.encode() not in tasks
    # The inspection's problem became an order to answer as well.
    assert len(re.findall(rb"data-task=", orders)) == 2

    data = section(home.data, "data-status")
    assert b'data-kind="station" data-batch-status="in_review"' in data
    assert f'data-warning="{warning_id}"'.encode() in home.data

    scores = section(home.data, "score-history")
    assert re.findall(rb'data-case="(\d+)" data-score="(\d+)"', scores) == [
        (str(first).encode(), str(first_score).encode()), (str(second).encode(), b"100")]

    training = section(home.data, "staff-training")
    assert "张华".encode() in training and "李强".encode() in training and "周丽".encode() not in training

    # The other enterprise's home has none of it.
    other = yc_page.client.get("/enterprise/")
    assert other.status_code == 200
    assert f'data-case="{mine}"'.encode() not in other.data and f'data-case="{yc_order}"'.encode() in other.data
    assert "张华".encode() not in other.data and "周丽".encode() in other.data
    assert b'data-kind="station"' not in other.data and f'data-warning="{warning_id}"'.encode() not in other.data
    assert b'data-score=' not in other.data
    # Nor can it open the bottled company's home by id; the county can, the other county cannot.
    assert yc_page.client.get(f"/enterprise/{enterprise_id(app, KQ_BOTTLED)}").status_code == 404
    county = browser("keqiao_supervisor").client.get(f"/enterprise/{enterprise_id(app, KQ_BOTTLED)}")
    assert county.status_code == 200 and f'data-case="{mine}"'.encode() in county.data
    assert browser("yuecheng_inspector").client.get(
        f"/enterprise/{enterprise_id(app, KQ_BOTTLED)}").status_code == 404

    # Answered, the order leaves the enterprise's open tasks.
    complete(staff, mine, "Task_respond", {"response": "已更换报警器"})
    after = section(kq_page.client.get("/enterprise/").data, "open-tasks")
    assert f'data-case="{mine}"'.encode() not in after


def test_nav_links_the_enterprise_home_for_enterprise_roles_only(app, browser):
    assert b'id="nav-enterprise"' in browser("kq_bottled_admin").client.get("/").data
    assert b'id="nav-enterprise"' not in browser("keqiao_supervisor").client.get("/").data
    assert app.test_client().get("/enterprise/").status_code == 302  # to the sign-in page
    # The authority picks an enterprise of its area.
    picked = browser("keqiao_supervisor").client.get("/enterprise/")
    assert picked.status_code == 200
    assert f"/enterprise/{enterprise_id(app, KQ_PIPELINE)}".encode() in picked.data
    assert f"/enterprise/{enterprise_id(app, YC_PIPELINE)}".encode() not in picked.data
