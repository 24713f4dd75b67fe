"""Data reporting pages (D4): the Excel template and import, the single-record form, the record lists and
versions, over HTTP with a signed-in browser session (real CSRF)."""
import io
import re
from datetime import datetime

from conftest import enterprise_id
from openpyxl import Workbook, load_workbook
from test_data_api import ID_A, ID_B, review

from forms.data_kinds import USER_TYPES

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def template(client, kind) -> bytes:
    resp = client.get(f"/data/{kind}/template.xlsx")
    assert resp.status_code == 200 and resp.mimetype == XLSX
    return resp.data


def filled(content: bytes, rows: list[dict]) -> bytes:
    """The template with rows written from row 3, each cell found by the key in the hidden row 2."""
    book = load_workbook(io.BytesIO(content))
    sheet = book.worksheets[0]
    column_of = {cell.value: cell.column for cell in sheet[2]}
    for offset, row in enumerate(rows):
        for key, value in row.items():
            sheet.cell(row=3 + offset, column=column_of[key], value=value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(user, kind, content: bytes, filename="data.xlsx"):
    return user.form_post(f"/data/{kind}/import", {"file": (io.BytesIO(content), filename)})


def page_text(resp) -> str:
    return resp.get_data(as_text=True)


def listed(resp) -> list[str]:
    """The record ids of a list page's rows (searching the page text would also hit the CSRF token)."""
    return re.findall(r'data-external-id="([^"]+)"', page_text(resp))


def review_case(html: str) -> int:
    match = re.search(r'id="review-case">[^<]*<a href="/cases/(\d+)"', html)
    assert match, html[:3000]
    return int(match.group(1))


def zh(app, label) -> str:
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("zh"):
        return str(label)


def test_template_has_chinese_labels_hidden_keys_and_notes(app, browser):
    staff = browser("kq_bottled_staff")
    book = load_workbook(io.BytesIO(template(staff.client, "gas_user")))
    sheet, notes = book.worksheets
    labels = [c.value for c in sheet[1]]
    keys = [c.value for c in sheet[2]]
    assert keys == ["external_id", "name", "id_number", "address", "user_type", "phone", "contract_no", "plate"]
    assert labels[1] == "名称" and labels[5] == "联系电话" and all(re.search(r"[\u4e00-\u9fff]", x) for x in labels)
    assert sheet.row_dimensions[2].hidden
    assert notes.title == "说明"
    lines = {row[1]: row for row in notes.iter_rows(values_only=True) if row and len(row) > 1 and row[1]}
    assert lines["user_type"][3] == "是" and "residential = " in lines["user_type"][4]
    assert lines["phone"][3] == "否"
    located = load_workbook(io.BytesIO(template(staff.client, "delivery_order"))).worksheets[1]
    formats = " ".join(str(r[5]) for r in located.iter_rows(values_only=True) if r and len(r) > 5 and r[5])
    assert "YYYY-MM-DD HH:MM" in formats and "Asia/Shanghai" in formats


def test_excel_round_trip_reports_row_errors_and_reviews_the_good_rows(app, api, browser):
    staff = browser("kq_bottled_staff")
    residential = zh(app, dict(USER_TYPES)["residential"])
    rows = [
        {"external_id": "U1", "name": "王小明", "id_number": ID_A, "address": "华舍街道", "user_type": residential,
         "phone": "13912345678"},                                                  # row 3: the label of a choice
        {"external_id": "U2", "name": "李红", "user_type": "residential", "phone": "12345"},   # row 4: bad phone
        {"external_id": "U3", "user_type": "residential"},                         # row 5: name missing
        {"external_id": "U4", "name": "赵六", "user_type": "spaceship"},           # row 6: no such choice
        {"external_id": "U5", "name": "钱七", "id_number": ID_B, "user_type": "commercial",
         "phone": 13800001111},                                                    # row 7: a phone typed as a number
    ]
    resp = upload(staff, "gas_user", filled(template(staff.client, "gas_user"), rows))
    html = page_text(resp)
    assert resp.status_code == 200, html[:3000]
    errors = re.findall(r'<li data-row="(\d+)">([^<]+)</li>', html)
    assert {int(r) for r, _m in errors} == {4, 5, 6}, errors
    by_row = {int(r): m for r, m in errors}
    assert by_row[4].startswith("第 4 行“联系电话”") and "不是有效的电话号码" in by_row[4]
    assert by_row[5].startswith("第 5 行“名称”")
    assert by_row[6].startswith("第 6 行“用户类型”")
    case_id = review_case(html)
    assert re.findall(r'<tr class="pending">.*?>(U\d)</a>', html, re.S) == ["U1", "U5"]

    supervisor = api("keqiao_supervisor")
    case = supervisor.get(f"/cases/{case_id}").json
    assert case["process"] == "data_review" and case["data"]["source"] == "excel"
    assert [i["external_id"] for i in case["data"]["items"]] == ["U1", "U5"]
    assert listed(staff.client.get("/data/gas_user?status=pending")) == ["U1", "U5"]
    assert listed(staff.client.get("/data/gas_user")) == []  # nothing official before the review

    review(api, case_id, {1: True, 2: True})
    supervisor_page = browser("keqiao_supervisor").client.get("/data/gas_user")
    assert listed(supervisor_page) == ["U1", "U5"]
    official = page_text(supervisor_page)
    assert ID_A in official and "13800001111" in official  # the supervisor sees personal data in full
    masked_page = staff.client.get("/data/gas_user")
    masked = page_text(masked_page)
    assert listed(masked_page) == ["U1", "U5"] and ID_A not in masked and "13912345678" not in masked
    assert ID_A[-4:] in masked and "139****5678" in masked
    assert page_text(staff.client.get("/data")).count('class="num count-official"><a') >= 1

    # The same file again changes nothing; the supervisor's exact search finds a record by its ID number.
    again = upload(staff, "gas_user", filled(template(staff.client, "gas_user"), rows))
    assert again.status_code == 200 and 'id="resubmitted"' in page_text(again)
    assert listed(browser("keqiao_supervisor").client.get(f"/data/gas_user?field=id_number&value={ID_B}")) == ["U5"]


def test_excel_dates_as_cells_or_text_and_a_bad_date(app, browser):
    staff = browser("kq_bottled_staff")
    rows = [{"external_id": "C1", "code": "C-001", "made_on": datetime(2020, 5, 1), "status": "in_stock"},
            {"external_id": "C2", "code": "C-002", "made_on": "2020/5/2", "next_inspection_on": "2026-05-02"},
            {"external_id": "C3", "code": "C-003", "made_on": "2020-13-45"},
            {"external_id": "C4", "code": "C-004", "weight_kg": "heavy"}]
    resp = upload(staff, "cylinder", filled(template(staff.client, "cylinder"), rows))
    html = page_text(resp)
    assert resp.status_code == 200, html[:3000]
    rows_with_errors = dict(re.findall(r'<li data-row="(\d+)">([^<]+)</li>', html))
    assert set(rows_with_errors) == {"5", "6"}
    assert rows_with_errors["5"].startswith("第 5 行“出厂日期”")
    assert rows_with_errors["6"].startswith("第 6 行“重量（kg）”")
    assert listed(staff.client.get("/data/cylinder?status=pending&q=C")) == ["C1", "C2"]
    record = page_text(staff.client.get(f"/data/cylinder/{enterprise_id(app)}/C2"))
    assert "2020-05-02" in record and "2026-05-02" in record


def test_files_that_do_not_fit_are_refused_and_nothing_is_stored(app, api, browser):
    staff = browser("kq_bottled_staff")
    blank = template(staff.client, "gas_user")
    station = filled(template(staff.client, "station"), [{"external_id": "S1", "name": "站", "station_type": "supply"}])
    foreign = Workbook()
    foreign.active.append(["姓名", "身份证号", "颜色"])
    foreign.active.append(["王", ID_A, "红"])
    foreign_bytes = io.BytesIO()
    foreign.save(foreign_bytes)
    cases = [(b"external_id,name\nU1,x\n", "users.csv", "xlsx"),
             (b"PK\x03\x04 not really a zip", "users.xlsx", "Excel"),
             (b"", "users.xlsx", "空"),
             (blank, "users.xlsx", "没有数据"),
             (station, "station.xlsx", "场站"),
             (foreign_bytes.getvalue(), "users.xlsx", "颜色")]
    for content, filename, said in cases:
        resp = upload(staff, "gas_user", content, filename)
        html = page_text(resp)
        assert resp.status_code == 422, (filename, html[:2000])
        assert 'id="upload-errors"' in html and said in html, (filename, said)
    app.config["DATA_MAX_RECORDS"] = 2
    many = filled(blank, [{"external_id": f"U{i}", "name": "x", "user_type": "residential"} for i in range(3)])
    assert upload(staff, "gas_user", many).status_code == 422
    only_bad = filled(blank, [{"external_id": "U1", "user_type": "residential"}])
    assert upload(staff, "gas_user", only_bad).status_code == 422
    assert api("kq_bottled_admin").get("/data/gas_user?status=all").json["total"] == 0
    assert staff.client.post("/data/gas_user/import", data={"csrf_token": "x"}).status_code == 400


def test_single_record_form_good_and_bad_input_and_versions(app, api, browser):
    admin = browser("kq_bottled_admin")
    bad = admin.form_post("/data/station/new", {"external_id": "ST 1", "name": "", "station_type": "supply",
                                                "phone": "123", "lon": "200"})
    html = page_text(bad)
    assert bad.status_code == 422 and 'id="form-errors"' in html
    assert html.count('<ul class="errors">') == 4  # id, name, phone, longitude
    assert api("kq_bottled_admin").get("/data/station?status=all").json["total"] == 0

    good = {"external_id": "ST-1", "name": "华舍供应站", "station_type": "supply", "address": "柯桥区",
            "phone": "0575-88888888", "lon": "120.5", "lat": "30.1"}
    resp = admin.form_post("/data/station/new", good)
    assert resp.status_code == 200, page_text(resp)[:2000]
    case_id = review_case(page_text(resp))
    assert api("keqiao_supervisor").get(f"/cases/{case_id}").json["data"]["source"] == "web"
    again = admin.form_post("/data/station/new", good)
    assert 'id="resubmitted"' in page_text(again)
    review(api, case_id, {1: True})

    moved = admin.form_post("/data/station/new", {**good, "name": "华舍供应站(迁建)"})
    review(api, review_case(page_text(moved)), {1: "地址不详"})
    page = page_text(admin.client.get(f"/data/station/{enterprise_id(app)}/ST-1"))
    changed = re.findall(r'<tr data-field="(\w+)"><th>[^<]*</th>(.*?)</tr>', page, re.S)
    marked = {name for name, cells in changed if 'class="changed"' in cells}
    assert marked == {"name"}, marked
    assert "地址不详" in page and f'href="/cases/{case_id}"' in page and "v2" in page and "v1" in page
    assert page.index("华舍供应站(迁建)") < page.index("华舍供应站<")  # newest first

    # An optional choice may be left empty on the page.
    staff = admin.form_post("/data/delivery_staff/new", {"external_id": "P1", "name": "张三", "sex": ""})
    assert staff.status_code == 200 and review_case(page_text(staff))


def test_scope_masking_and_who_may_report(app, api, browser):
    admin_api = api("kq_bottled_admin")
    answer = admin_api.post("/data/gas_user", {"records": [
        {"external_id": "U1", "name": "王小明", "id_number": ID_A, "user_type": "residential",
         "phone": "13912345678"}]}).json
    review(api, answer["case"], {1: True})
    ent = enterprise_id(app)

    full = page_text(browser("keqiao_supervisor").client.get("/data/gas_user"))
    assert ID_A in full and "13912345678" in full
    staff = browser("kq_bottled_staff")
    masked = page_text(staff.client.get("/data/gas_user"))
    assert listed(staff.client.get("/data/gas_user")) == ["U1"] and ID_A not in masked and "139****5678" in masked
    assert ID_A not in page_text(staff.client.get(f"/data/gas_user/{ent}/U1"))
    assert ID_A in page_text(browser("kq_bottled_admin").client.get(f"/data/gas_user/{ent}/U1"))

    other = browser("yc_pipeline_staff")
    assert listed(other.client.get("/data/gas_user")) == []
    assert other.client.get(f"/data/gas_user/{ent}/U1").status_code == 404
    assert browser("yuecheng_inspector").client.get(f"/data/gas_user/{ent}/U1").status_code == 404
    kinds = page_text(other.client.get("/data"))
    assert 'data-kind="patrol_record"' in kinds and 'data-kind="delivery_staff"' not in kinds
    assert 'data-kind="delivery_staff"' in page_text(browser("keqiao_inspector").client.get("/data"))

    supervisor = browser("keqiao_supervisor")
    assert supervisor.client.get("/data/gas_user/import").status_code == 403
    assert supervisor.client.get("/data/gas_user/new").status_code == 403
    content = filled(template(supervisor.client, "gas_user"), [{"external_id": "U9", "name": "x",
                                                                "user_type": "residential"}])
    resp = supervisor.form_post("/data/gas_user/import", {"file": (io.BytesIO(content), "u.xlsx")},
                                page_path="/data/gas_user")
    assert resp.status_code == 403
    assert other.client.get("/data/delivery_staff/new").status_code == 422  # a bottled-gas kind
    assert staff.client.get("/data/no_such_kind").status_code == 404
    assert staff.client.get("/data/gas_user?status=bogus&page=x&enterprise=zz").status_code == 200
