"""The authorities' dashboard (§5.5, A5.2): every figure follows cases driven through the API and the
engine in the test; a county sees its own county only; the export is the same figures in Chinese."""
import io
import os
import shutil
from datetime import UTC, datetime, timedelta

import pytest
from conftest import CHROMIUM_ARGS, enterprise_id, future, keep_screenshot, sign_in_form, sign_in_page
from flows import ACCEPT, children, complete, open_order
from openpyxl import load_workbook
from sqlalchemy import select

KEQIAO_BOTTLED, KEQIAO_PIPELINE = "柯桥区瓶装液化气供应有限公司", "柯桥天然气有限公司"
YUECHENG_PIPELINE = "越城燃气有限公司"
CHROMIUM = "/usr/bin/chromium"


def template(app):
    from models import ChecklistTemplate
    from web.extensions import db

    with app.app_context():
        t = db.session.scalar(select(ChecklistTemplate).where(ChecklistTemplate.kind == "lpg_station"))
        return t.id, t.items


def answers(items, fail=()):
    out = {"rectification_days": 10, "summary": "现场检查"}
    for i in range(len(items)):
        out[f"item_{i}"] = "fail" if i in fail else "pass"
    return out


def inspect(api, app, inspector, enterprise, fail=()):
    template_id, items = template(app)
    resp = api(inspector).post("/cases", {"process": "inspection", "data": {
        "enterprise_id": enterprise_id(app, enterprise), "name": "专项检查", "template_id": template_id}})
    assert resp.status_code == 201, resp.json
    return complete(api(inspector), resp.json["id"], "Task_fill", answers(items, fail))


def figures(client):
    resp = client.get("/portal/dashboard.json")
    assert resp.status_code == 200, resp.data[:300]
    return resp.json


def open_of(figs, process):
    return sum(r["open"] for r in figs["open_cases"] if r["process"] == process)


def overdue_of(figs, process):
    return sum(r["overdue"] for r in figs["open_cases"] if r["process"] == process)


