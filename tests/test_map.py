"""The map (O5): layers as GeoJSON in the caller's scope, nearby queries answered by the database
(PostGIS through its GiST indexes on PostgreSQL, a bounding box and haversine on SQLite), the page
and its locally served Leaflet."""
import itertools
import math
import os
import re
import shutil
from datetime import UTC, datetime, timedelta

import pytest
from conftest import CHROMIUM_ARGS, enterprise_id, keep_screenshot, sign_in_page
from sqlalchemy import select, text

KQ_BOTTLED, KQ_PIPELINE, YC_PIPELINE = "柯桥区瓶装液化气供应有限公司", "柯桥天然气有限公司", "越城燃气有限公司"
HERE = (120.49, 30.08)  # 柯桥区瓶装液化气供应有限公司
_external = itertools.count(1)


def haversine(lon1, lat1, lon2, lat2):
    r = 6371008.8
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def offset(lon, lat, east_m, north_m):
    """A point about east_m/north_m metres from (lon, lat)."""
    deg = math.pi * 6371008.8 / 180
    return lon + east_m / (deg * math.cos(math.radians(lat))), lat + north_m / deg


def add_stations(app, rows, enterprise=KQ_BOTTLED, status="official"):
    """Station records as the L6 review leaves them: rows of (name, lon, lat); returns their ids."""
    from models import DataBatch, DataRecord
    from web.extensions import db

    ent = enterprise_id(app, enterprise)
    with app.app_context():
        batch = DataBatch(kind="station", enterprise_id=ent, source="api", checksum=f"test-{next(_external)}",
                          status="reviewed")
        db.session.add(batch)
        db.session.flush()
        records = []
        for name, lon, lat in rows:
            ext = f"ST-{next(_external)}"
            records.append(DataRecord(kind="station", enterprise_id=ent, external_id=ext, version=1, status=status,
                                      data={"external_id": ext, "name": name, "station_type": "supply"},
                                      fingerprint=ext, lon=lon, lat=lat, batch_id=batch.id))
        db.session.add_all(records)
        db.session.commit()
        return [r.id for r in records]


def add_warning(app, enterprise, level, status="open"):
    from models import EarlyWarning, Enterprise
    from web.extensions import db

    with app.app_context():
        ent = db.session.get(Enterprise, enterprise_id(app, enterprise))
        now = datetime.now(UTC)
        warning = EarlyWarning(enterprise_id=ent.id, county_id=ent.county_id, category="station",
                               key=f"site/{level}/{status}/{next(_external)}", level=level, description="压力超限",
                               started_at=now, last_seen_at=now, status=status, reading_count=1)
        db.session.add(warning)
        db.session.commit()
        return warning.id


def report_accident(api, app, lon=HERE[0], lat=HERE[1], username="keqiao_inspector"):
    data = {"enterprise_id": enterprise_id(app), "source": "emergency_call", "accident_type": "leak",
            "title": "柯桥储瓶间泄漏", "occurred_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
            "address": "柯桥区华舍街道 12 号", "description": "角阀泄漏"}
    if lon is not None:
        data.update(lon=lon, lat=lat)
    resp = api(username).post("/cases", {"process": "accident", "data": data})
    assert resp.status_code == 201, resp.json
    return resp.json["id"]


def county_id(app, name):
    from models import Region
    from web.extensions import db

    with app.app_context():
        return db.session.scalar(select(Region.id).where(Region.name == name))


def dialect(app):
    from web.extensions import db

    with app.app_context():
        return db.engine.dialect.name


def features(api, username, query=""):
    resp = api(username).get("/map/features" + query)
    assert resp.status_code == 200, resp.json
    assert resp.mimetype == "application/geo+json"
    return resp.json


def names(collection, layer="enterprises"):
    return {f["properties"].get("name") for f in collection["features"] if f["properties"]["layer"] == layer}


# ---- GeoJSON -------------------------------------------------------------------------------------------
def test_features_are_geojson_points_in_lon_lat_order(app, api):
    collection = features(api, "admin", "?layers=enterprises")
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == 12
    for f in collection["features"]:
        assert f["type"] == "Feature" and f["geometry"]["type"] == "Point"
        lon, lat = f["geometry"]["coordinates"]
        assert 119 < lon < 122 and 29 < lat < 31  # Shaoxing: longitude first
    bottled = next(f for f in collection["features"] if f["properties"]["name"] == KQ_BOTTLED)
    assert bottled["geometry"]["coordinates"] == [120.49, 30.08]
    assert bottled["properties"]["kind"] == "bottled" and bottled["properties"]["county"] == "柯桥区"
    assert bottled["properties"]["url"].startswith("/cases?q=")


