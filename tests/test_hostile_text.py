"""Issue 16, items 1 and 4: NUL and lone surrogates are refused where they come in (JSON bodies at any
depth, forms, query parameters, file names, Excel cells, readings, the sign-in), text stored before is
cleaned by migration 0013, and JSON nested past the limit is a 400, not a RecursionError."""
import importlib.util
import io
import json
import zipfile
from pathlib import Path

import pytest
from conftest import csrf_of, enterprise_id, future
from sqlalchemy import create_engine, func, select, text

from models import AuditEntry, LoginFailure

BAD = {"nul": "\\u0000", "surrogate": "\\ud800", "low surrogate": "\\udfff", "reversed pair": "\\udc00\\ud800"}
MIGRATION = Path(__file__).resolve().parent.parent / "migrations" / "versions" / "0013_clean_stored_text.py"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def raw(user, path, body: str, method="post"):
    """JSON text sent as written: "\\ud800" stays an escape, as an attacker's client sends it."""
    return getattr(user.client, method)("/api/v1" + path, data=body.encode(),
                                        headers={**user.headers, "Content-Type": "application/json"})


def refused(resp, field, status=422):
    assert resp.status_code == status, (resp.status_code, resp.data[:300])
    assert field in resp.json["error"]["fields"], resp.json
    return resp


def open_order(api, app):
    data = {"enterprise_id": enterprise_id(app), "hazard_description": "阀门锈蚀", "hazard_class": "II",
            "deadline_at": future()}
    resp = api("keqiao_inspector").post("/cases", {"process": "rectification", "data": data})
    assert resp.status_code == 201, resp.json
    return resp.json


def respond_task(api, case_id):
    items = api("kq_bottled_staff").get("/tasks?scope=group").json["items"]
    return next(t for t in items if t["case_id"] == case_id)


def pages_answer(app, api, browser, case_id):
    """What the issue saw break for everyone: the dashboard, its exports, the map, the case page."""
    supervisor = browser("keqiao_supervisor").client
    for path in ("/portal/", "/portal/dashboard.json", "/portal/dashboard.xlsx", f"/cases/{case_id}"):
        assert supervisor.get(path).status_code == 200, path
    inspector = api("keqiao_inspector")
    assert inspector.get("/map/features?layers=cases").status_code == 200
    assert inspector.get(f"/cases/{case_id}").status_code == 200


# ---- JSON bodies ------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
def test_an_answer_holding_nul_or_a_lone_surrogate_is_refused_and_pages_stay_up(app, api, browser, bad):
    case = open_order(api, app)
    task = respond_task(api, case["id"])
    resp = raw(api("kq_bottled_staff"), f"/tasks/{task['id']}/complete",
               '{"data": {"response": "已整改' + bad + '"}}')
    refused(resp, "data.response")
    assert "not allowed" in resp.json["error"]["fields"]["data.response"][0] or \
        "不允许" in resp.json["error"]["fields"]["data.response"][0]
    assert respond_task(api, case["id"])["id"] == task["id"]  # still open: nothing was half-written
    pages_answer(app, api, browser, case["id"])


def test_paired_surrogate_escapes_are_an_emoji_and_welcome(app, api, browser):
    case = open_order(api, app)
    task = respond_task(api, case["id"])
    resp = raw(api("kq_bottled_staff"), f"/tasks/{task['id']}/complete",
               '{"data": {"response": "\\u5df2\\u6574\\u6539 \\ud83d\\ude00 \\u202eRTL e\\u0301"}}')
    assert resp.status_code == 200, resp.json
    assert resp.json["data"]["response"] == "已整改 😀 \u202eRTL e\u0301"
    pages_answer(app, api, browser, case["id"])


def test_the_path_of_a_bad_string_is_named_at_any_depth_and_in_keys(app, api):
    staff = api("kq_bottled_staff")
    refused(raw(staff, "/data/station", '{"records": [{"external_id": "ST-1", "name": "a\\u0000"}]}'),
            "records[0].name")
    refused(raw(staff, "/data/station", '{"records": [{"external_id": "ST-1", "x\\ud800": 1}]}'),
            "records[0].x\ufffd")
    refused(raw(staff, "/readings", '{"readings": [{"site": "S1", "sensor": "s", "quantity": "pressure", '
                                    '"value": 1, "at": "2026-01-01T00:00:00Z"}, {"site": "\\u0000S2"}]}'),
            "readings[1].site")
    refused(raw(api("keqiao_inspector"), "/cases", '{"process": "rectification", "data": {"extra": [[["\\udbff"]]]}}'),
            "data.extra[0][0][0]")