def test_figures_follow_the_cases_of_the_county(app, api, browser, engine):
    supervisor, city = browser("keqiao_supervisor").client, browser("admin").client
    before, city_before = figures(supervisor), figures(city)
    assert before["enterprises"] == {"bottled": 1, "pipeline": 1, "vehicle": 1}
    assert city_before["enterprises"] == {"bottled": 4, "pipeline": 5, "vehicle": 3}
    assert before["inspections"]["total"]["enterprises"] == 3

    # Items 0 (class I) and 3 (class II) fail at the bottled company; the pipeline company is clean.
    _tid, items = template(app)
    assert items[0]["problem_class"] == "I" and items[3]["problem_class"] == "II"
    first = inspect(api, app, "keqiao_inspector", KEQIAO_BOTTLED, fail=(0, 3))
    assert first["data"]["qualified"] is False
    inspect(api, app, "keqiao_inspector", KEQIAO_PIPELINE)
    orders = children(api("keqiao_inspector"), first["id"], "rectification")
    assert len(orders) == 2

    # One order answered and accepted in time; the other misses its deadline, is extended, then accepted.
    staff, inspector = api("kq_bottled_staff"), api("keqiao_inspector")
    complete(staff, orders[0], "Task_respond", {"response": "已整改"})
    complete(inspector, orders[0], "Task_verify", ACCEPT)
    assert engine.run_due_timers(datetime.now(UTC) + timedelta(days=11)) == 1
    complete(api("keqiao_supervisor"), orders[1], "Task_escalate", {"action": "extend", "deadline_at": future()})
    complete(staff, orders[1], "Task_respond", {"response": "已整改"})
    complete(inspector, orders[1], "Task_verify", ACCEPT)

    # A fine proposed for the pipeline company, and an open order whose deadline will pass.
    pen = api("keqiao_inspector").post("/cases", {"process": "penalty", "data": {
        "enterprise_id": enterprise_id(app, KEQIAO_PIPELINE), "source": "complaint", "facts": "无证供气"}})
    assert pen.status_code == 201, pen.json
    complete(api("keqiao_supervisor"), pen.json["id"], "Task_file_approve", {"filing_decision": "approve"})
    complete(inspector, pen.json["id"], "Task_investigate", {"findings": "查实", "evidence_list": "检查笔录"})
    complete(inspector, pen.json["id"], "Task_propose", {"penalty_type": "fine", "amount": 12000, "listed": False,
                                                         "legal_basis": "《城镇燃气管理条例》"})
    late = inspector.post("/cases", {"process": "rectification", "data": {
        "enterprise_id": enterprise_id(app, KEQIAO_PIPELINE), "hazard_description": "调压箱锈蚀",
        "hazard_class": "III", "deadline_at": future(24)}})
    assert late.status_code == 201, late.json

    # Another county's inspection and penalty move the city's figures, not Keqiao's.
    inspect(api, app, "yuecheng_inspector", YUECHENG_PIPELINE, fail=(0,))
    other = api("yuecheng_inspector").post("/cases", {"process": "penalty", "data": {
        "enterprise_id": enterprise_id(app, YUECHENG_PIPELINE), "source": "other", "facts": "越城"}})
    complete(api(county_head(app, "yuecheng_inspector")), other.json["id"], "Task_file_approve",
             {"filing_decision": "approve"})
    complete(api("yuecheng_inspector"), other.json["id"], "Task_investigate", {"findings": "查实",
                                                                             "evidence_list": "检查笔录"})
    complete(api("yuecheng_inspector"), other.json["id"], "Task_propose",
             {"penalty_type": "fine", "amount": 500, "listed": False, "legal_basis": "条例"})

    after = figures(supervisor)
    bottled, pipeline = after["inspections"]["bottled"], after["inspections"]["pipeline"]
    assert bottled == {"enterprises": 1, "inspected": 1, "qualified": 0, "class_I": 1, "class_II": 1, "class_III": 0}
    assert pipeline == {"enterprises": 1, "inspected": 1, "qualified": 1, "class_I": 0, "class_II": 0, "class_III": 0}
    assert after["inspections"]["total"]["inspected"] == 2 and after["inspections"]["total"]["class_I"] == 1
    assert after["rectification"] == {"closed": 2, "on_time": 1, "rate": 0.5}
    assert after["penalties"] == [{"penalty_type": "fine", "count": 1, "amount": 12000.0, "completed": 0,
                                   "paid": 0.0}]
    assert open_of(after, "penalty") == open_of(before, "penalty") + 1
    assert open_of(after, "rectification") == open_of(before, "rectification") + 1
    assert {r["county"] for r in after["open_cases"]} == {"柯桥区"}
    assert overdue_of(after, "rectification") == 0

    # The city sees both counties; the Yuecheng inspection had a class I problem too.
    city_after = figures(city)
    assert city_after["inspections"]["total"]["inspected"] == 3
    assert city_after["inspections"]["total"]["class_I"] == 2
    assert city_after["penalties"][0]["count"] == 2 and city_after["penalties"][0]["amount"] == 12500.0
    assert {r["county"] for r in city_after["open_cases"]} >= {"柯桥区", "越城区"}

    # Two days on, the open order's deadline has passed (its task is overdue) and the penalty's steps
    # (investigation, proposal) were done in time. A session two days idle has ended, so the supervisor
    # signs in again at that instant (with that instant's second-factor code).
    from web.demo.seed import DEMO_PASSWORD
    from workflows.engine import clock

    two_days_on = datetime.now(UTC) + timedelta(days=2)
    with clock.frozen_at(two_days_on):
        assert supervisor.get("/portal/dashboard.json").status_code == 302  # the old session has expired
        again = app.test_client()
        assert sign_in_form(again, "keqiao_supervisor", DEMO_PASSWORD, at=two_days_on).status_code == 302
        later = figures(again)
    assert overdue_of(later, "rectification") == 1


