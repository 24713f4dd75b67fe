"""The readings page (issue 15 item 5): one sensor's trend over 24 h, 7 d or 30 d with its threshold lines
and its warnings; 30 days come downsampled into hourly buckets; another county's sensors are not found."""
import json
import os
import re
import shutil
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from conftest import CHROMIUM_ARGS, enterprise_id, keep_screenshot, sign_in_page

from workflows.engine import clock

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
SITE, SENSOR, QUANTITY = "华舍储配站", "泄漏探头A", "gas_concentration"
STEP = 10  # minutes between readings
# Two days ago the probe read 14 %LEL for half an hour: a level 2 warning (bpmn/threshold_rules.json: > 10).
SPIKE = range(2 * 24 * 60, 2 * 24 * 60 + 30 + 1)


def minutes_ago(i: int) -> int:
    return 5 + STEP * i  # 5 minutes off the hour marks: a window's edge never falls on a reading


def value(i: int) -> float:
    return 14.0 if minutes_ago(i) in SPIKE else round(1 + (i % 7) * 0.25, 2)


def reading(i: int) -> dict:
    return {"site": SITE, "site_kind": "storage_station", "sensor": SENSOR, "quantity": QUANTITY,
            "value": value(i), "at": (NOW - timedelta(minutes=minutes_ago(i))).isoformat()}


COUNT_30D = 30 * 24 * 60 // STEP  # readings in the last 30 days


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


@pytest.fixture
def probe(app, api):
    """Thirty days of one leak probe, sent as its enterprise sends them."""
    resp = api("kq_bottled_staff").post("/readings", {"readings": [reading(i) for i in range(COUNT_30D)]})
    assert resp.status_code == 202 and resp.json["accepted"] == COUNT_30D, resp.json
    return enterprise_id(app)


def series(api, user, ent, window=None, **extra):
    query = {"enterprise": ent, "site": SITE, "sensor": SENSOR, "quantity": QUANTITY, **extra}
    if window:
        query["window"] = window
    # The server's clock at the module's NOW: in a full run the module is imported minutes before its tests
    # run, and a window's edge would otherwise move past the oldest reading.
    with clock.frozen_at(NOW):
        return api(user).get("/readings/series?" + urlencode(query))


def test_each_window_has_its_points_thresholds_and_warnings(probe, api):
    day = series(api, "kq_bottled_staff", probe, "24h").json
    assert day["bucket_seconds"] is None and day["count"] == 24 * 60 // STEP
    assert [p[1] for p in day["points"]] == [value(i) for i in reversed(range(day["count"]))]
    stamps = [p[0] for p in day["points"]]
    assert stamps == sorted(stamps) and stamps[-1] == ms(NOW - timedelta(minutes=5))
    assert day["unit"] == "%LEL" and day["warnings"] == []  # the spike was two days ago
    levels = {(t["comparison"], t["threshold"], t["level"]) for t in day["thresholds"]}
    assert {(">", 10.0, 2), (">", 25.0, 1)} <= levels

    week = series(api, "kq_bottled_staff", probe, "7d").json
    assert week["bucket_seconds"] is None and week["count"] == len(week["points"]) == 7 * 24 * 60 // STEP
    [warning] = week["warnings"]
    assert warning["level"] == 2 and warning["peak_value"] == 14.0 and warning["status"] == "closed"
    spiked = sorted(minutes_ago(i) for i in range(COUNT_30D) if minutes_ago(i) in SPIKE)  # 2885, 2895, 2905
    assert warning["span_ms"] == [ms(NOW - timedelta(minutes=spiked[-1])),  # from the first reading above 10
                                  ms(NOW - timedelta(minutes=spiked[0] - STEP))]  # to the first back to normal

    month = series(api, "kq_bottled_staff", probe, "30d").json
    assert month["bucket_seconds"] == 3600 and month["count"] == COUNT_30D
    assert 24 * 30 <= len(month["points"]) <= 24 * 30 + 1  # one point an hour, not 4320
    for _ms, mean, low, high in month["points"]:
        assert low <= mean <= high
    spiked = [p for p in month["points"] if p[3] == 14.0]
    assert spiked and all(p[1] < 14.0 or p[2] == 14.0 for p in spiked)  # the maximum keeps the spike
    assert sum(1 for p in month["points"] if p[3] >= 10) == len(spiked)
    assert [w["id"] for w in month["warnings"]] == [warning["id"]]


def test_the_series_is_scoped_and_its_parameters_checked(probe, api):
    for user in ("keqiao_supervisor", "admin"):
        assert series(api, user, probe).status_code == 200, user
    for user in ("yuecheng_inspector", "yc_pipeline_staff"):  # another county, another enterprise
        resp = series(api, user, probe)
        assert resp.status_code == 404, (user, resp.json)
    assert series(api, "kq_bottled_staff", probe, sensor="没有的探头").status_code == 404
    for field, extra in (("window", {"window": "1y"}), ("sensor", {"sensor": ""}),
                         ("quantity", {"quantity": "smell"}), ("enterprise", {"enterprise": "x"}),
                         ("site", {"site": "站\x00"}), ("sensor", {"sensor": "探\x00头"}),
                         ("site", {"site": "x" * 65})):
        query = {"enterprise": probe, "site": SITE, "sensor": SENSOR, "quantity": QUANTITY, **extra}
        resp = api("kq_bottled_staff").get("/readings/series?" + urlencode(query, errors="surrogatepass"))
        assert resp.status_code == 422 and field in resp.json["error"]["fields"], (field, resp.json)