def test_a_station_or_reading_holding_one_is_refused_and_reads_stay_up(app, api):
    staff = api("kq_bottled_staff")
    for bad in BAD.values():
        refused(raw(staff, "/data/station",
                    '{"records": [{"external_id": "ST-9", "name": "新站' + bad + '", "station_type": "supply"}]}'),
                "records[0].name")
        refused(raw(staff, "/readings", '{"readings": [{"site": "站' + bad + '", "sensor": "s1", "quantity": '
                                        '"pressure", "value": 1.2, "at": "2026-01-01T00:00:00Z"}]}'),
                "readings[0].site")
    assert staff.get("/data/station?status=all").status_code == 200
    assert staff.get("/readings").status_code == 200


def test_raw_nul_or_encoded_surrogates_are_malformed_json(app, api):
    staff = api("kq_bottled_staff")
    for body in (b'{"text": "a\x00b"}', b'{"text": "a\xed\xa0\x80b"}'):
        resp = staff.client.post("/api/v1/cases/1/comments", data=body,
                                 headers={**staff.headers, "Content-Type": "application/json"})
        assert resp.status_code in (400, 404), resp.data  # the case may not exist; never stored, never 500
        assert "error" in resp.json


# ---- nesting ------------------------------------------------------------------------------------
DEEP = ["[" * 5000 + "]" * 5000, '{"data": ' + '{"a": ' * 1500 + "1" + "}" * 1500 + "}",
        '{"records": ' + "[" * 100 + "]" * 100 + "}"]


@pytest.mark.parametrize("who, method, path", [
    ("keqiao_inspector", "post", "/cases"), ("kq_bottled_staff", "post", "/tasks/{task}/complete"),
    ("kq_bottled_staff", "post", "/notifications/read"), ("kq_bottled_staff", "put", "/tasks/{task}/follow-up"),
    ("kq_bottled_staff", "post", "/data/station"), ("kq_bottled_staff", "post", "/readings"),
    ("kq_bottled_staff", "post", "/cases/{case}/comments"), ("keqiao_supervisor", "post", "/tasks/{task}/assign"),
    ("admin", "post", "/checklist-templates/user_safety"), ("admin", "put", "/threshold-rules"),
])
def test_deeply_nested_json_is_400_with_the_error_shape_on_every_json_endpoint(app, api, who, method, path):
    case = open_order(api, app)
    path = path.format(case=case["id"], task=respond_task(api, case["id"])["id"])
    for body in DEEP:
        resp = raw(api(who), path, body, method)
        assert resp.status_code == 400, (path, resp.status_code, resp.data[:200])
        error = resp.json["error"]
        assert error["code"] == "bad_request" and "nested" in error["message"] and error["fields"] == {}


def test_nesting_up_to_the_limit_still_parses(app, api):
    resp = raw(api("kq_bottled_staff"), "/notifications/read", '{"ids": ' + "[" * 63 + "]" * 63 + "}")
    assert resp.status_code == 422 and "ids" in resp.json["error"]["fields"]  # read, then refused for its shape


# ---- query parameters, forms, files ------------------------------------------------------------
def test_query_parameters_holding_nul_are_refused_naming_them(app, api, browser):
    inspector = api("keqiao_inspector")
    refused(inspector.get("/cases?process=a%00b"), "process")
    refused(inspector.get("/readings?site=%00"), "site")
    refused(inspector.get("/data/station?external_id=x%00"), "external_id")
    refused(inspector.get("/cases?a%00b=1"), "ab")
    page = browser("keqiao_inspector").client.get("/cases?q=%00")
    assert page.status_code == 422 and "q" in page.data.decode()


def test_a_page_form_holding_nul_is_shown_again_with_the_message(app, api, browser):
    case = open_order(api, app)
    task = respond_task(api, case["id"])
    staff = browser("kq_bottled_staff")
    resp = staff.form_post(f"/tasks/{task['id']}", {"response": "已整改\x00"})
    assert resp.status_code == 422
    html = resp.data.decode()
    assert 'name="response"' in html and ("not allowed" in html or "不允许" in html)
    assert respond_task(api, case["id"])["id"] == task["id"]
    resp = staff.form_post("/data/station/new", {"external_id": "ST-7", "name": "站\x00", "station_type": "supply"})
    assert resp.status_code == 422 and 'name="name"' in resp.data.decode()