def test_warnings_by_level_in_scope(app, api, browser):
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    supervisor, yuecheng = browser("keqiao_supervisor").client, browser("yuecheng_inspector").client
    before, other_before = figures(supervisor)["warnings"], figures(yuecheng)["warnings"]
    # 12–14 %LEL of combustible gas is a level 2 warning (bpmn/threshold_rules.json).
    readings = [{"site": "KQ-LPG-01", "site_kind": "storage_station", "sensor": "GAS-01",
                 "quantity": "gas_concentration", "value": 13, "at": (t0 + timedelta(minutes=i)).isoformat()}
                for i in range(5)]
    resp = api("kq_bottled_staff").post("/readings", {"readings": readings})
    assert resp.status_code == 202 and len(resp.json["warnings_opened"]) == 1, resp.json
    after = figures(supervisor)["warnings"]
    assert after["2"] == before["2"] + 1 and after["1"] == before["1"] and after["3"] == before["3"]
    assert figures(yuecheng)["warnings"] == other_before
    assert figures(browser("admin").client)["warnings"]["2"] == after["2"]


def test_enterprise_users_are_refused_and_page_renders(app, browser):
    staff = browser("kq_bottled_staff").client
    for path in ("/portal/", "/portal/dashboard.json", "/portal/dashboard.xlsx"):
        assert staff.get(path).status_code == 403
    page = browser("keqiao_inspector").client.get("/portal/")
    assert page.status_code == 200
    html = page.data.decode()
    assert 'id="nav-dashboard"' in html and "vendor/echarts/echarts.min.js" in html and "<script>" not in html
    assert 'id="table-inspections"' in html
    assert browser("keqiao_inspector").client.get("/static/vendor/echarts/echarts.min.js").status_code == 200


def test_dashboard_export_is_in_chinese_and_in_scope(app, api, browser):
    inspect(api, app, "yuecheng_inspector", YUECHENG_PIPELINE, fail=(0,))
    resp = browser("keqiao_supervisor").client.get("/portal/dashboard.xlsx")
    assert resp.status_code == 200 and resp.headers["Content-Disposition"].startswith("attachment")
    book = load_workbook(io.BytesIO(resp.data))
    summary = list(book["考核检查汇总"].iter_rows(values_only=True))
    assert summary[0] == ("企业类型", "企业总数", "已检查", "合格", "存在Ⅰ类问题", "存在Ⅱ类问题", "存在Ⅲ类问题")
    total = summary[-1]
    assert total[0] == "合计" and total[1] == 3 and total[2] == 0  # Yuecheng's inspection is not Keqiao's
    city = load_workbook(io.BytesIO(browser("admin").client.get("/portal/dashboard.xlsx").data))
    city_total = list(city["考核检查汇总"].iter_rows(values_only=True))[-1]
    assert city_total[1] == 12 and city_total[2] == 1 and city_total[4] == 1
    kinds = [row[0] for row in list(city["企业"].iter_rows(values_only=True))[1:]]
    assert len(kinds) == 3 and next(city["企业"].iter_rows(values_only=True)) == ("企业类型", "企业数")



def open_metric(app) -> float:
    """/metrics' count of open rectification cases."""
    import re

    metrics = app.test_client().get("/metrics").get_data(as_text=True)
    found = re.search(r'^gasflow_open_cases\{process="rectification"\} (\S+)$', metrics, re.MULTILINE)
    assert found, metrics[:500]
    return float(found.group(1))


