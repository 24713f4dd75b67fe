"""Volume statistics (A1.9, A2.3): sums of accepted reported data, submitted through the data API and
reviewed by the county in the test; filters, scope, the Excel export and bad filter input."""
import io

from flows import task_named
from openpyxl import load_workbook
from sqlalchemy import select

from models import ROLE_COUNTY_SUPERVISOR, ROLE_ENTERPRISE_ADMIN

KEQIAO_PIPELINE, YUECHENG_PIPELINE = "柯桥天然气有限公司", "越城燃气有限公司"


def add_user(app, username, role, enterprise_name=None, county_code=None):
    """Accounts the demo lacks: a reporter of a pipeline company, a supervisor of Yuecheng."""
    from models import Enterprise, Region, User
    from web.common.security import hash_password
    from web.extensions import db

    with app.app_context():
        ent = db.session.scalar(select(Enterprise).where(Enterprise.name == enterprise_name)) if enterprise_name \
            else None
        county = ent.county_id if ent else db.session.scalar(select(Region.id).where(Region.code == county_code))
        db.session.add(User(username=username, role=role, display_name=username, county_id=county,
                            enterprise_id=ent.id if ent else None, password_hash=hash_password("not-used-here-1")))
        db.session.commit()
    return username


def report(api, reviewer, username, kind, records, accept=True):
    """Submit through the data API. Plausible operational records are official at once; the county's
    reviewer accepts every exception (or leaves them pending)."""
    resp = api(username).post(f"/data/{kind}", {"records": records})
    assert resp.status_code == 202 and not resp.json["rejected"], resp.json
    pending = sum(a["status"] == "pending" for a in resp.json["accepted"])
    if not accept:
        assert pending, resp.json
    if accept and pending:
        task = task_named(api(reviewer), resp.json["case"], "Task_review")
        decisions = {f"decision_{i + 1}": "accept" for i in range(pending)}
        done = api(reviewer).post(f"/tasks/{task['id']}/complete", {"data": decisions})
        assert done.status_code == 200, done.json
    return resp.json


def day(external_id, date, supplied, delivered, unit="kg", inbound=0):
    return {"external_id": external_id, "date": date, "station": "华舍储配站", "unit": unit, "inbound": inbound,
            "supplied": supplied, "delivered": delivered, "stock": 10}


def month(external_id, mon, **volumes):
    return {"external_id": external_id, "month": mon, **volumes}


def stats(client, query):
    resp = client.get(f"/statistics/volumes.json?{query}")
    assert resp.status_code == 200, resp.data[:300]
    return resp.json


