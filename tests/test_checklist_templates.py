"""Checklist templates (A5.1) managed by the city admin: versions from .xlsx and .json uploads, downloads
that upload again unchanged, every bad row reported at once, the API, access, and what inspections copy."""
import io
import json
import re
from datetime import date

from conftest import enterprise_id
from flows import children, complete, task_named
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

KEQIAO_BOTTLED = "柯桥区瓶装液化气供应有限公司"
NEW_ITEMS = [
    {"code": "LPG-N1", "text": "充装前逐瓶检查并记录", "points": 15, "problem_class": "I"},
    {"code": "LPG-N2", "text": "气瓶追溯标签完整", "points": 10, "problem_class": "II"},
    {"code": "LPG-N3", "text": "消防器材在有效期内", "points": 5, "problem_class": "III"},
]


def xlsx(rows, header=("编号", "检查内容", "分值", "问题类别")) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def rows_of(items):
    return [(i["code"], i["text"], i["points"], i["problem_class"]) for i in items]


def stored(app, kind="lpg_station"):
    from models import ChecklistTemplate
    from web.extensions import db

    with app.app_context():
        rows = db.session.scalars(select(ChecklistTemplate).where(ChecklistTemplate.kind == kind)
                                  .order_by(ChecklistTemplate.version)).all()
        return [(t.version, t.active, t.name, t.items) for t in rows]


def upload(b, content: bytes, filename: str, page="/admin/templates", **fields):
    back = page.rsplit("/", 1)[-1] if page != "/admin/templates" else ""
    return b.form_post("/admin/templates/upload", {"file": (io.BytesIO(content), filename), "back": back, **fields},
                       page_path=page)


def test_admin_uploads_an_xlsx_as_the_next_version(app, browser):
    admin = browser("admin")
    v1 = stored(app)
    assert [(v, active) for v, active, _n, _i in v1] == [(1, True)]
    # Class written the three accepted ways; points typed as text; a blank row in between is skipped.
    rows = [("LPG-N1", "充装前逐瓶检查并记录", 15, "Ⅰ"), (None, None, None, None),
            ("LPG-N2", " 气瓶追溯标签完整 ", "10", 2), ("LPG-N3", "消防器材在有效期内", 5.0, "iii")]
    resp = upload(admin, xlsx(rows), "新表.xlsx", kind="lpg_station", name="LPG 场站检查表（2026）")
    assert resp.status_code == 303, resp.data.decode()[:2000]
    assert resp.headers["Location"].endswith("/admin/templates/lpg_station")
    versions = stored(app)
    assert [(v, active) for v, active, _n, _i in versions] == [(1, False), (2, True)]
    assert versions[1][2] == "LPG 场站检查表（2026）" and versions[1][3] == NEW_ITEMS
    assert versions[0][3] == v1[0][3]  # the old version is kept as it was

    html = admin.client.get(resp.headers["Location"]).data.decode()
    assert "新表.xlsx" in html  # the flash
    assert re.findall(r'<tr data-code="([^"]+)">', html) == ["LPG-N1", "LPG-N2", "LPG-N3"]
    assert re.findall(r'<tr data-version="(\d+)">', html) == ["2", "1"]
    old = admin.client.get("/admin/templates/lpg_station?version=1").data.decode()
    assert re.findall(r'<tr data-code="([^"]+)">', old) == [i["code"] for i in v1[0][3]]

    index = admin.client.get("/admin/templates").data.decode()
    row = re.search(r'<tr data-kind="lpg_station">(.*?)</tr>', index, re.S).group(1)
    assert 'class="version">v2<' in row and 'class="items">3<' in row and 'class="points">30<' in row
    assert len(re.findall(r"<tr data-kind=", index)) == 7
    assert 'id="nav-templates"' in index