def test_county_supervisor_sees_only_the_county(app, api):
    add_stations(app, [("柯桥供应站", 120.50, 30.09)])
    add_stations(app, [("越城供应站", 120.58, 30.01)], enterprise=YC_PIPELINE)
    add_warning(app, KQ_BOTTLED, 1)
    add_warning(app, YC_PIPELINE, 2)
    mine = features(api, "keqiao_supervisor")
    assert names(mine) == {KQ_BOTTLED, KQ_PIPELINE, "柯桥汽车加气站"}
    assert names(mine, "stations") == {"柯桥供应站"}
    assert [f["properties"]["enterprise"] for f in mine["features"] if f["properties"]["layer"] == "warnings"] \
        == [KQ_BOTTLED]
    # Asking for another county does not widen the scope.
    other = features(api, "keqiao_supervisor", f"?county={county_id(app, '越城区')}")
    assert other["features"] == []
    everything = features(api, "admin")
    assert YC_PIPELINE in names(everything) and "越城供应站" in names(everything, "stations")


def test_enterprise_user_sees_only_its_own(app, api):
    add_stations(app, [("柯桥供应站", 120.50, 30.09)])
    add_stations(app, [("天然气门站", 120.51, 30.07)], enterprise=KQ_PIPELINE)
    own = features(api, "kq_bottled_staff")
    assert names(own) == {KQ_BOTTLED} and names(own, "stations") == {"柯桥供应站"}


def test_filters_by_county_and_kind(app, api):
    keqiao = features(api, "admin", f"?layers=enterprises&county={county_id(app, '柯桥区')}")
    assert names(keqiao) == {KQ_BOTTLED, KQ_PIPELINE, "柯桥汽车加气站"}
    pipelines = features(api, "admin", "?layers=enterprises&kind=pipeline")
    assert len(pipelines["features"]) == 5 and {f["properties"]["kind"] for f in pipelines["features"]} == {"pipeline"}
    both = features(api, "keqiao_supervisor", "?layers=enterprises&kind=vehicle")
    assert names(both) == {"柯桥汽车加气站"}


def test_open_warnings_by_level_and_open_cases_where_they_are(app, api):
    add_warning(app, KQ_BOTTLED, 1)
    add_warning(app, KQ_PIPELINE, 3)
    add_warning(app, KQ_PIPELINE, 2, status="closed")
    accident = report_accident(api, app, 120.495, 30.085)
    order = api("keqiao_inspector").post("/cases", {"process": "rectification", "data": {
        "enterprise_id": enterprise_id(app, KQ_PIPELINE), "hazard_description": "调压箱锈蚀", "hazard_class": "II",
        "deadline_at": (datetime.now(UTC) + timedelta(days=3)).isoformat()}}).json["id"]

    got = features(api, "keqiao_supervisor", "?layers=warnings,cases")
    warnings = [f["properties"] for f in got["features"] if f["properties"]["layer"] == "warnings"]
    assert [(w["level"], w["enterprise"]) for w in warnings] == [(1, KQ_BOTTLED), (3, KQ_PIPELINE)]
    cases = {f["properties"]["id"]: f for f in got["features"] if f["properties"]["layer"] == "cases"}
    assert set(cases) == {accident, order}
    assert cases[accident]["geometry"]["coordinates"] == [120.495, 30.085]
    assert cases[accident]["properties"]["located"] == "case" and cases[accident]["properties"]["process"] == "accident"
    assert cases[accident]["properties"]["url"] == f"/cases/{accident}"
    assert cases[order]["geometry"]["coordinates"] == [120.50, 30.07]  # at its enterprise
    assert cases[order]["properties"]["located"] == "enterprise"
    assert features(api, "yuecheng_inspector", "?layers=warnings,cases")["features"] == []


def test_feature_parameters_are_checked(app, api):
    admin = api("admin")
    for query, field in (("?layers=roads", "layers"), ("?kind=lng", "kind"), ("?county=abc", "county")):
        resp = admin.get("/map/features" + query)
        assert resp.status_code == 422 and field in resp.json["error"]["fields"], (query, resp.json)
    assert api("admin").client.get("/api/v1/map/features").status_code == 401