def test_a_suspended_case_is_still_open_and_never_late(app, api, browser):
    """A case a supervisor suspended is work in hand, not closed: the dashboard, its export, the map and the
    metrics still count it, as suspended; its deadline passing while it waits makes it no overdue case."""
    from workflows.engine import clock

    supervisor = browser("keqiao_supervisor").client
    before = figures(supervisor)
    order = open_order(api, app, deadline=future(0.25))
    open_before = open_metric(app)
    paused = api("keqiao_supervisor").post(f"/cases/{order['id']}/suspend", {"reason": "企业申请停业检修，暂停办理"})
    assert paused.status_code == 200, paused.json

    def counted(figs):
        rows = [r for r in figs["open_cases"] if r["process"] == "rectification" and r["county"] == "柯桥区"]
        return [(r["open"], r["suspended"], r["overdue"]) for r in rows]

    [(was_open, was_suspended, was_late)] = counted(before) or [(0, 0, 0)]
    # Its deadline passed twenty minutes later (within the supervisor's idle limit: still signed in).
    with clock.frozen_at(datetime.now(UTC) + timedelta(minutes=20)):
        after = figures(supervisor)
        county = next(c for c in after["counties"] if c["name"] == "柯桥区")
        features = supervisor.get("/api/v1/map/features?layers=cases").json["features"]
        book = load_workbook(io.BytesIO(supervisor.get("/portal/dashboard.xlsx").data))
    assert counted(after) == [(was_open + 1, was_suspended + 1, was_late)]
    assert county["open_cases"] == next(c for c in before["counties"] if c["name"] == "柯桥区")["open_cases"] + 1
    [shown] = [f["properties"] for f in features if f["properties"]["id"] == order["id"]]
    assert shown["suspended"] is True
    sheet = list(book["在办案件"].iter_rows(values_only=True))
    assert sheet[0] == ("业务流程", "区县", "在办数", "其中暂停", "逾期数")
    assert [row[2:] for row in sheet[1:] if row[1] == "柯桥区" and row[0] == "整改"] == [
        (was_open + 1, was_suspended + 1, was_late)]
    assert open_metric(app) == open_before  # suspending it did not take it out of the open cases
    page = supervisor.get("/portal/").data.decode()
    assert "<th>已暂停</th>" in page


@pytest.mark.skipif(not shutil.which(CHROMIUM) and not os.environ.get("GASFLOW_REQUIRE_BROWSER"),
                    reason="Debian's chromium is not installed")
@pytest.mark.browser
def test_charts_and_map_draw_in_a_browser(app, demo_cases, live_server, tmp_path):
    """The page's charts and map come from static files and the JSON endpoint, under the CSP, with no
    script error; the demo's cases and volumes give them something to draw."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=CHROMIUM_ARGS)
        page = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000}).new_page()
        errors = []
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        sign_in_page(page, live_server, "keqiao_supervisor")  # password and second factor
        page.click("#nav-dashboard")
        page.wait_for_selector("#chart-cases canvas")
        page.wait_for_selector("#chart-inspections canvas")
        page.wait_for_selector("#dash-map .leaflet-interactive")  # the open cases' markers
        keep_screenshot(page, "dashboard/dashboard")
        page.set_viewport_size({"width": 390, "height": 844})  # a supervisor's phone: nothing wider than it
        page.reload()
        page.wait_for_selector("#chart-cases canvas")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        keep_screenshot(page, "dashboard/dashboard-phone")
        page.set_viewport_size({"width": 1400, "height": 1000})
        page.goto(f"{live_server}/statistics/volumes?period=month")
        page.wait_for_selector("#stats-chart canvas")
        assert page.locator("#table-volumes tbody tr").count() >= 2  # the demo's 40 days span two months
        keep_screenshot(page, "dashboard/statistics")
        page.goto(f"{live_server}/ledger/inspections")
        assert page.locator("#ledger-table tbody tr").count() == 3  # the demo campaign's three inspections
        keep_screenshot(page, "dashboard/ledger")
        browser.close()
    assert errors == []


def county_head(app, inspector: str) -> str:
    """A county supervisor for the county of ``inspector`` (the demo has one for Keqiao only): the head who
    files the county's penalty cases (行政处罚法 art. 54)."""
    from sqlalchemy import select

    from models import User
    from web.extensions import db

    name = inspector.replace("inspector", "head")
    with app.app_context():
        if db.session.scalar(select(User.id).where(User.username == name)) is None:
            county = db.session.scalar(select(User.county_id).where(User.username == inspector))
            db.session.add(User(username=name, role="county_supervisor", display_name="县局负责人",
                                password_hash="-", county_id=county))
            db.session.commit()
    return name