def test_the_page_draws_the_chosen_sensor_and_lists_its_warnings(probe, api, browser):
    client = browser("kq_bottled_staff").client
    html = client.get("/monitoring/readings").get_data(as_text=True)  # the first site and sensor by default
    assert 'id="readings-chart"' in html and "echarts.min.js" in html and "<script>" not in html
    query = urlencode({"enterprise": probe, "site": SITE, "sensor": SENSOR, "quantity": QUANTITY, "window": "7d"})
    resp = client.get(f"/monitoring/readings?{query}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    data = json.loads(re.search(r'id="readings-data">(.*?)</script>', html, re.S).group(1))
    assert data["window"] == "7d" and data["sensor"] == SENSOR and len(data["points"]) == data["count"]
    [warning] = data["warnings"]
    assert f'href="/warnings/{warning["id"]}"' in html and "二级" in html
    assert 'aria-current="page" data-window="7d"' in html
    # The warning's own page leads back to the trend.
    detail = client.get(f"/warnings/{warning['id']}").get_data(as_text=True)
    trend = re.search(r'id="warning-trend" href="([^"]+)"', detail).group(1).replace("&amp;", "&")
    assert client.get(trend).status_code == 200
    # Another county's inspector finds no such site.
    other = browser("yuecheng_inspector").client
    assert other.get(f"/monitoring/readings?{query}").status_code == 404
    assert SITE not in other.get("/monitoring/readings").get_data(as_text=True)
    # Hostile names are refused or not found, never a fault of the database (PostgreSQL refuses NUL in text).
    for bad in ("站\x00", "\ud800", "x" * 500):
        for path in ("/monitoring/readings", "/monitoring/site"):
            resp = client.get(path + "?" + urlencode({"enterprise": probe, "site": bad}, encoding="utf-8",
                                                      errors="surrogatepass"))
            assert resp.status_code in (404, 422), (path, bad, resp.status_code)  # 422: the app refuses NUL
    assert client.get("/monitoring/readings?" + urlencode({"site": "abc", "window": "1y"})).status_code == 404


# ---- in a real browser ------------------------------------------------------------------------------------
CHROMIUM = "/usr/bin/chromium"
needs_chromium = pytest.mark.skipif(not shutil.which(CHROMIUM) and not os.environ.get("GASFLOW_REQUIRE_BROWSER"),
                                    reason="Debian's chromium is not installed (apt-get install chromium)")


@needs_chromium
@pytest.mark.browser
def test_the_chart_draws_on_a_desktop_and_a_phone_and_cameras_play_on_click(app, engine, live_server, tmp_path):
    from playwright.sync_api import sync_playwright

    from web.demo.cases import seed_demo_cases
    from web.extensions import db

    with app.app_context():
        assert seed_demo_cases(engine, db.session) is True
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=CHROMIUM_ARGS)
        held = []
        for name, size in (("desktop", {"width": 1440, "height": 900}), ("phone", {"width": 390, "height": 844})):
            context = chromium.new_context(locale="zh-CN", viewport=size, is_mobile=name == "phone")
            # The demo's cameras are not real: their streams never leave the test.
            context.route("https://video.example.cn/**", lambda route: route.abort())
            # hls.js held back, as on a slow phone connection: the page shows before its scripts run.
            context.route(re.compile(r"/vendor/hls\.js/hls\.min\.js(\?|$)"), lambda route: held.append(route))
            page = context.new_page()
            errors = []
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            sign_in_page(page, live_server, "kq_bottled_staff")
            page.goto(f"{live_server}/monitoring/readings")
            page.wait_for_selector("#readings-chart[data-drawn='yes'] canvas")
            assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
            keep_screenshot(page, f"readings/readings-{name}")
            page.click("#readings-windows a[data-window='30d']")
            page.wait_for_selector("#readings-chart[data-drawn='yes'] canvas")
            assert page.locator("#bucketed").count() == 1
            keep_screenshot(page, f"readings/readings-30d-{name}")
            query = urlencode({"site": f"{enterprise_id(app)}:{SITE}", "sensor": f"{SENSOR}:{QUANTITY}",
                               "window": "30d"})
            page.goto(f"{live_server}/monitoring/readings?{query}")
            page.wait_for_selector("#readings-chart[data-drawn='yes'] canvas")
            assert page.locator("#series-warnings a[href^='/warnings/']").count() >= 2  # the demo's two episodes
            keep_screenshot(page, f"readings/readings-warnings-{name}")
            page.click("#site-link")
            page.wait_for_selector("#site-cameras")
            assert page.locator("video:visible").count() == 0  # nothing plays until asked
            # A tap before the script listens would be lost without a word: the button waits for it.
            assert page.locator(".camera-play").is_disabled()
            while held:
                held.pop().continue_()
            page.click(".camera-play")
            page.wait_for_selector("video.camera-video:visible")
            assert page.evaluate("typeof window.Hls") == "function"
            assert page.locator("video:visible").count() == 1
            assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
            keep_screenshot(page, f"readings/site-{name}")
            assert errors == [], errors
            context.close()
        chromium.close()