# ---- nearby --------------------------------------------------------------------------------------------
def seed_ring(app):
    """Stations at known distances from HERE: 300 m, 900 m, 1.5 km, 1.9 km inside 2 km; 2.3 km and 8 km out."""
    spots = {"S300": (300, 0), "S1500": (0, -1500), "S900": (-600, 670), "S1900": (1343, 1343),
             "S2300": (0, 2300), "S8000": (-8000, 0)}
    rows = [(n, *offset(*HERE, e, nn)) for n, (e, nn) in spots.items()]
    add_stations(app, rows)
    add_stations(app, [("未审核站", *offset(*HERE, 100, 0))], status="pending")
    add_stations(app, [("越城近站", *offset(*HERE, 400, 400))], enterprise=YC_PIPELINE)
    return {n: (lon, lat) for n, lon, lat in rows}


def check_distances(items, where, center=HERE):
    for item in items:
        expected = haversine(*center, *where[item["name"]])
        assert abs(item["distance_m"] - expected) <= expected * 0.01, (item, expected)


def test_nearby_stations_nearest_first_with_distances(app, api):
    where = seed_ring(app)
    resp = api("keqiao_supervisor").get(f"/map/nearby?lon={HERE[0]}&lat={HERE[1]}&radius_m=2000&layers=stations")
    assert resp.status_code == 200, resp.json
    stations = resp.json["stations"]
    # Pending records are not on the map; another county's station is out of the supervisor's scope.
    assert [s["name"] for s in stations] == ["S300", "S900", "S1500", "S1900"]
    check_distances(stations, where)
    assert stations[0]["enterprise"] == KQ_BOTTLED and "enterprises" not in resp.json
    assert resp.json["radius_m"] == 2000 and resp.json["center"] == {"lon": HERE[0], "lat": HERE[1]}

    wide = api("admin").get(f"/map/nearby?lon={HERE[0]}&lat={HERE[1]}&radius_m=10000").json
    assert [s["name"] for s in wide["stations"]] == ["S300", "越城近站", "S900", "S1500", "S1900", "S2300", "S8000"]
    check_distances([s for s in wide["stations"] if s["name"] in where], where)
    ents = wide["enterprises"]
    assert [e["name"] for e in ents] == [KQ_BOTTLED, KQ_PIPELINE, "柯桥汽车加气站"]
    assert ents[0]["distance_m"] < 1
    for e in ents[1:]:
        expected = haversine(*HERE, e["lon"], e["lat"])
        assert abs(e["distance_m"] - expected) <= expected * 0.01


def test_nearby_of_an_accident_case(app, api):
    where = seed_ring(app)
    accident = report_accident(api, app, *offset(*HERE, 300, 0))
    resp = api("keqiao_supervisor").get(f"/cases/{accident}/nearby?radius_m=2000&layers=stations")
    assert resp.status_code == 200, resp.json
    center = (resp.json["center"]["lon"], resp.json["center"]["lat"])
    assert resp.json["case"] == accident and [s["name"] for s in resp.json["stations"]][:2] == ["S300", "S900"]
    assert "S2300" not in {s["name"] for s in resp.json["stations"]}  # 2.3 km from HERE, about 2.32 km from here
    check_distances(resp.json["stations"], where, center)
    distances = [s["distance_m"] for s in resp.json["stations"]]
    assert distances == sorted(distances) and distances[0] < 5
    # Another county's users do not learn that the case exists.
    assert api("yuecheng_inspector").get(f"/cases/{accident}/nearby").status_code == 404
    # A report without coordinates is placed at its enterprise.
    unplaced = report_accident(api, app, lon=None)
    at_enterprise = api("keqiao_supervisor").get(f"/cases/{unplaced}/nearby?layers=stations").json
    assert at_enterprise["center"] == {"lon": HERE[0], "lat": HERE[1]}


@pytest.mark.parametrize(("query", "field"), [
    ("lat=30.08", "lon"),
    ("lon=&lat=30.08", "lon"),
    ("lon=abc&lat=30.08", "lon"),
    ("lon=120.49", "lat"),
    ("lon=120.49&lat=north", "lat"),
    ("lon=nan&lat=30.08", "lon"),
    ("lon=12.49&lat=30.08", "lon"),
    ("lon=120.49&lat=60", "lat"),
    ("lon=120.49&lat=30.08&radius_m=0", "radius_m"),
    ("lon=120.49&lat=30.08&radius_m=-5", "radius_m"),
    ("lon=120.49&lat=30.08&radius_m=50001", "radius_m"),
    ("lon=120.49&lat=30.08&radius_m=2km", "radius_m"),
    ("lon=120.49&lat=30.08&layers=warnings", "layers"),
])
def test_bad_nearby_parameters_are_422_naming_the_parameter(app, api, query, field):
    resp = api("keqiao_inspector").get("/map/nearby?" + query)
    assert resp.status_code == 422, resp.json
    assert list(resp.json["error"]["fields"]) == [field], resp.json