def test_comments_from_the_page_and_the_api_refuse_nul(app, api, browser):
    case = open_order(api, app)
    resp = browser("keqiao_inspector").form_post(f"/cases/{case['id']}/comments", {"text": "备注\x00"},
                                                 page_path=f"/cases/{case['id']}")
    assert resp.status_code == 422
    inspector = api("keqiao_inspector")
    refused(inspector.post(f"/cases/{case['id']}/comments", data={"text": "备注\x00"},
                           content_type="multipart/form-data"), "text")
    history = inspector.get(f"/cases/{case['id']}").json["history"]
    assert not [h for h in history if h["event"] == "comment"]


def test_a_file_name_holding_nul_is_refused_and_names_are_cleaned(app, api):
    staff = api("kq_bottled_staff")

    def upload(name):
        return staff.post("/attachments", data={"file": (io.BytesIO(PNG), name, "image/png")},
                          content_type="multipart/form-data")

    refused(upload("photo\x00.png"), "file")
    for name, shown in (("../../x.png", "x.png"), ("/etc/passwd.png", "passwd.png"),
                        ("a\x01b\x1f\x7fc.png", "abc.png"), ("\u202egnp.exe", "gnp.exe"), ("..", "file")):
        resp = upload(name)
        assert resp.status_code == 201 and resp.json["filename"] == shown, (name, resp.json)
    case = open_order(api, app)
    task = respond_task(api, case["id"])
    done = staff.post(f"/tasks/{task['id']}/complete", {"data": {"response": "ok", "photos": [resp.json["id"]]}})
    assert done.status_code == 200


def test_engine_files_get_the_cleaned_name_too(app, api, browser):
    case = open_order(api, app)
    resp = browser("keqiao_inspector").form_post(
        f"/cases/{case['id']}/comments",
        {"text": "见附件", "files": (io.BytesIO(PNG), "../../etc/现场\x07.png", "image/png")},
        page_path=f"/cases/{case['id']}")
    assert resp.status_code in (302, 303)
    names = [a["filename"] for a in api("keqiao_inspector").get(f"/cases/{case['id']}").json["attachments"]]
    assert "现场.png" in names


# ---- the sign-in ---------------------------------------------------------------------------------
def test_a_sign_in_with_nul_is_refused_counted_towards_lockout_and_audited(app):
    client = app.test_client()
    for _ in range(5):
        page = client.get("/login")
        resp = client.post("/login", data={"username": "kq_bottled_\x00staff", "password": "wrong",
                                           "csrf_token": csrf_of(page.data)})
        assert resp.status_code == 200
    from web.demo.seed import DEMO_PASSWORD
    from web.extensions import db

    with app.app_context():
        failures = db.session.scalar(select(func.count()).where(LoginFailure.username == "kq_bottled_staff"))
        assert failures == 5
        tried = db.session.scalars(select(AuditEntry).where(AuditEntry.kind == "login_failure")).all()
        assert len(tried) == 5 and tried[0].detail["username_tried"] == "kq_bottled_staff"
    page = client.get("/login")
    resp = client.post("/login", data={"username": "kq_bottled_staff", "password": DEMO_PASSWORD,
                                       "csrf_token": csrf_of(page.data)})
    assert resp.status_code == 429  # the name is locked, whatever was slipped into it


# ---- Excel and checklist files -------------------------------------------------------------------
def _xlsx_with(cells: dict[str, str], base: bytes) -> bytes:
    """``base`` with inline strings replaced by raw XML text (what openpyxl itself refuses to write)."""
    src, out = zipfile.ZipFile(io.BytesIO(base)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.startswith("xl/"):
                for old, new in cells.items():
                    data = data.replace(old.encode(), new.encode())
            dst.writestr(item, data)
    return out.getvalue()


def test_excel_cells_that_xml_cannot_hold_are_refused_not_500(app, browser):
    staff = browser("kq_bottled_staff")
    template = staff.client.get("/data/station/template.xlsx").data
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(template))
    sheet = book.worksheets[0]
    sheet.append(["ST-1", "PLACEHOLDER", "supply"])
    out = io.BytesIO()
    book.save(out)
    for ref in ("&#0;", "&#xD800;"):
        content = _xlsx_with({"PLACEHOLDER": "a" + ref}, out.getvalue())
        resp = staff.form_post("/data/station/import", {"file": (io.BytesIO(content), "s.xlsx")})
        assert resp.status_code == 422, resp.data[:300]


