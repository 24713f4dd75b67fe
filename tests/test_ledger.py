"""Enforcement ledgers (A8.1–A8.4): read from the cases the test drives, searched, filtered, paged, in
scope, exported to Excel with Chinese headers; bad filters are named, never a 500."""
import io
from datetime import UTC, date, datetime, timedelta

from conftest import enterprise_id, future
from flows import ACCEPT, children, complete
from openpyxl import load_workbook
from test_dashboard import inspect

KEQIAO_BOTTLED, KEQIAO_PIPELINE = "柯桥区瓶装液化气供应有限公司", "柯桥天然气有限公司"
YUECHENG_PIPELINE = "越城燃气有限公司"


def ledger(client, key, query=""):
    resp = client.get(f"/ledger/{key}/data.json?{query}")
    assert resp.status_code == 200, resp.data[:300]
    return resp.json


def accident(api, app, username, enterprise, title, address):
    resp = api(username).post("/cases", {"process": "accident", "data": {
        "enterprise_id": enterprise_id(app, enterprise), "source": "public", "accident_type": "leak", "title": title,
        "occurred_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(), "address": address,
        "description": "泄漏", "photos": []}})
    assert resp.status_code == 201, resp.json
    return resp.json["id"]


def penalty(api, app, username, enterprise, amount, listed=False):
    resp = api(username).post("/cases", {"process": "penalty", "data": {
        "enterprise_id": enterprise_id(app, enterprise), "source": "inspection", "facts": "超期气瓶充装"}})
    assert resp.status_code == 201, resp.json
    supervisor = "keqiao_supervisor" if username.startswith("keqiao") else "admin"
    complete(api(supervisor), resp.json["id"], "Task_file_approve", {"filing_decision": "approve"})
    complete(api(username), resp.json["id"], "Task_investigate", {"findings": "查实", "evidence_list": "检查笔录"})
    complete(api(username), resp.json["id"], "Task_propose", {"penalty_type": "fine", "amount": amount,
                                                              "listed": listed, "legal_basis": "条例"})
    return resp.json["id"]


def test_ledgers_list_the_cases_in_scope(app, api, browser):
    first = inspect(api, app, "keqiao_inspector", KEQIAO_BOTTLED, fail=(0, 3))
    clean = inspect(api, app, "keqiao_inspector", KEQIAO_PIPELINE)
    other = inspect(api, app, "yuecheng_inspector", YUECHENG_PIPELINE, fail=(0,))
    orders = children(api("keqiao_inspector"), first["id"], "rectification")
    complete(api("kq_bottled_staff"), orders[0], "Task_respond", {"response": "已更换报警器"})
    complete(api("keqiao_inspector"), orders[0], "Task_verify", ACCEPT)
    fine = penalty(api, app, "keqiao_inspector", KEQIAO_BOTTLED, 30000, listed=True)
    leak = accident(api, app, "keqiao_inspector", KEQIAO_PIPELINE, "笛扬路中压管道泄漏", "柯桥区笛扬路 8 号")
    accident(api, app, "yuecheng_inspector", YUECHENG_PIPELINE, "越城区管道泄漏", "越城区解放路 1 号")

    supervisor, city = browser("keqiao_supervisor").client, browser("admin").client
    inspections = ledger(supervisor, "inspections")
    assert {i["id"] for i in inspections["items"]} == {first["id"], clean["id"]} and inspections["total"] == 2
    row = next(i for i in inspections["items"] if i["id"] == first["id"])
    assert row["enterprise"] == KEQIAO_BOTTLED and row["county"] == "柯桥区" and row["qualified"] is False
    assert row["problem_counts_I"] == 1 and row["problem_counts_II"] == 1 and row["problem_count"] == 2
    assert row["score"] == first["data"]["score"] and row["status"] == "completed"
    assert {i["id"] for i in ledger(city, "inspections")["items"]} == {first["id"], clean["id"], other["id"]}

    rect = ledger(supervisor, "rectifications")
    assert {i["id"] for i in rect["items"]} == set(orders)
    done = next(i for i in rect["items"] if i["id"] == orders[0])
    assert done["decision"] == "accept" and done["status"] == "completed" and done["overdue_count"] == 0
    assert [i["id"] for i in ledger(supervisor, "rectifications", "status=completed")["items"]] == [orders[0]]

    [pen] = ledger(supervisor, "penalties")["items"]
    assert pen["id"] == fine and pen["amount"] == 30000.0 and pen["penalty_type"] == "fine" and pen["listed"] is True

    # Text search reaches the title, the enterprise and the ledger's own text fields (here the address).
    assert [i["id"] for i in ledger(supervisor, "accidents", "q=笛扬路 8")["items"]] == [leak]
    assert [i["id"] for i in ledger(supervisor, "accidents", "q=越城区")["items"]] == []  # not Keqiao's
    assert len(ledger(city, "accidents", "q=泄漏")["items"]) == 2
    assert ledger(supervisor, "accidents", "q=100%")["total"] == 0  # % is a character, not a wildcard
    assert [i["id"] for i in ledger(city, "inspections", f"q={YUECHENG_PIPELINE}")["items"]] == [other["id"]]

    # Date range (inclusive of its last day), enterprise and county filters.
    today, tomorrow = date.today(), date.today() + timedelta(days=1)
    assert ledger(supervisor, "inspections", f"date_from={tomorrow}")["total"] == 0
    assert ledger(supervisor, "inspections", f"date_from={today - timedelta(days=1)}&date_to={today}")["total"] == 2
    assert ledger(supervisor, "inspections", f"date_to={today - timedelta(days=1)}")["total"] == 0
    by_ent = ledger(supervisor, "inspections", f"enterprise={enterprise_id(app, KEQIAO_PIPELINE)}")
    assert [i["id"] for i in by_ent["items"]] == [clean["id"]]
    yuecheng = _county(app, "330602")
    assert [i["id"] for i in ledger(city, "inspections", f"county={yuecheng}")["items"]] == [other["id"]]

    # Paging: newest first, one per page.
    p1, p2 = ledger(supervisor, "inspections", "per_page=1"), ledger(supervisor, "inspections", "per_page=1&page=2")
    assert p1["total"] == 2 and [i["id"] for i in p1["items"]] == [clean["id"]]
    assert [i["id"] for i in p2["items"]] == [first["id"]]
    page = supervisor.get("/ledger/inspections?per_page=1").data.decode()
    assert 'id="ledger-next"' in page and KEQIAO_PIPELINE in page and f'/cases/{clean["id"]}' in page

    # The export: Chinese headers, the caller's rows only, codes in Chinese words.
    resp = supervisor.get("/ledger/penalties/export.xlsx")
    assert resp.status_code == 200 and resp.headers["Content-Disposition"].startswith("attachment")
    rows = list(load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True))
    assert rows[0][:7] == ("案卷号", "标题", "企业", "区县", "立案时间", "状态", "来源")
    assert "处罚金额(元)" in rows[0] and "是否挂牌督办" in rows[0]
    assert [r[0] for r in rows[1:]] == [fine]
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["处罚金额(元)"] == 30000.0 and record["企业"] == KEQIAO_BOTTLED and record["处罚类型"] != "fine"
    city_rows = list(load_workbook(io.BytesIO(city.get("/ledger/inspections/export.xlsx").data)).active
                     .iter_rows(values_only=True))
    assert {r[0] for r in city_rows[1:]} == {first["id"], clean["id"], other["id"]}
    filtered = list(load_workbook(io.BytesIO(city.get(f"/ledger/inspections/export.xlsx?county={yuecheng}").data))
                    .active.iter_rows(values_only=True))
    assert [r[0] for r in filtered[1:]] == [other["id"]]