def test_bad_case_nearby_radius_is_422(app, api):
    accident = report_accident(api, app)
    for radius in ("0", "60000", "x"):
        resp = api("keqiao_inspector").get(f"/cases/{accident}/nearby?radius_m={radius}")
        assert resp.status_code == 422 and "radius_m" in resp.json["error"]["fields"]
    assert api("keqiao_inspector").get(f"/cases/{accident}/nearby?radius_m=50000").status_code == 200


def test_sqlite_prefilters_with_a_bounding_box_in_sql(app):
    """The embedded database reads only rows in the circle's bounding box, not the whole table."""
    if dialect(app) != "sqlite":
        pytest.skip("the bounding box is SQLite's fallback")
    from models import User
    from web.extensions import db
    from workflows.services import spatial

    with app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        sql = str(spatial.nearby_statement("stations", "sqlite", admin, *HERE, 2000).compile(db.engine))
    assert "data_records.lon BETWEEN" in sql and "data_records.lat BETWEEN" in sql


@pytest.mark.postgresql  # PostGIS columns and their GiST indexes exist on PostgreSQL only
def test_postgis_nearby_uses_the_gist_indexes(app):
    from models import User
    from web.extensions import db
    from workflows.services import spatial

    # Enough rows spread over China that the radius selects a tiny share of them.
    grid = [(f"G{i}-{j}", 100 + i * 0.5, 22 + j * 0.5) for i in range(60) for j in range(50)]
    add_stations(app, grid)
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        db.session.execute(text("ANALYZE data_records"))
        db.session.execute(text("ANALYZE enterprises"))
        db.session.execute(text("SET enable_seqscan = off"))
        for layer, index in (("stations", "ix_data_records_geom"), ("enterprises", "ix_enterprises_geom")):
            stmt = spatial.nearby_statement(layer, "postgresql", admin, *HERE, 2000)
            sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
            plan = "\n".join(db.session.connection().exec_driver_sql("EXPLAIN " + sql).scalars())
            assert index in plan, plan
        db.session.execute(text("RESET enable_seqscan"))
        found = spatial.nearby(db.session, "postgresql", admin, 115.0, 30.0, 2000, ["stations"])
    assert [s["name"] for s in found["stations"]] == ["G30-16"]


# ---- the page ------------------------------------------------------------------------------------------
def test_map_page_renders_with_local_leaflet(app, browser):
    client = browser("keqiao_supervisor").client
    page = client.get("/map")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="nav-map"' in html and 'id="map"' in html
    assert "/static/vendor/leaflet/leaflet.js" in html and "/static/vendor/leaflet/leaflet.css" in html
    assert "unpkg" not in html and "cdn" not in html.lower() and 'data-tile-url=""' in html
    assert "柯桥区" in html and "越城区" not in html  # the supervisor's county only
    for asset in ("vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css", "vendor/leaflet/images/layers.png",
                  "js/map.js"):
        resp = client.get(f"/static/{asset}")
        assert resp.status_code == 200 and len(resp.data) > 100, asset
        resp.close()
    assert "connect-src" not in page.headers["Content-Security-Policy"]  # the default: only this site


def test_map_page_is_for_the_authority(app, browser):
    page = browser("kq_bottled_staff").client.get("/map")
    assert page.status_code == 403
    assert 'id="nav-map"' not in browser("kq_bottled_staff").client.get("/").get_data(as_text=True)
    assert browser("admin").client.get("/map").status_code == 200


def test_configured_tiles_are_allowed_by_the_page_policy(app, browser):
    app.config.update(TILE_URL="https://{s}.tiles.example.cn/{z}/{x}/{y}.png", TILE_ATTRIBUTION="© 测绘")
    page = browser("admin").client.get("/map")
    assert "https://*.tiles.example.cn" in page.headers["Content-Security-Policy"]
    assert 'data-tile-url="https://{s}.tiles.example.cn/{z}/{x}/{y}.png"' in page.get_data(as_text=True)


# ---- in a real browser, with no network beyond the platform ---------------------------------------------
CHROMIUM = "/usr/bin/chromium"
needs_chromium = pytest.mark.skipif(not shutil.which(CHROMIUM) and not os.environ.get("GASFLOW_REQUIRE_BROWSER"),
                                    reason="Debian's chromium is not installed (apt-get install chromium)")


