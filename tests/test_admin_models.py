"""Process models and decision tables managed by the city admin: pages, uploads, API, access."""
import io
import re

from conftest import BPMN_DIR, csrf_of, enterprise_id, future
from flows import ACCEPT
from sqlalchemy import event

ROOT_BPMN = BPMN_DIR.parent.parent / "bpmn" / "rectification.bpmn"
SAMPLE_DMN = BPMN_DIR / "sample_decision.dmn"


def english(browser_session):
    browser_session.client.get("/locale/en")
    return browser_session


def upload_page(b, content: bytes, filename: str, page="/admin/models"):
    return b.form_post("/admin/models/upload", {"file": (io.BytesIO(content), filename)}, page_path=page)


def open_case(app, api):
    data = {"enterprise_id": enterprise_id(app), "hazard_description": "阀门锈蚀", "hazard_class": "III",
            "deadline_at": future()}
    return api("keqiao_inspector").post("/cases", {"process": "rectification", "data": data}).json


def close_case(api, case):
    staff, inspector = api("kq_bottled_staff"), api("keqiao_inspector")
    task = next(t for t in staff.get("/tasks").json["items"] if t["case_id"] == case["id"])
    assert staff.post(f"/tasks/{task['id']}/complete", {"data": {"response": "ok"}}).status_code == 200
    verify = next(t for t in inspector.get("/tasks?scope=mine").json["items"] if t["case_id"] == case["id"])
    done = inspector.post(f"/tasks/{verify['id']}/complete", {"data": ACCEPT})
    assert done.status_code == 200 and done.json["status"] == "completed"


def changed_bpmn(n: int) -> bytes:
    return ROOT_BPMN.read_bytes().replace("核查整改情况".encode(), f"核查整改情况{n}".encode())


def test_process_list_shows_versions_and_case_counts(app, api, browser):
    admin = english(browser("admin"))
    close_case(api, open_case(app, api))
    open_case(app, api)
    resp = upload_page(admin, changed_bpmn(2), "rectification.bpmn")
    assert resp.status_code == 303
    open_case(app, api)  # new cases start on version 2

    page = admin.client.get("/admin/models")
    assert page.status_code == 200
    html = page.data.decode()
    row = re.search(r'<tr data-process="rectification">(.*?)</tr>', html, re.S).group(1)
    assert "<td>v2</td>" in row and "<td>2</td>" in row
    counts = re.findall(r'data-version="(\d+)">v\d+</a>: <span class="running">(\d+)</span> / '
                        r'<span class="completed">(\d+)</span>', row)
    assert counts == [("2", "1", "0"), ("1", "1", "1")]

    listed = {(p["key"], p["version"]): p for p in api("admin").get("/processes").json}
    assert {k: (v["running"], v["completed"], v["cases"]) for k, v in listed.items() if k[0] == "rectification"} \
        == {("rectification", 1): (1, 1, 2), ("rectification", 2): (1, 0, 1)}
    versions = api("keqiao_inspector").get("/processes/rectification/versions")
    assert versions.status_code == 200 and versions.json["latest"] == 2
    assert [(v["version"], v["running"], v["completed"]) for v in versions.json["versions"]] == [(2, 1, 0), (1, 1, 1)]
    assert api("admin").get("/processes/no_such/versions").status_code == 404


def test_the_list_costs_the_same_queries_however_many_versions(app, api, browser):
    from web.extensions import db

    admin = browser("admin")

    def queries(path):
        seen = []

        def count(*_args):
            seen.append(1)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            assert admin.client.get(path).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    open_case(app, api)
    before = (queries("/admin/models"), queries("/api/v1/processes"))
    for n in range(2, 6):
        assert upload_page(admin, changed_bpmn(n), "rectification.bpmn").status_code == 303
        open_case(app, api)
    assert (queries("/admin/models"), queries("/api/v1/processes")) == before


def test_version_page_with_diagram_and_download(app, api, browser):
    admin = english(browser("admin"))
    open_case(app, api)
    page = admin.client.get("/admin/models/processes/rectification/1")
    assert page.status_code == 200
    html = page.data.decode()
    src = re.search(r'<div id="diagram" data-src="([^"]+)"', html).group(1)
    assert "bpmn-navigated-viewer.production.min.js" in html and "js/diagram.js" in html
    assert re.search(r'<dd id="running">1</dd>', html) and re.search(r'<dd id="completed">0</dd>', html)
    xml = admin.client.get(src)
    assert xml.status_code == 200 and xml.mimetype == "application/xml"
    assert xml.data == ROOT_BPMN.read_bytes()
    download = admin.client.get(re.search(r'id="download" href="([^"]+)"', html).group(1).replace("&amp;", "&"))
    assert download.headers["Content-Disposition"].startswith("attachment;") and "rectification-v1.bpmn" in \
        download.headers["Content-Disposition"]
    assert download.data == ROOT_BPMN.read_bytes()
    assert admin.client.get("/admin/models/processes/rectification/9").status_code == 404
    assert admin.client.get("/admin/models/processes/nope/1/diagram.bpmn").status_code == 404


