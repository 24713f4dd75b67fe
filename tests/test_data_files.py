"""Files of reported data records (licences, contracts, emergency plans, photos): uploaded with the record on
the web form or over the API, checked by their content, scoped like the record, kept across versions, and
shown in the data review and on the record page."""
import io
import re

from conftest import enterprise_id
from flows import task_named
from sqlalchemy import func, select
from test_data_api import review
from test_data_pages import page_text, review_case

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n" + b"0" * 300
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 200
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 200
HTML = b"<!DOCTYPE html><html><script>alert(1)</script></html>"
STATION = {"external_id": "ST-1", "name": "华舍供应站", "station_type": "supply", "address": "柯桥区",
           "phone": "0575-88888888", "lon": "120.5", "lat": "30.1"}


def attachment_count(app) -> int:
    from models import Attachment
    from web.extensions import db

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Attachment).where(
            Attachment.data_record_id.isnot(None)))


def versions(api, user="kq_bottled_admin", external_id="ST-1") -> list[dict]:
    resp = api(user).get(f"/data/station/{external_id}")
    assert resp.status_code == 200, resp.json
    return resp.json["versions"]


def names(files) -> list[str]:
    return [f["filename"] for f in files]


def api_record(api, external_id="ST-7") -> int:
    resp = api("kq_bottled_admin").post("/data/station", {"records": [
        {**STATION, "external_id": external_id, "lon": 120.5, "lat": 30.1}]})
    assert resp.status_code == 202, resp.json
    return resp.json["accepted"][0]["record"]


def upload(api, record_id, files, file_kind="licence", user="kq_bottled_admin", kind="station"):
    data = {"file_kind": file_kind, "file": [(io.BytesIO(content), name) for name, content in files]}
    return api(user).post(f"/data/{kind}/{record_id}/files", data=data, content_type="multipart/form-data")


def test_form_upload_review_and_versions_keep_or_replace_files(app, api, browser):
    admin = browser("kq_bottled_admin")
    form = page_text(admin.client.get("/data/station/new"))
    assert 'enctype="multipart/form-data"' in form and 'name="files_licence"' in form and 'name="keep_files"' in form
    resp = admin.form_post("/data/station/new", {
        **STATION, "keep_files": "y", "files_licence": [(io.BytesIO(PDF), "燃气经营许可证.pdf")],
        "files_photo": [(io.BytesIO(PNG), "站房.png"), (io.BytesIO(JPEG), "储罐.jpg")]})
    assert resp.status_code == 200, page_text(resp)[:2000]
    case_id = review_case(page_text(resp))
    first = versions(api)[0]
    assert sorted(names(first["files"])) == ["储罐.jpg", "燃气经营许可证.pdf", "站房.png"]
    by_name = {f["filename"]: f for f in first["files"]}
    assert by_name["站房.png"]["content_type"] == "image/png" and by_name["站房.png"]["size"] == len(PNG)
    assert by_name["燃气经营许可证.pdf"]["file_kind"] == "licence" and by_name["储罐.jpg"]["file_kind"] == "photo"

    # The review shows each record's files with name, size and a thumbnail for images, on the page and the API.
    supervisor = api("keqiao_supervisor")
    task = task_named(supervisor, case_id, "Task_review")
    context = supervisor.get(f"/tasks/{task['id']}").json["context"]
    records = next(i for i in context if i["kind"] == "records")["value"]
    files = records[0]["files"]
    assert sorted(names(files)) == ["储罐.jpg", "燃气经营许可证.pdf", "站房.png"]
    assert {f["file_kind_label"] for f in files} >= {"证照", "照片"}, files
    page = page_text(browser("keqiao_supervisor").client.get(f"/tasks/{task['id']}"))
    photo = by_name["站房.png"]["id"]
    assert f'<img class="context-thumb" src="/attachments/{photo}?inline=1"' in page
    assert "燃气经营许可证.pdf" in page and f"{len(PDF)} B" in page and "证照" in page
    review(api, case_id, {1: True})

    # A new version keeps the files of the one it follows unless the reporter replaces them.
    moved = admin.form_post("/data/station/new", {**STATION, "name": "华舍供应站(迁建)", "keep_files": "y"})
    assert moved.status_code == 200, page_text(moved)[:2000]
    v2, v1 = versions(api)[:2]
    assert v2["version"] == 2 and sorted(names(v2["files"])) == sorted(names(v1["files"]))
    assert all(f["kept"] for f in v2["files"]) and not any(f["kept"] for f in v1["files"])
    review(api, review_case(page_text(moved)), {1: True})

    # The same values with a new file are a new version; replacing drops the earlier files from it.
    replaced = admin.form_post("/data/station/new", {
        **STATION, "name": "华舍供应站(迁建)", "files_licence": [(io.BytesIO(PDF + b"renewed"), "新许可证.pdf")]})
    assert replaced.status_code == 200 and 'id="resubmitted"' not in page_text(replaced)
    v3 = versions(api)[0]
    assert v3["version"] == 3 and names(v3["files"]) == ["新许可证.pdf"]
    assert len(versions(api)[2]["files"]) == 3  # the first version keeps what it came with

    record_page = page_text(admin.client.get(f"/data/station/{enterprise_id(app)}/ST-1"))
    section = record_page[record_page.index('id="record-files"'):]
    assert "新许可证.pdf" in section and "燃气经营许可证.pdf" in section
    assert f'src="/attachments/{photo}?inline=1"' in section
    assert section.index("新许可证.pdf") < section.index("燃气经营许可证.pdf")  # newest version first


