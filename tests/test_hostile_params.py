"""Issue 16, item 6 (the lesser defects of hostile input): out-of-range paging and ids, a null "data",
a file part without a type, a timer that is a number, and links that are not web addresses."""
import pytest
from conftest import enterprise_id, future
from test_models_and_safety import ROOT_BPMN, upload


def refused(resp, field, statuses=(422,)):
    assert resp.status_code in statuses, (resp.status_code, resp.data[:300])
    assert list(resp.json["error"]["fields"]) == [field], resp.json
    return resp.json["error"]["fields"][field][0]


@pytest.mark.parametrize("path, field", [
    ("/cases?per_page=0", "per_page"), ("/cases?page=0", "page"), ("/notifications?per_page=0", "per_page"),
    ("/warnings?per_page=0", "per_page"), ("/data/station?per_page=0", "per_page"),
    ("/cases?county=0", "county"), ("/cases?enterprise=0", "enterprise"), ("/warnings?county=0", "county"),
    ("/map/features?county=0", "county"), ("/processes/rectification/bpmn?version=0", "version"),
    ("/notifications?unread=null", "unread"), ("/notifications?unread=yes", "unread"),
])
def test_zero_and_unknown_values_are_refused_naming_the_parameter(app, api, path, field):
    refused(api("admin").get(path), field)


def test_the_tasks_queue_refuses_county_zero_too(app, api):
    refused(api("admin").get("/tasks?county=0"), "county", (400,))


@pytest.mark.parametrize("path", ["/cases?county=2147483648", "/cases?enterprise=99999999999",
                                  "/warnings?county=2147483648", "/map/features?county=2147483648",
                                  "/cases?per_page=2147483648", "/tasks?county=2147483648"])
def test_integers_past_the_database_range_are_told_the_range_not_that_they_are_not_integers(app, api, path):
    resp = api("admin").get(path)
    assert resp.status_code in (400, 422), resp.data
    message = next(iter(resp.json["error"]["fields"].values()))[0]
    assert "2147483647" in message and "integer." not in message, message


def test_the_largest_id_is_still_a_number(app, api):
    admin = api("admin")
    assert admin.get("/cases?county=2147483647").json["total"] == 0
    assert admin.get("/notifications?unread=0").status_code == 200
    assert admin.get("/notifications?unread=true").status_code == 200


def test_null_data_is_refused_naming_data_not_a_missing_csrf_token(app, api):
    inspector, staff = api("keqiao_inspector"), api("kq_bottled_staff")
    message = refused(inspector.post("/cases", {"process": "rectification", "data": None}), "data")
    assert "csrf" not in message.lower()
    data = {"enterprise_id": enterprise_id(app), "hazard_description": "阀门锈蚀", "hazard_class": "II",
            "deadline_at": future()}
    case = inspector.post("/cases", {"process": "rectification", "data": data}).json
    task = next(t for t in staff.get("/tasks?scope=group").json["items"] if t["case_id"] == case["id"])
    for value in (None, [], "text"):
        message = refused(staff.post(f"/tasks/{task['id']}/complete", {"data": value}), "data")
        assert "csrf" not in message.lower()


def _multipart(fields: list[tuple[str, str, bytes, str | None]]) -> tuple[bytes, str]:
    """A multipart body written out by hand: the test client always adds a Content-Type to a file part."""
    out = b""
    for name, filename, content, ctype in fields:
        out += b"--XyZ\r\n" + f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'.encode()
        if ctype:
            out += f"Content-Type: {ctype}\r\n".encode()
        out += b"\r\n" + content + b"\r\n"
    return out + b"--XyZ--\r\n", "multipart/form-data; boundary=XyZ"


def test_a_file_part_without_a_type_is_told_so(app, api):
    staff = api("kq_bottled_staff")
    body, ctype = _multipart([("file", "photo.png", b"\x89PNG\r\n\x1a\n", None)])
    resp = staff.client.post("/api/v1/attachments", data=body, headers={**staff.headers, "Content-Type": ctype})
    message = refused(resp, "file")
    assert "Type  not" not in message and "image/png" in message
    body, ctype = _multipart([("file", "photo.png", b"\x89PNG\r\n\x1a\n", "image/png")])
    resp = staff.client.post("/api/v1/attachments", data=body, headers={**staff.headers, "Content-Type": ctype})
    assert resp.status_code == 201


def test_a_timer_that_is_a_number_is_refused_at_upload_naming_the_element(app, api):
    admin = api("admin")
    timer = b"<bpmn:timeDate>deadline_at</bpmn:timeDate>"
    resp = upload(admin, ROOT_BPMN.read_bytes().replace(timer, b"<bpmn:timeDate>12345</bpmn:timeDate>"))
    assert resp.status_code == 422
    reason = resp.json["error"]["fields"]["file"][0]
    assert "Timer_overdue" in reason and "upper" not in reason
    # Computed, it can only be found out when it runs: the message still names the timer.
    resp = upload(admin, ROOT_BPMN.read_bytes().replace(timer, b"<bpmn:timeDate>12345 + 1</bpmn:timeDate>"))
    assert resp.status_code == 201
    data = {"enterprise_id": enterprise_id(app), "hazard_description": "阀门锈蚀", "hazard_class": "II",
            "deadline_at": future()}
    resp = api("keqiao_inspector").post("/cases", {"process": "rectification", "data": data})
    assert resp.status_code == 422 and resp.json["error"]["code"] == "model_error"
    assert "Timer_overdue" in resp.json["error"]["message"]


def _inspection(photo_urls):
    return {"external_id": "HI-1", "user_ref": "U1", "inspected_at": "2026-11-01T09:00:00+08:00",
            "result": "safe", "photo_urls": photo_urls}


@pytest.mark.parametrize("links", ["javascript:alert(1)", "https://ok.example/a.jpg javascript:alert(1)",
                                   "data:image/png;base64,AAAA", "file:///etc/passwd", "JavaScript://x.cn/%0aalert(1)"])
def test_photo_links_take_web_addresses_only(app, api, links):
    resp = api("kq_bottled_admin").post("/data/household_inspection", {"records": [_inspection(links)]})
    assert resp.status_code == 422 and not resp.json["accepted"], resp.json
    assert "records[0].photo_urls" in resp.json["error"]["fields"]
    assert "photo_urls" in resp.json["rejected"][0]["errors"]


def test_photo_links_that_are_web_addresses_and_video_streams_are_kept(app, api):
    admin = api("kq_bottled_admin")
    links = "https://img.example.cn/1.jpg; http://10.0.0.8/2.jpg\nhttps://img.example.cn/3.jpg"
    resp = admin.post("/data/household_inspection", {"records": [_inspection(links)]})
    assert resp.status_code == 202 and resp.json["accepted"], resp.json
    camera = {"external_id": "CAM-1", "name": "门口", "site": "储配站", "stream_url": "javascript://x.cn/%0aalert(1)"}
    resp = admin.post("/data/camera", {"records": [camera]})
    assert "stream_url" in resp.json["rejected"][0]["errors"]
    for url in ("rtsp://cam.example.cn/stream1", "rtmp://cam.example.cn/live/1", "https://cam.example.cn/1.m3u8"):
        resp = admin.post("/data/camera", {"records": [{**camera, "stream_url": url}]})
        assert resp.json["accepted"], resp.json["rejected"]
    for url in ("file:///etc/passwd", "data:text/html,x", "ftp://cam.example.cn/1", "vbscript:x"):
        resp = admin.post("/data/camera", {"records": [{**camera, "stream_url": url}]})
        assert list(resp.json["rejected"][0]["errors"]) == ["stream_url"], url
