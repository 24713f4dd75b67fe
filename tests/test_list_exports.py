"""Excel exports of the case list, the warning list and the training records and statistics: Chinese
headers, the page's filters, the caller's scope; made from data created through the API and the forms."""
import io
from datetime import UTC, date, datetime, timedelta

from flows import open_order
from openpyxl import load_workbook

YUECHENG_PIPELINE = "越城燃气有限公司"


def sheet(resp) -> tuple[list, list[list]]:
    assert resp.status_code == 200, resp.data[:300]
    assert resp.headers["Content-Disposition"].startswith("attachment")
    rows = [list(r) for r in load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True)]
    return rows[0], rows[1:]



def test_case_list_exports_in_scope_with_its_filters(app, api, browser):
    keqiao = open_order(api, app, hazard="报警器失效")["id"]
    yuecheng = open_order(api, app, YUECHENG_PIPELINE, hazard="阀门锈蚀", inspector="yuecheng_inspector")["id"]

    headers, rows = sheet(browser("admin").client.get("/cases/export.xlsx"))
    assert headers[:6] == ["案卷编号", "流程", "标题", "县(区)", "企业", "状态"]
    by_id = {r[0]: r for r in rows}
    assert {keqiao, yuecheng} <= set(by_id)
    assert by_id[keqiao][3] == "柯桥区" and by_id[keqiao][4] == "柯桥区瓶装液化气供应有限公司"
    assert by_id[keqiao][5] == "办理中" and by_id[keqiao][1].startswith("整改") and by_id[keqiao][7] is None
    assert by_id[yuecheng][3] == "越城区"

    _, county = sheet(browser("keqiao_supervisor").client.get("/cases/export.xlsx"))
    assert keqiao in [r[0] for r in county] and yuecheng not in [r[0] for r in county]
    assert {r[3] for r in county} == {"柯桥区"}

    _, own = sheet(browser("kq_bottled_staff").client.get("/cases/export.xlsx"))
    assert {r[4] for r in own} == {"柯桥区瓶装液化气供应有限公司"} and keqiao in [r[0] for r in own]

    _, found = sheet(browser("admin").client.get("/cases/export.xlsx?q=越城燃气"))
    assert [r[0] for r in found] == [yuecheng]
    _, none = sheet(browser("admin").client.get("/cases/export.xlsx?status=completed&q=越城燃气"))
    assert none == []


def readings(api, user, site, value):
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    batch = [{"site": site, "site_kind": "storage_station", "sensor": "GAS-01", "quantity": "gas_concentration",
              "value": value, "at": (t0 + timedelta(minutes=i)).isoformat()} for i in range(3)]
    resp = api(user).post("/readings", {"readings": batch})
    assert resp.status_code == 202 and resp.json["rejected"] == [], resp.json


def test_warning_list_exports_in_scope_and_refuses_a_bad_filter(app, api, browser):
    readings(api, "kq_bottled_staff", "KQ-LPG-01", 13)   # a level 2 warning in Keqiao
    readings(api, "yc_pipeline_staff", "YC-GATE-01", 13)  # and one in Yuecheng

    headers, rows = sheet(browser("admin").client.get("/warnings/export.xlsx?status=all"))
    assert headers[:5] == ["预警编号", "级别", "类别", "企业", "县(区)"]
    assert sorted(r[4] for r in rows) == ["柯桥区", "越城区"]
    assert [(r[1], r[2], r[10], r[8]) for r in rows] == [("二级", "站点", "进行中", 13)] * 2

    _, county = sheet(browser("keqiao_supervisor").client.get("/warnings/export.xlsx?status=all"))
    assert [r[4] for r in county] == ["柯桥区"] and county[0][5] == "KQ-LPG-01"

    bad = browser("admin").client.get("/warnings/export.xlsx?level=9")
    assert bad.status_code == 400 and "level" in bad.json["error"]["fields"]


def test_training_records_and_statistics_export(app, browser):
    staff = browser("kq_bottled_staff")
    page = "/training/sessions/new"
    resp = staff.form_post(page, {"name": "2026年第四季度安全培训", "held_on": date.today().isoformat(),
                                  "topic": "液化气钢瓶充装安全", "trainer": "王工", "assessment": "笔试",
                                  "roster": "张三, 合格\n李四, 不合格\n王五, 合格"})
    assert resp.status_code == 302, resp.data[:500]

    headers, rows = sheet(staff.client.get("/training/export.xlsx"))
    assert headers[:4] == ["编号", "企业", "培训日期", "培训名称"]
    assert [(r[1], r[3], r[7], r[8]) for r in rows] == [
        ("柯桥区瓶装液化气供应有限公司", "2026年第四季度安全培训", 3, 2)]

    _, other = sheet(browser("yc_pipeline_staff").client.get("/training/export.xlsx"))
    assert other == []

    headers, stats = sheet(browser("keqiao_supervisor").client.get("/training/stats/export.xlsx?group=enterprise"))
    assert headers == ["企业", "培训场次", "参训人次", "合格人次", "合格率(%)"]
    assert stats == [["柯桥区瓶装液化气供应有限公司", 1, 3, 2, 66.7]]

    assert browser("kq_bottled_staff").client.get("/training/stats/export.xlsx").status_code == 403
    bad = browser("admin").client.get("/training/stats/export.xlsx?date_from=not-a-date")
    assert bad.status_code == 400 and "date_from" in bad.json["error"]["fields"]