def test_upload_form_creates_a_version_then_reports_identical(app, browser):
    admin = english(browser("admin"))
    resp = upload_page(admin, changed_bpmn(2), "rectification.bpmn")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/admin/models/processes/rectification/2")
    assert "rectification.bpmn: version 2 created." in admin.client.get(resp.headers["Location"]).data.decode()
    again = upload_page(admin, changed_bpmn(2), "rectification.bpmn")
    assert again.status_code == 303
    assert "identical to version 2" in admin.client.get(again.headers["Location"]).data.decode()
    original = upload_page(admin, ROOT_BPMN.read_bytes(), "rectification.bpmn")
    assert "identical to version 1" in admin.client.get(original.headers["Location"]).data.decode()


def test_refused_uploads_show_every_reason_with_422(app, api, browser):
    admin = english(browser("admin"))
    two_faults = ROOT_BPMN.read_bytes().replace(b"overdue_count = 0", b"import os")
    two_faults = two_faults.replace(b'camunda:formKey="rectification_verify"', b'camunda:formKey="no_such_form"')
    bad_dmn = SAMPLE_DMN.read_bytes().replace(b'"high"', b'__import__("os")').replace(b'"low"', b"__builtins__")
    cases = [
        (two_faults, "rectification.bpmn", ["imports are not allowed", "unknown form &#39;no_such_form&#39;"]),
        (b"<not xml", "broken.bpmn", ["not well-formed XML"]),
        (ROOT_BPMN.read_bytes(), "rectification.dmn", ["not a DMN file"]),
        (SAMPLE_DMN.read_bytes(), "table.bpmn", ["not a BPMN"]),
        (bad_dmn, "fine_level.dmn", ["rule 1 output", "rule 2 output"]),
        ('<?xml version="1.0" encoding="GBK"?><a>煤气</a>'.encode("gbk"), "gbk.dmn", ["DMN"]),
        (b"hello", "notes.txt", ["Only .bpmn (process) and .dmn (decision table) files are accepted."]),
        (b"", "empty.bpmn", ["The file is empty."]),
    ]
    for content, name, reasons in cases:
        resp = upload_page(admin, content, name)
        assert resp.status_code == 422, (name, resp.data[:300])
        html = resp.data.decode()
        listed = re.search(r'<div class="flash error" role="alert" id="upload-errors">(.*?)</div>', html, re.S)
        assert listed, name
        for reason in reasons:
            assert reason in listed.group(1), (name, reason, listed.group(1))
        assert len(re.findall(r"<li>", listed.group(1))) >= len(reasons)
    no_file = admin.client.post("/admin/models/upload", data={"csrf_token": csrf_of(
        admin.client.get("/admin/models").data)}, content_type="multipart/form-data")
    assert no_file.status_code == 422 and b"Choose a .bpmn or .dmn file." in no_file.data
    assert [p["version"] for p in api("admin").get("/processes").json if p["key"] == "rectification"] == [1]
    assert all(d["key"] != "fine_level" for d in api("admin").get("/decisions").json)


def test_upload_needs_the_csrf_token(browser):
    admin = browser("admin")
    resp = admin.client.post("/admin/models/upload", data={"file": (io.BytesIO(changed_bpmn(2)), "r.bpmn")},
                             content_type="multipart/form-data")
    assert resp.status_code == 400


def test_only_the_city_admin_sees_model_management(app, api, browser):
    for username in ("keqiao_supervisor", "keqiao_inspector", "kq_bottled_admin"):
        b = browser(username)
        assert b.client.get("/admin/models").status_code == 403
        assert b.client.get("/admin/models/processes/rectification/1").status_code == 403
        assert b.client.get("/admin/models/processes/rectification/1/diagram.bpmn").status_code == 403
        resp = upload_page(b, changed_bpmn(2), "rectification.bpmn", page="/")
        assert resp.status_code == 403
        assert b'id="nav-models"' not in b.client.get("/").data
        assert api(username).post("/decisions", data=SAMPLE_DMN.read_bytes(),
                                  content_type="application/xml").status_code == 403
    anonymous = app.test_client().get("/admin/models")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert b'id="nav-models"' in browser("admin").client.get("/").data
    assert [p["version"] for p in api("admin").get("/processes").json if p["key"] == "rectification"] == [1]