def test_downloads_upload_again_as_identical(app, browser):
    admin = browser("admin")
    page = admin.client.get("/admin/templates/user_safety").data.decode()
    xlsx_url = re.search(r'id="download-xlsx" href="([^"]+)"', page).group(1)
    json_url = re.search(r'id="download-json" href="([^"]+)"', page).group(1)
    got_xlsx, got_json = admin.client.get(xlsx_url), admin.client.get(json_url)
    assert got_xlsx.status_code == 200 and "user_safety-v1.xlsx" in got_xlsx.headers["Content-Disposition"]
    assert got_json.json["items"] == stored(app, "user_safety")[0][3] and got_json.json["version"] == 1
    sheet = load_workbook(io.BytesIO(got_xlsx.data)).active
    assert [c.value for c in sheet[1]] == ["编号", "检查内容", "分值", "问题类别"]

    for content, filename in ((got_xlsx.data, "user_safety-v1.xlsx"), (got_json.data, "user_safety-v1.json")):
        # From the index page with no kind or name chosen: both come from the file.
        resp = upload(admin, content, filename)
        assert resp.status_code == 303, resp.data.decode()[:2000]
        assert resp.headers["Location"].endswith("/admin/templates/user_safety")
        assert filename in admin.client.get(resp.headers["Location"]).data.decode()  # the flash
    assert len(stored(app, "user_safety")) == 1

    # English headers, columns in another order, are a valid upload too; a changed row is a new version.
    items = stored(app, "user_safety")[0][3]
    rows = [(i["problem_class"], i["points"], i["text"], i["code"]) for i in items]
    rows[0] = (rows[0][0], 7, rows[0][2], rows[0][3])
    resp = upload(admin, xlsx(rows, ("problem_class", "points", "text", "code")), "us.xlsx",
                  page="/admin/templates/user_safety", kind="user_safety")
    assert resp.status_code == 303
    assert [v for v, *_ in stored(app, "user_safety")] == [1, 2] and stored(app, "user_safety")[1][3][0]["points"] == 7


def test_identical_upload_says_so(app, browser):
    admin = browser("admin")
    admin.client.get("/locale/en")
    items = stored(app, "cng_station")[0][3]
    resp = upload(admin, xlsx(rows_of(items)), "cng.xlsx", page="/admin/templates/cng_station", kind="cng_station")
    assert resp.status_code == 303
    shown = admin.client.get(resp.headers["Location"]).data.decode()
    assert "cng.xlsx is identical to version 1; nothing changed." in shown
    assert len(stored(app, "cng_station")) == 1


def test_bad_rows_are_all_reported_and_nothing_is_stored(app, browser):
    admin = browser("admin")
    before = stored(app)
    rows = [("A-1", "正常的一行", 5, "I"),
            ("A-2", "分值过大", 101, "II"),            # sheet row 3
            ("A-1", "", "五", "IV"),                   # row 4: duplicate code, empty text, points, class
            ("X" * 33, "t" * 501, -1, None)]           # row 5
    resp = upload(admin, xlsx(rows), "bad.xlsx", page="/admin/templates/lpg_station", kind="lpg_station")
    assert resp.status_code == 422
    html = resp.data.decode()
    errors = re.findall(r"<li>(.*?)</li>", re.search(r'id="upload-errors">(.*?)</div>', html, re.S).group(1))
    assert errors == [
        "第 3 行 分值：须为 0–100 的整数",
        "第 4 行 编号：与第 2 行重复",
        "第 4 行 检查内容：不能为空",
        "第 4 行 分值：须为 0–100 的整数",
        "第 4 行 问题类别：须为 I、II 或 III",
        "第 5 行 编号：不能超过 32 个字符",
        "第 5 行 检查内容：不能超过 500 个字符",
        "第 5 行 分值：须为 0–100 的整数",
        "第 5 行 问题类别：须为 I、II 或 III",
    ], errors
    assert 'value="lpg_station" selected' in html  # the form is shown again as it was filled
    assert stored(app) == before

    too_many = [(f"C-{n}", "检查项", 1, "III") for n in range(301)]
    for content, name, message in (
            (xlsx(too_many), "many.xlsx", "最多 300 个检查项"),
            (xlsx([]), "empty.xlsx", "至少需要一行"),
            (xlsx(rows_of(NEW_ITEMS), ("编号", "内容", "分值", "类别")), "hdr.xlsx", "缺少：检查内容, 问题类别"),
            (b"not a zip", "broken.xlsx", "无法作为 Excel"),
            (b"{", "broken.json", "不是有效的 JSON"),
            (b"a,b", "x.csv", "只接受 .xlsx")):
        resp = upload(admin, content, name, kind="lpg_station")
        assert resp.status_code == 422 and message in resp.data.decode(), (name, resp.data.decode()[-3000:])
    assert stored(app) == before