def test_wrong_type_or_oversize_is_refused_naming_the_field_and_nothing_is_stored(app, api, browser):
    admin = browser("kq_bottled_admin")
    for name, content in (("许可证.pdf", EXE), ("许可证.pdf", HTML), ("大文件.pdf", PDF + b"0" * (10 * 1024 * 1024))):
        resp = admin.form_post("/data/station/new", {**STATION, "files_licence": [(io.BytesIO(content), name)]})
        html = page_text(resp)
        assert resp.status_code == 422 and 'id="field-files_licence"' in html, html[:2000]
        errors = re.search(r'id="field-files_licence".*?<ul class="errors">(.*?)</ul>', html, re.S)
        assert errors and name in errors.group(1), html[:3000]
    # A PDF is not a photo either.
    resp = admin.form_post("/data/station/new", {**STATION, "files_photo": [(io.BytesIO(PDF), "照片.jpg")]})
    assert resp.status_code == 422
    assert api("kq_bottled_admin").get("/data/station?status=all").json["total"] == 0  # not the record either
    assert attachment_count(app) == 0

    record_id = api_record(api)
    for name, content in (("x.pdf", EXE), ("x.pdf", HTML), ("big.pdf", PDF + b"0" * (10 * 1024 * 1024))):
        resp = upload(api, record_id, [("good.pdf", PDF), (name, content)])
        assert resp.status_code == 422 and list(resp.json["error"]["fields"]) == ["file"], resp.json
    wrong_kind = upload(api, record_id, [("good.pdf", PDF)], file_kind="emergency_plan")
    assert wrong_kind.status_code == 422 and "file_kind" in wrong_kind.json["error"]["fields"]
    assert upload(api, record_id, []).json["error"]["fields"] == {"file": ["A file is required."]}
    assert attachment_count(app) == 0
    assert api("kq_bottled_admin").get(f"/data/station/{record_id}/files").json == []

    added = upload(api, record_id, [("许可证.pdf", PDF), ("保险单.pdf", PDF + b"1")])
    assert added.status_code == 201 and names(added.json) == ["许可证.pdf", "保险单.pdf"]
    assert names(api("kq_bottled_admin").get(f"/data/station/{record_id}/files").json) == ["许可证.pdf", "保险单.pdf"]


def test_files_are_scoped_like_the_record(app, api, browser):
    record_id = api_record(api)
    added = upload(api, record_id, [("许可证.pdf", PDF)]).json
    url = added[0]["url"]
    assert url.startswith("/api/v1/attachments/")
    att_id = added[0]["id"]
    for user in ("kq_bottled_admin", "kq_bottled_staff", "keqiao_supervisor", "keqiao_inspector", "admin"):
        resp = api(user).client.get(url, headers=api(user).headers)
        assert resp.status_code == 200 and resp.data == PDF, user
        assert names(api(user).get(f"/data/station/{record_id}/files").json) == ["许可证.pdf"], user
    for user in ("yc_pipeline_staff", "yuecheng_inspector"):
        assert api(user).client.get(url, headers=api(user).headers).status_code == 404, user
        assert api(user).get(f"/data/station/{record_id}/files").status_code == 404, user
    assert browser("kq_bottled_staff").client.get(f"/attachments/{att_id}").status_code == 200
    assert browser("yc_pipeline_staff").client.get(f"/attachments/{att_id}").status_code == 404
    # Another enterprise may not add files to the record either, nor to another kind's record of the same id.
    assert upload(api, record_id, [("x.pdf", PDF)], user="yc_pipeline_staff").status_code == 404
    assert api("kq_bottled_admin").get(f"/data/camera/{record_id}/files").status_code == 404


def test_api_files_go_with_a_pending_version_and_are_kept_by_the_next(app, api):
    record_id = api_record(api)
    assert upload(api, record_id, [("许可证.pdf", PDF)]).status_code == 201
    # The same record sent again is unchanged: its files count as kept.
    again = api("kq_bottled_admin").post("/data/station", {"records": [
        {**STATION, "external_id": "ST-7", "lon": 120.5, "lat": 30.1, "address": "柯桥区华舍"}]}).json
    v2 = again["accepted"][0]
    assert v2["version"] == 2
    files = api("kq_bottled_admin").get(f"/data/station/{v2['record']}/files").json
    assert names(files) == ["许可证.pdf"] and files[0]["kept"] is True
    # The first version is no longer the newest: files go to the newest.
    assert upload(api, record_id, [("x.pdf", PDF)]).status_code == 409
    # A kind that takes no files refuses any.
    cam = api("kq_bottled_admin").post("/data/camera", {"records": [
        {"external_id": "C1", "name": "门口", "site": "站房", "stream_url": "rtsp://10.0.0.1/1"}]}).json
    assert upload(api, cam["accepted"][0]["record"], [("x.pdf", PDF)], kind="camera").status_code == 422


def test_case_attachments_are_checked_by_content_too(app, api):
    staff = api("kq_bottled_staff")
    for content in (HTML, EXE):
        resp = staff.post("/attachments", data={"file": (io.BytesIO(content), "photo.png", "image/png")},
                          content_type="multipart/form-data")
        assert resp.status_code == 422 and list(resp.json["error"]["fields"]) == ["file"], resp.json
    good = staff.post("/attachments", data={"file": (io.BytesIO(PNG), "photo.png", "image/png")},
                      content_type="multipart/form-data")
    assert good.status_code == 201