# Every label of the grid is centred within the map's box (labels drawn for a size the map no longer has, narrowed
# and Leaflet not told, fall beyond its edge), and none is under a control.
LABELS_INSIDE_THE_MAP = """(() => {
  const map = document.getElementById('map').getBoundingClientRect();
  const labels = [...document.querySelectorAll('.gf-graticule-label span')].map((s) => s.getBoundingClientRect());
  const inside = (r) => {
    const x = (r.left + r.right) / 2, y = (r.top + r.bottom) / 2;
    return x >= map.left && x <= map.right && y >= map.top && y <= map.bottom;
  };
  // ... and none lies under a control (the zoom buttons, the attribution), where it could not be read.
  const controls = [...document.querySelectorAll('#map .leaflet-control')].map((c) => c.getBoundingClientRect());
  const free = (r) => controls.every((c) => r.right <= c.left || r.left >= c.right
                                            || r.bottom <= c.top || r.top >= c.bottom);
  return labels.length >= 4 && labels.every(inside) && labels.every(free);
})()"""


@needs_chromium
@pytest.mark.browser
def test_map_draws_markers_offline_and_lists_stations_near_an_accident(app, api, live_server, tmp_path):
    from playwright.sync_api import sync_playwright


    spot = offset(*HERE, -1500, 1500)
    add_stations(app, [("近站", *offset(*spot, 300, 0)), ("次近站", *offset(*spot, 0, -1200)),
                       ("远站", *offset(*spot, 3000, 0))])
    add_warning(app, KQ_PIPELINE, 1)
    accident = report_accident(api, app, *spot)
    elsewhere = []
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=CHROMIUM_ARGS)
        context = chromium.new_context(locale="zh-CN")

        def only_the_platform(route):
            if route.request.url.startswith(live_server):
                route.continue_()
            else:  # no CDN, no tiles: anything else is a failure
                elsewhere.append(route.request.url)
                route.abort()

        context.route("**/*", only_the_platform)
        page = context.new_page()
        errors = []
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        sign_in_page(page, live_server, "keqiao_supervisor")  # password and second factor
        page.click("#nav-map")
        page.wait_for_selector("#map[data-rendered='true']")
        # 3 enterprises, 3 stations, 1 warning, 1 case
        assert page.locator(".gf-marker").count() == 8
        assert page.inner_text("#map-count") == "已在地图上显示：8"  # the count as a sentence, full-width colon
        assert page.locator(".gf-marker .gf-ent-bottled").count() == 1
        assert page.locator(".gf-marker .gf-ent-vehicle").count() == 1
        assert page.locator(".gf-marker .gf-warning.gf-level-1").count() == 1
        assert page.inner_text(".gf-county") == "柯桥区"
        assert page.locator("path.gf-graticule").count() >= 4
        assert page.locator(".leaflet-tile").count() == 0

        page.click(f".gf-marker[data-layer='cases'][data-id='{accident}']")
        page.click(".leaflet-popup .gf-nearby")
        page.wait_for_selector("#nearby[data-state='done']")
        assert page.locator("#nearby-list li strong").all_inner_texts() == ["近站", "次近站"]
        # The map, narrowed by the list beside it, was measured again: its grid's labels lie inside it.
        assert page.evaluate(LABELS_INSIDE_THE_MAP)
        keep_screenshot(page, "map/map-nearby")
        # 300 m by haversine; PostGIS measures on the spheroid and may say 301.
        assert re.search(r" · (299|300|301) ", page.inner_text("#nearby-list li:first-child"))

        page.select_option("#map-kind", "vehicle")
        page.wait_for_selector("#map[data-rendered='true'][data-count='1']")
        page.uncheck("input[name=layer][value=enterprises]")
        page.wait_for_selector("#map[data-rendered='true'][data-count='0']")
        assert page.locator(".gf-marker").count() == 0
        keep_screenshot(page, "map/map")
        # On a phone: the page no wider than the screen, the grid's labels drawn inside the map.
        page.check("input[name=layer][value=enterprises]")
        page.select_option("#map-kind", "")
        page.wait_for_selector("#map[data-rendered='true'][data-count='8']")
        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_timeout(300)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        # The list of stations goes under the map, which keeps the screen's width.
        assert page.evaluate("document.getElementById('map').getBoundingClientRect().width") >= 340
        assert page.evaluate(LABELS_INSIDE_THE_MAP)
        top = "document.getElementById('%s').getBoundingClientRect().top"
        assert page.evaluate(top % "nearby") > page.evaluate(top % "map")
        keep_screenshot(page, "map/map-390")
        chromium.close()
    assert elsewhere == [] and errors == []
