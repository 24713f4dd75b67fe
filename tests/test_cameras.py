"""Cameras (A1.7, A2.4, A3.4; issue 15 item 5): stream addresses of video schemes only, the cameras on their
site's page (HLS played on request with the vendored hls.js, RTSP/RTMP copied for the operator's player) and
as a map layer in the caller's scope."""
from urllib.parse import urlencode

import pytest
from conftest import enterprise_id

CAMERA = {"external_id": "CAM-9", "name": "门口", "site": "华舍储配站", "lon": 120.47, "lat": 30.09}


@pytest.mark.parametrize("url", ["rtsp://10.0.0.8:554/Streaming/Channels/101", "rtsps://cam.example.cn/s1",
                                 "rtmp://video.example.cn/live/gate", "https://video.example.cn/live/gate.m3u8",
                                 "http://10.0.0.9/live/index.m3u8", "https://cam.example.cn/view"])
def test_video_stream_addresses_are_kept(app, api, url):
    resp = api("kq_bottled_admin").post("/data/camera", {"records": [{**CAMERA, "stream_url": url}]})
    assert resp.status_code == 202 and resp.json["accepted"] and not resp.json["rejected"], resp.json


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JavaScript://x.cn/%0aalert(1)", "file:///etc/passwd",
                                 "data:text/html,<script>alert(1)</script>", "ftp://files.example.cn/cam",
                                 "vbscript:msgbox", "https://a.cn/x y.m3u8", "https:/no-host/x.m3u8",
                                 "rtsp://cam.example.cn:99999/s", "hls://cam.example.cn/x"])
def test_other_schemes_are_refused_naming_stream_url(app, api, url):
    resp = api("kq_bottled_admin").post("/data/camera", {"records": [{**CAMERA, "stream_url": url}]})
    # A batch whose every record is refused is a 422 naming the field (records[i].field), with the same
    # per-record answer (D3) beside it.
    assert resp.status_code == 422 and not resp.json["accepted"], resp.json
    assert list(resp.json["error"]["fields"]) == ["records[0].stream_url"]
    assert list(resp.json["rejected"][0]["errors"]) == ["stream_url"]


def test_the_web_form_refuses_a_script_address_with_a_message(app, browser):
    admin = browser("kq_bottled_admin")
    resp = admin.form_post("/data/camera/new", {**CAMERA, "stream_url": "javascript:alert(1)"})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "rtsp://" in html and "不是视频流地址" in html


@pytest.fixture
def demo(app, engine):
    from web.demo.cases import seed_demo_cases
    from web.extensions import db

    with app.app_context():
        assert seed_demo_cases(engine, db.session) is True


def test_the_map_layer_lists_cameras_in_scope(demo, api):
    features = api("keqiao_supervisor").get("/map/features?layers=cameras").json["features"]
    kinds = sorted(f["properties"]["stream_kind"] for f in features)
    assert kinds == ["hls", "rtmp", "rtsp", "web"]
    for f in features:
        p = f["properties"]
        assert p["layer"] == "cameras" and p["url"].startswith("/monitoring/site?")
        assert -180 <= f["geometry"]["coordinates"][0] <= 180
    assert len(api("kq_bottled_staff").get("/map/features?layers=cameras").json["features"]) == 4
    for user in ("yuecheng_inspector", "yc_pipeline_staff"):
        assert api(user).get("/map/features?layers=cameras").json["features"] == [], user
    # Every layer by default includes the cameras; the stations open their site page.
    every = api("keqiao_supervisor").get("/map/features").json["features"]
    assert {"cameras", "stations"} <= {f["properties"]["layer"] for f in every}
    station = next(f["properties"] for f in every if f["properties"]["layer"] == "stations")
    assert station["url"].startswith("/monitoring/site?")


def test_the_site_page_plays_hls_on_request_and_offers_the_other_addresses(app, demo, browser):
    client = browser("kq_bottled_staff").client
    ent = enterprise_id(app)
    resp = client.get("/monitoring/site?" + urlencode({"enterprise": ent, "site": "华舍储配站"}))
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "vendor/hls.js/hls.min.js" in html and html.count('class="camera-play"') == 1
    assert "autoplay" not in html and html.count('class="camera-copy"') == 2  # rtsp and rtmp
    assert "rtsp://10.20.1.11:554/Streaming/Channels/101" in html and "VLC" in html
    policy = resp.headers["Content-Security-Policy"]
    assert "media-src 'self' blob: https://video.example.cn" in policy and "script-src" not in policy
    assert "储罐1#液位" in html and "/monitoring/readings?" in html  # its sensors lead to their trends
    # A site without an HLS camera loads no player and keeps the usual policy.
    plain = client.get("/monitoring/site?" + urlencode({"enterprise": ent, "site": "柯岩供应站"}))
    assert plain.status_code == 200
    assert "hls.min.js" not in plain.get_data(as_text=True)
    assert "media-src" not in plain.headers["Content-Security-Policy"]
    assert "https://video.example.cn/cameras/keyan-store" in plain.get_data(as_text=True)
    # Another county's inspector does not see the site; a county's supervisor does.
    query = urlencode({"enterprise": ent, "site": "华舍储配站"})
    assert browser("yuecheng_inspector").client.get(f"/monitoring/site?{query}").status_code == 404
    assert browser("keqiao_supervisor").client.get(f"/monitoring/site?{query}").status_code == 200


def test_the_vendored_player_is_served_with_its_licence(app):
    client = app.test_client()
    player = client.get("/static/vendor/hls.js/hls.min.js")
    assert player.status_code == 200 and b"Hls" in player.data
    assert b"Apache License" in client.get("/static/vendor/hls.js/LICENSE").data