def test_decision_tables_uploaded_shown_and_versioned(app, browser):
    admin = english(browser("admin"))
    resp = upload_page(admin, SAMPLE_DMN.read_bytes(), "fine_level.dmn")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/admin/models/decisions/fine_level")
    page = admin.client.get(resp.headers["Location"]).data.decode()
    assert "fine_level.dmn: version 1 created." in page
    table = re.search(r'<table id="decision-table">(.*?)</table>', page, re.S).group(1)
    assert "amount" in table and "level" in table
    rules = re.findall(r'<tr data-rule="(\d+)">(.*?)</tr>', table, re.S)
    assert [r[0] for r in rules] == ["1", "2"]
    assert "&gt; 50000" in rules[0][1] and "&#34;high&#34;" in rules[0][1]

    raised = SAMPLE_DMN.read_bytes().replace(b"50000", b"80000")
    assert upload_page(admin, raised, "fine_level.dmn", page="/admin/models/decisions/fine_level").status_code == 303
    page = admin.client.get("/admin/models/decisions/fine_level").data.decode()
    assert "version 2 created" in page and "&gt; 80000" in page and "&gt; 50000" not in page
    assert re.findall(r'<tr data-version="(\d+)">', page) == ["2", "1"]
    old = admin.client.get("/admin/models/decisions/fine_level?version=1").data.decode()
    assert "&gt; 50000" in old and "latest is v2" in old
    dmn = admin.client.get("/admin/models/decisions/fine_level/1/table.dmn")
    assert dmn.data == SAMPLE_DMN.read_bytes() and "attachment" in dmn.headers["Content-Disposition"]

    listing = admin.client.get("/admin/models").data.decode()
    row = re.search(r'<tr data-decision="fine_level">(.*?)</tr>', listing, re.S).group(1)
    assert "<td>v2</td>" in row and "<td>2</td>" in row
    assert admin.client.get("/admin/models/decisions/nope").status_code == 404


def test_decision_api(api):
    admin = api("admin")
    content = SAMPLE_DMN.read_bytes()
    created = admin.post("/decisions", data=content, content_type="application/xml")
    assert created.status_code == 201, created.json
    assert created.json["key"] == "fine_level" and created.json["version"] == 1
    same = admin.post("/decisions", data={"file": (io.BytesIO(content), "fine_level.dmn")},
                      content_type="multipart/form-data")
    assert same.status_code == 200 and same.json["version"] == 1
    # curl --data-binary @file posts it as a form unless told otherwise
    curl_like = admin.post("/decisions", data=content.replace(b"50000", b"60000"),
                           content_type="application/x-www-form-urlencoded")
    assert curl_like.status_code == 201 and curl_like.json["version"] == 2

    got = admin.get("/decisions/fine_level").json
    assert got["version"] == 2 and [v["version"] for v in got["versions"]] == [2, 1]
    assert got["table"]["hit_policy"] == "UNIQUE"
    assert got["table"]["inputs"] == [{"label": "金额(元) amount", "expression": "amount"}]
    assert [o["name"] for o in got["table"]["outputs"]] == ["level"]
    assert [r["inputs"] for r in got["table"]["rules"]] == [["> 60000"], ["<= 60000"]]
    listed = {d["key"]: d for d in api("keqiao_inspector").get("/decisions").json}
    assert listed["fine_level"]["version"] == 2 and len(listed["fine_level"]["versions"]) == 2
    assert admin.get("/decisions/fine_level/dmn?version=1").data == content
    assert admin.get("/decisions/nope").status_code == 404

    bad = admin.post("/decisions", data=content.replace(b'"high"', b"import os"), content_type="application/xml")
    assert bad.status_code == 422 and bad.json["error"]["code"] == "invalid_model"
    assert any("rule 1 output" in r for r in bad.json["error"]["fields"]["file"])
    bpmn = admin.post("/decisions", data=ROOT_BPMN.read_bytes(), content_type="application/xml")
    assert bpmn.status_code == 422 and any("not a DMN file" in r for r in bpmn.json["error"]["fields"]["file"])
    assert admin.post("/decisions", data=b"", content_type="application/xml").status_code == 422
    assert admin.post("/decisions", data={}, content_type="multipart/form-data").status_code == 422
    assert admin.get("/decisions/fine_level").json["version"] == 2


def test_process_upload_takes_a_raw_body_too(api):
    resp = api("admin").post("/processes", data=changed_bpmn(2), content_type="application/xml")
    assert resp.status_code == 201 and resp.json["version"] == 2
    assert (resp.json["running"], resp.json["completed"], resp.json["cases"]) == (0, 0, 0)


def test_openapi_lists_the_new_endpoints(api):
    paths = api("admin").get("/openapi.json").json["paths"]
    for path, method in [("/api/v1/processes/{key}/versions", "get"), ("/api/v1/decisions", "get"),
                         ("/api/v1/decisions", "post"), ("/api/v1/decisions/{key}", "get"),
                         ("/api/v1/notifications", "get"), ("/api/v1/notifications/read", "post")]:
        assert method in paths[path], path
        assert paths[path][method]["summary"], path