def test_only_the_city_admin_manages_templates(app, browser, api):
    for username in ("keqiao_inspector", "keqiao_supervisor", "kq_bottled_staff"):
        b = browser(username)
        assert b.client.get("/admin/templates").status_code == 403
        assert b.client.get("/admin/templates/lpg_station/1/checklist.xlsx").status_code == 403
        page = b.client.get("/cases")
        assert 'id="nav-templates"' not in page.data.decode()
        resp = b.form_post("/admin/templates/upload", {"file": (io.BytesIO(xlsx(rows_of(NEW_ITEMS))), "a.xlsx"),
                                                       "kind": "lpg_station"}, page_path="/cases")
        assert resp.status_code == 403
        resp = api(username).post("/checklist-templates/lpg_station", {"name": "x", "items": NEW_ITEMS})
        assert resp.status_code == 403
    assert app.test_client().get("/admin/templates").status_code == 302  # to the sign-in page
    assert len(stored(app)) == 1


def test_api_lists_reads_and_uploads_versions(app, api):
    admin, inspector = api("admin"), api("keqiao_inspector")
    listed = inspector.get("/checklist-templates").json
    assert [t["kind"] for t in listed] == ["enterprise_safety", "user_safety", "high_pressure", "medium_low_pressure",
                                           "cng_station", "lng_station", "lpg_station"]
    assert all(t["version"] == 1 and t["items"] and t["item_count"] == len(t["items"]) for t in listed)

    resp = admin.post("/checklist-templates/lpg_station", {"name": "LPG 场站检查表 2026", "items": NEW_ITEMS})
    assert resp.status_code == 201, resp.json
    assert resp.json["version"] == 2 and resp.json["created"] is True and resp.json["items"] == NEW_ITEMS
    assert resp.json["total_points"] == 30 and [v["version"] for v in resp.json["versions"]] == [2, 1]
    again = admin.post("/checklist-templates/lpg_station", {"name": "LPG 场站检查表 2026", "items": NEW_ITEMS})
    assert again.status_code == 200 and again.json["created"] is False and again.json["version"] == 2
    # Without a name the kind keeps its current one: the same items are still identical.
    assert admin.post("/checklist-templates/lpg_station", {"items": NEW_ITEMS}).status_code == 200

    got = inspector.get("/checklist-templates/lpg_station").json
    assert got["version"] == 2 and got["latest"] == 2 and got["active"] is True
    assert [(v["version"], v["active"]) for v in got["versions"]] == [(2, True), (1, False)]
    assert inspector.get("/checklist-templates/lpg_station?version=1").json["version"] == 1
    assert inspector.get("/checklist-templates/lpg_station?version=9").status_code == 404
    assert inspector.get("/checklist-templates/no_such").status_code == 404
    assert admin.post("/checklist-templates/no_such", {"items": NEW_ITEMS}).status_code == 404

    bad = [dict(NEW_ITEMS[0]), dict(NEW_ITEMS[1], code=""), dict(NEW_ITEMS[2], points=1.5, problem_class="IV"), "x"]
    resp = admin.post("/checklist-templates/lpg_station", {"items": bad})
    assert resp.status_code == 422
    fields = resp.json["error"]["fields"]
    assert set(fields) == {"items[1].code", "items[2].points", "items[2].problem_class", "items[3]"}
    assert fields["items[2].points"] == ["第 3 行 分值：须为 0–100 的整数"]
    assert admin.post("/checklist-templates/lpg_station", {"items": []}).json["error"]["fields"].keys() == {"items"}
    resp = admin.post("/checklist-templates/lpg_station", {"kind": "cng_station", "items": NEW_ITEMS})
    assert resp.status_code == 422 and "kind" in resp.json["error"]["fields"]

    # Multipart: an .xlsx with a name field.
    changed = rows_of(NEW_ITEMS) + [("LPG-N4", "钢瓶检验合格", 20, "II")]
    resp = admin.client.post("/api/v1/checklist-templates/lpg_station", headers=admin.headers,
                             data={"file": (io.BytesIO(xlsx(changed)), "lpg.xlsx"), "name": "LPG v3"},
                             content_type="multipart/form-data")
    assert resp.status_code == 201 and resp.json["version"] == 3 and resp.json["name"] == "LPG v3"
    assert resp.json["items"][-1] == {"code": "LPG-N4", "text": "钢瓶检验合格", "points": 20, "problem_class": "II"}
    resp = admin.client.post("/api/v1/checklist-templates/lpg_station", headers=admin.headers,
                             data={"file": (io.BytesIO(xlsx([("Z", "", 5, "I")])), "lpg.xlsx")},
                             content_type="multipart/form-data")
    assert resp.status_code == 422 and resp.json["error"]["fields"] == {"items[0].text": ["第 2 行 检查内容：不能为空"]}
    assert [v for v, *_ in stored(app)] == [1, 2, 3]

    paths = inspector.get("/openapi.json").json["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/checklist-templates/{kind}"])
    assert "A5.1" in paths["/api/v1/checklist-templates"]["get"]["summary"]