def test_daily_and_monthly_volumes_count_accepted_data_in_scope(app, api, browser):
    add_user(app, "kq_pipeline_admin", ROLE_ENTERPRISE_ADMIN, KEQIAO_PIPELINE)
    add_user(app, "yc_pipeline_admin", ROLE_ENTERPRISE_ADMIN, YUECHENG_PIPELINE)
    add_user(app, "yuecheng_supervisor", ROLE_COUNTY_SUPERVISOR, county_code="330602")
    report(api, "keqiao_supervisor", "kq_bottled_admin", "daily_volume", [
        day("D-1", "2026-10-01", 100, 80), day("D-2", "2026-10-02", 50.5, 40), day("D-3", "2026-11-01", 7, 6)])
    # Pending data (an exception not reviewed yet: 999 supplied from a stock of 10) does not count.
    report(api, "keqiao_supervisor", "kq_bottled_admin", "daily_volume", [day("D-4", "2026-10-02", 999, 999)],
           accept=False)
    report(api, "keqiao_supervisor", "kq_pipeline_admin", "daily_volume",
           [day("P-1", "2026-10-01", 3000, 0, unit="m3")])
    report(api, "keqiao_supervisor", "kq_pipeline_admin", "monthly_supply", [
        month("M-10", "2026-10", residential=1000, industrial=2000, commercial=300, public_welfare=40, vehicle=5,
              piped=3300, non_piped=45)])
    # Another county's data moves the city's figures only.
    report(api, "yuecheng_supervisor", "yc_pipeline_admin", "daily_volume",
           [day("Y-1", "2026-10-01", 5000, 0, unit="m3")])
    report(api, "yuecheng_supervisor", "yc_pipeline_admin", "monthly_supply",
           [month("Y-10", "2026-10", residential=1, industrial=1, commercial=1, public_welfare=1, vehicle=1,
                  piped=5, non_piped=0)])

    supervisor, city = browser("keqiao_supervisor").client, browser("admin").client
    daily = stats(supervisor, "period=day&date_from=2026-10-01&date_to=2026-10-31")["daily"]
    assert daily == [
        {"period": "2026-10-01", "enterprise_kind": "bottled", "unit": "kg", "records": 1, "inbound": 0.0,
         "supplied": 100.0, "delivered": 80.0},
        {"period": "2026-10-01", "enterprise_kind": "pipeline", "unit": "m3", "records": 1, "inbound": 0.0,
         "supplied": 3000.0, "delivered": 0.0},
        {"period": "2026-10-02", "enterprise_kind": "bottled", "unit": "kg", "records": 1, "inbound": 0.0,
         "supplied": 50.5, "delivered": 40.0}]

    monthly = stats(supervisor, "period=month")
    bottled = {r["period"]: r for r in monthly["daily"] if r["enterprise_kind"] == "bottled"}
    assert bottled["2026-10"]["supplied"] == 150.5 and bottled["2026-10"]["records"] == 2
    assert bottled["2026-11"]["delivered"] == 6.0
    assert monthly["categories"] == [{"period": "2026-10", "records": 1, "residential": 1000.0,
                                      "industrial": 2000.0, "commercial": 300.0, "public_welfare": 40.0,
                                      "vehicle": 5.0, "piped": 3300.0, "non_piped": 45.0}]

    city_month = stats(city, "period=month&date_from=2026-10-01&date_to=2026-10-31")
    assert city_month["categories"][0]["residential"] == 1001.0
    pipeline_m3 = [r for r in city_month["daily"] if r["enterprise_kind"] == "pipeline"]
    assert pipeline_m3[0]["supplied"] == 8000.0

    # County and enterprise filters narrow the city's view.
    from conftest import enterprise_id

    yuecheng = _county_id(app, "330602")
    only_yc = stats(city, f"period=month&county={yuecheng}")
    assert [r["supplied"] for r in only_yc["daily"]] == [5000.0]
    bottled_id = enterprise_id(app)
    only_bottled = stats(supervisor, f"period=day&enterprise={bottled_id}")
    assert {r["enterprise_kind"] for r in only_bottled["daily"]} == {"bottled"} and len(only_bottled["daily"]) == 3

    # The page shows the same table; the export carries it with Chinese headers, in the caller's scope.
    page = supervisor.get("/statistics/volumes?period=month")
    shown = page.data.decode()
    assert page.status_code == 200 and "3,300" in shown and "3300.0" not in shown and 'id="stats-chart"' in shown
    resp = supervisor.get("/statistics/volumes.xlsx?period=month")
    assert resp.status_code == 200 and resp.headers["Content-Disposition"].startswith("attachment")
    book = load_workbook(io.BytesIO(resp.data))
    rows = list(book["供气与送气量"].iter_rows(values_only=True))
    assert rows[0] == ("月份", "企业类型", "计量单位", "记录数", "入库量", "供气量", "送气量")
    assert sum(r[5] for r in rows[1:]) == 150.5 + 7 + 3000  # no Yuecheng volumes
    cats = list(book["分类供气量"].iter_rows(values_only=True))
    assert cats[0][:4] == ("月份", "记录数", "居民(m³)", "工业(m³)") and cats[1][2] == 1000.0
    city_book = load_workbook(io.BytesIO(city.get("/statistics/volumes.xlsx?period=day").data))
    assert sum(r[5] for r in list(city_book.active.iter_rows(values_only=True))[1:]) == 150.5 + 7 + 3000 + 5000


def _county_id(app, code):
    from models import Region
    from web.extensions import db

    with app.app_context():
        return db.session.scalar(select(Region.id).where(Region.code == code))


def test_bad_filters_are_named_never_a_500(app, browser):
    supervisor = browser("keqiao_supervisor").client
    yuecheng = _county_id(app, "330602")
    cases = {"date_from=2026-13-01": "date_from", "date_to=yesterday": "date_to",
             "date_from=2026-10-02&date_to=2026-10-01": "date_to", f"county={yuecheng}": "county",
             "county=999999": "county", "county=abc": "county", "enterprise=99999999999": "enterprise",
             "period=week": "period"}
    for query, field in cases.items():
        resp = supervisor.get(f"/statistics/volumes.json?{query}")
        assert resp.status_code == 400, query
        assert field in resp.json["error"]["fields"], (query, resp.json)
        assert supervisor.get(f"/statistics/volumes.xlsx?{query}").status_code == 400
        page = supervisor.get(f"/statistics/volumes?{query}")
        assert page.status_code == 400 and 'id="filter-errors"' in page.data.decode(), query
        assert field in page.data.decode()


def test_enterprise_users_are_refused(app, browser):
    staff = browser("kq_bottled_admin").client
    for path in ("/statistics/volumes", "/statistics/volumes.json", "/statistics/volumes.xlsx"):
        assert staff.get(path).status_code == 403