def _county(app, code):
    from sqlalchemy import select

    from models import Region
    from web.extensions import db

    with app.app_context():
        return db.session.scalar(select(Region.id).where(Region.code == code))


def test_bad_filters_and_strangers(app, api, browser):
    supervisor = browser("keqiao_supervisor").client
    yuecheng = _county(app, "330602")
    bad = {"date_from=2026-02-30": "date_from", "date_to=tomorrow": "date_to", "county=x1": "county",
           f"county={yuecheng}": "county", f"enterprise={enterprise_id(app, YUECHENG_PIPELINE)}": "enterprise",
           "status=lost": "status", "q=" + "长" * 101: "q"}
    for query, field in bad.items():
        resp = supervisor.get(f"/ledger/accidents/data.json?{query}")
        assert resp.status_code == 400 and field in resp.json["error"]["fields"], (query, resp.data[:200])
        assert supervisor.get(f"/ledger/accidents/export.xlsx?{query}").status_code == 400
        page = supervisor.get(f"/ledger/accidents?{query}")
        assert page.status_code == 400 and 'id="filter-errors"' in page.data.decode(), query
    assert supervisor.get("/ledger/accidents?page=abc").status_code == 200  # a bad page number is page 1
    assert supervisor.get("/ledger/nothing").status_code == 404
    assert supervisor.get("/ledger/nothing/export.xlsx").status_code == 404
    staff = browser("kq_bottled_staff").client
    for path in ("/ledger/accidents", "/ledger/accidents/data.json", "/ledger/accidents/export.xlsx"):
        assert staff.get(path).status_code == 403
    # A rectification order opened today is in today's range even late in the (UTC) day.
    resp = api("keqiao_inspector").post("/cases", {"process": "rectification", "data": {
        "enterprise_id": enterprise_id(app, KEQIAO_BOTTLED), "hazard_description": "软管老化", "hazard_class": "III",
        "deadline_at": future()}})
    assert resp.status_code == 201
    today = datetime.now(UTC).date()
    assert ledger(supervisor, "rectifications", f"date_from={today}&date_to={today}")["total"] == 1