def test_a_bad_excel_cell_is_a_problem_of_its_row_and_column():
    from forms.data_excel import Sheet, _read_sheet  # noqa: F401  (the reader's own check, without XML)
    from forms.data_kinds import KINDS_BY_KEY

    class Book:  # what openpyxl would hand over if a cell held NUL
        class properties:
            subject = "station"

        class _Sheet:
            title = "sheet"

            @staticmethod
            def iter_rows(values_only=True):
                return iter([("external_id", "name", "station_type"), ("ST-1", "a\x00b", "supply")])

        worksheets = [_Sheet]

    sheet = _read_sheet(KINDS_BY_KEY["station"], Book, 10)
    assert list(sheet.rows[0].problems) == ["name"] and sheet.rows[0].number == 2


def test_a_checklist_file_holding_a_lone_surrogate_names_the_item(app, api):
    admin = api("admin")
    content = b'{"items": [{"code": "1", "text": "\\ud800", "points": 5, "problem_class": "I"}]}'
    resp = admin.post("/checklist-templates/user_safety", data={"file": (io.BytesIO(content), "c.json")},
                      content_type="multipart/form-data")
    refused(resp, "items[0].text")
    deep = b'{"items": ' + b"[" * 3000 + b"]" * 3000 + b"}"
    resp = admin.post("/checklist-templates/user_safety", data={"file": (io.BytesIO(deep), "c.json")},
                      content_type="multipart/form-data")
    refused(resp, "file")


# ---- migration 0013 --------------------------------------------------------------------------------
def _migration():
    spec = importlib.util.spec_from_file_location("migration_0013", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_migration_cleans_rows_stored_before(app, api, browser, database_url):
    case = open_order(api, app)
    task = respond_task(api, case["id"])
    assert api("kq_bottled_staff").post(f"/tasks/{task['id']}/complete",
                                        {"data": {"response": "已整改"}}).status_code == 200
    engine = create_engine(database_url)
    pg = engine.dialect.name == "postgresql"
    bad_json = '{"response": "a\\u0000b\\ud800c", "k\\udc00": ["\\u0000"], "fine": "\\\\u0000"}'
    with engine.begin() as conn:
        conn.execute(text("UPDATE cases SET data = " + ("CAST(:v AS json)" if pg else ":v") + " WHERE id = :id"),
                     {"v": bad_json, "id": case["id"]})
        if not pg:  # PostgreSQL text cannot hold NUL: only SQLite has such rows
            conn.execute(text("UPDATE enterprises SET name = :v WHERE id = :id"),
                         {"v": "柯桥\x00燃气", "id": enterprise_id(app)})
    if pg:  # what the issue saw: the dashboard's JSON functions fail on the row
        with pytest.raises(Exception, match="cannot be converted to text|surrogate"):
            browser("keqiao_supervisor").client.get("/portal/dashboard.json")
    with engine.begin() as conn:
        changed = _migration().clean_stored_text(conn)
    assert changed.get("cases.data") == 1
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT CAST(data AS text) FROM cases WHERE id = :id"), {"id": case["id"]}).scalar()
        assert json.loads(stored) == {"response": "ab\ufffdc", "k\ufffd": [""], "fine": "\\u0000"}
        if not pg:
            assert changed.get("enterprises.name") == 1
            names = conn.execute(text("SELECT name FROM enterprises")).scalars().all()
            assert "柯桥燃气" in names and not [n for n in names if "\x00" in n]
        again = _migration().clean_stored_text(conn)
        assert again == {}
    engine.dispose()
    pages_answer(app, api, browser, case["id"])


def test_exports_keep_text_a_worksheet_cannot_hold_or_would_run_as_a_formula(app, api, browser):
    from openpyxl import load_workbook

    inspector = api("keqiao_inspector")
    data = {"enterprise_id": enterprise_id(app), "hazard_class": "II", "deadline_at": future()}
    for hazard in ("=HYPERLINK(\"http://evil.example\",\"点此\")", "阀门\x1b[31m锈蚀\uffff"):
        assert inspector.post("/cases", {"process": "rectification",
                                         "data": {**data, "hazard_description": hazard}}).status_code == 201
    resp = browser("keqiao_supervisor").client.get("/ledger/rectifications/export.xlsx")
    assert resp.status_code == 200
    cells = [c for row in load_workbook(io.BytesIO(resp.data)).worksheets[0].iter_rows() for c in row]
    texts = {c.value: c.data_type for c in cells if isinstance(c.value, str)}
    assert texts.get('=HYPERLINK("http://evil.example","点此")') == "s"  # text, not a formula
    assert "阀门[31m锈蚀" in texts
