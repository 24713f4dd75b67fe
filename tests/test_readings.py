"""Monitoring readings over the REST API (A1.8, A2.5, A3.5): batches in, validation record by record,
scopes out."""
import json
from datetime import UTC, datetime, timedelta

from conftest import enterprise_id


def ago(minutes: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()


def reading(site="KQ-LPG-01", sensor="T-01", quantity="temperature", value=21.5, minutes=10, **extra) -> dict:
    return {"site": site, "site_kind": "storage_station", "sensor": sensor, "quantity": quantity,
            "value": value, "at": ago(minutes), **extra}


def test_valid_batch_is_stored_and_read_back(app, api):
    staff = api("kq_bottled_staff")
    batch = [reading(value=20 + i, minutes=30 - i) for i in range(5)] + [reading(sensor="P-01", quantity="pressure",
                                                                                  value=0.8)]
    resp = staff.post("/readings", {"readings": batch})
    assert resp.status_code == 202, resp.json
    assert resp.json == {"accepted": 6, "rejected": [], "warnings_opened": []}

    got = staff.get("/readings?site=KQ-LPG-01&sensor=T-01").json
    assert got["count"] == 5
    assert [r["value"] for r in got["items"]] == [24, 23, 22, 21, 20]  # newest first
    first = got["items"][0]
    assert first["enterprise_id"] == enterprise_id(app) and first["site_kind"] == "storage_station"
    assert datetime.fromisoformat(first["at"]).tzinfo is not None
    assert staff.get("/readings?limit=2").json["count"] == 2
    since = staff.get("/readings", query_string={"since": ago(27.5)}).json
    assert sorted(r["value"] for r in since["items"] if r["sensor"] == "T-01") == [23, 24]


def test_partial_rejection_names_index_and_fields(app, api):
    staff = api("kq_bottled_staff")
    batch = [
        reading(),                                             # 0 fine
        reading(value="hot"),                                  # 1
        {"site": "", "sensor": "T-01", "quantity": "temperature", "value": 1, "at": ago(1)},  # 2
        reading(quantity="humidity", site_kind="moon_base"),   # 3
        reading(at="yesterday"),                               # 4
        reading(at=(datetime.now(UTC) + timedelta(minutes=30)).isoformat()),  # 5 future
        reading(at="2026-01-01T10:00:00"),                     # 6 no offset
        "not an object",                                       # 7
        reading(unit="°C"),                                    # 8 unknown field
        reading(at=(datetime.now(UTC) + timedelta(minutes=2)).isoformat()),  # 9 clock drift: fine
        reading(value=float("nan")),                           # 10 (json.dumps writes NaN)
    ]
    resp = staff.client.post("/api/v1/readings", data=json.dumps({"readings": batch}),
                             content_type="application/json", headers=staff.headers)
    assert resp.status_code == 202, resp.json
    assert resp.json["accepted"] == 2
    rejected = {r["index"]: r["fields"] for r in resp.json["rejected"]}
    assert set(rejected) == {1, 2, 3, 4, 5, 6, 7, 8, 10}
    assert set(rejected[1]) == {"value"} and set(rejected[2]) == {"site"}
    assert set(rejected[3]) == {"quantity", "site_kind"}
    assert set(rejected[4]) == {"at"} and "future" in rejected[5]["at"][0] and "offset" in rejected[6]["at"][0]
    assert rejected[7] == {"reading": ["Must be an object."]} and set(rejected[8]) == {"unit"}
    assert set(rejected[10]) == {"value"}
    assert staff.get("/readings").json["count"] == 2


def test_nothing_valid_is_a_422_listing_every_reading(app, api):
    resp = api("kq_bottled_staff").post("/readings", {"readings": [reading(value=None), reading(sensor=7)]})
    assert resp.status_code == 422
    assert resp.json["accepted"] == 0 and [r["index"] for r in resp.json["rejected"]] == [0, 1]
    assert resp.json["error"]["fields"] == {"readings": ["No valid reading."]}


def test_another_enterprises_readings_are_invisible(app, api):
    assert api("kq_bottled_staff").post("/readings", {"readings": [reading(site="S1")]}).status_code == 202
    assert api("yc_pipeline_staff").post("/readings", {"readings": [reading(site="S1", value=5)]}).status_code == 202

    mine = api("kq_bottled_staff").get("/readings?site=S1").json["items"]
    assert [r["value"] for r in mine] == [21.5]
    theirs = api("yc_pipeline_staff").get("/readings?site=S1").json["items"]
    assert [r["value"] for r in theirs] == [5]
    # Asking for the other enterprise by id gives nothing either.
    assert api("yc_pipeline_staff").get(f"/readings?enterprise={enterprise_id(app)}").json["count"] == 0
    # Authorities see their county; the city admin sees all.
    assert [r["value"] for r in api("keqiao_supervisor").get("/readings?site=S1").json["items"]] == [21.5]
    assert [r["value"] for r in api("yuecheng_inspector").get("/readings?site=S1").json["items"]] == [5]
    assert api("admin").get("/readings?site=S1").json["count"] == 2


def test_batch_limits_and_malformed_json(app, api):
    staff = api("kq_bottled_staff")
    big = staff.post("/readings", {"readings": [reading()] * 10_001})
    assert big.status_code == 413
    assert big.json["error"]["code"] == "batch_too_large" and "readings" in big.json["error"]["fields"]
    bad = staff.client.post("/api/v1/readings", data=b'{"readings": [', content_type="application/json",
                            headers=staff.headers)
    assert bad.status_code == 400 and bad.json["error"]["code"] == "bad_request"
    for payload, field in (({}, "readings"), ({"readings": []}, "readings"), ({"readings": {"a": 1}}, "readings")):
        resp = staff.post("/readings", payload)
        assert resp.status_code == 422 and field in resp.json["error"]["fields"], resp.json
    assert staff.post("/readings", [1, 2]).status_code == 422
    assert staff.get("/readings").json["count"] == 0
    exact = staff.post("/readings", {"readings": [reading(value=i % 40, minutes=600 - i * 0.01)
                                                  for i in range(10_000)]})
    assert exact.status_code == 202 and exact.json["accepted"] == 10_000


def test_who_sends_for_which_enterprise(app, api):
    own, other = enterprise_id(app), enterprise_id(app, "越城燃气有限公司")
    staff, inspector = api("kq_bottled_staff"), api("keqiao_inspector")
    resp = staff.post("/readings", {"enterprise_id": other, "readings": [reading()]})
    assert resp.status_code == 422 and "enterprise_id" in resp.json["error"]["fields"]
    assert staff.post("/readings", {"enterprise_id": own, "readings": [reading()]}).status_code == 202
    # An authority names the enterprise, within its county.
    resp = inspector.post("/readings", {"readings": [reading()]})
    assert resp.status_code == 422 and "enterprise_id" in resp.json["error"]["fields"]
    resp = inspector.post("/readings", {"enterprise_id": other, "readings": [reading()]})
    assert resp.status_code == 422 and resp.json["error"]["fields"]["enterprise_id"] == ["Unknown enterprise."]
    assert inspector.post("/readings", {"enterprise_id": "x", "readings": [reading()]}).status_code == 422
    assert inspector.post("/readings", {"enterprise_id": own, "readings": [reading()]}).status_code == 202
    assert api("admin").post("/readings", {"enterprise_id": other, "readings": [reading()]}).status_code == 202
    assert staff.client.post("/api/v1/readings", json={"readings": [reading()]}).status_code == 401


def test_bad_query_parameters_are_422(app, api):
    staff = api("kq_bottled_staff")
    for query, field in (("since=soon", "since"), ("until=", "until"), ("limit=0", "limit"),
                         ("limit=abc", "limit"), ("limit=99999", "limit"), ("enterprise=x", "enterprise")):
        resp = staff.get(f"/readings?{query}")
        assert resp.status_code == 422 and field in resp.json["error"]["fields"], (query, resp.json)