def _plan(api, app, template_id):
    data = {"name": "模板版本检查", "level": "county", "department": "柯桥区住建局",
            "planned_on": date.today().isoformat(), "delegated": False, "template_id": template_id,
            "enterprise_ids": [enterprise_id(app, KEQIAO_BOTTLED)], "inspectors": ["keqiao_inspector"]}
    return api("keqiao_supervisor").post("/cases", {"process": "inspection_activity", "data": data})


def _template_id(app, kind, version):
    from models import ChecklistTemplate
    from web.extensions import db

    with app.app_context():
        return db.session.scalar(select(ChecklistTemplate.id).where(ChecklistTemplate.kind == kind,
                                                                    ChecklistTemplate.version == version))


def test_new_plans_copy_the_new_version_while_started_inspections_keep_theirs(app, api, browser):
    inspector = api("keqiao_inspector")
    old_items = stored(app)[0][3]
    before = _plan(api, app, _template_id(app, "lpg_station", 1))
    assert before.status_code == 201, before.json
    (started,) = children(inspector, before.json["id"], "inspection")

    admin = browser("admin")
    resp = upload(admin, json.dumps({"items": NEW_ITEMS}).encode(), "lpg.json", page="/admin/templates/lpg_station",
                  kind="lpg_station")
    assert resp.status_code == 303

    # The plan form now offers v2 only.
    stale = _plan(api, app, _template_id(app, "lpg_station", 1))
    assert stale.status_code == 422 and "template_id" in stale.json["error"]["fields"]
    after = _plan(api, app, _template_id(app, "lpg_station", 2))
    assert after.status_code == 201, after.json
    (fresh,) = children(inspector, after.json["id"], "inspection")
    fresh_data = inspector.get(f"/cases/{fresh}").json["data"]
    assert fresh_data["checklist"] == NEW_ITEMS and fresh_data["template_version"] == 2

    started_data = inspector.get(f"/cases/{started}").json["data"]
    assert started_data["checklist"] == old_items and started_data["template_version"] == 1
    task = task_named(inspector, started, "Task_fill")
    schema = inspector.get(f"/tasks/{task['id']}").json["form"]
    assert {p for p in schema["properties"] if p.startswith("item_")} == {f"item_{i}" for i in range(len(old_items))}
    answers = {"rectification_days": 10, **{f"item_{i}": "pass" for i in range(len(old_items))}}
    assert complete(inspector, started, "Task_fill", answers)["data"]["score"] == 100
    answers = {"rectification_days": 10, **{f"item_{i}": "pass" for i in range(len(NEW_ITEMS))}}
    assert complete(inspector, fresh, "Task_fill", answers)["data"]["score"] == 100
