"""Lesser defects of issue 16: a 405 names the allowed methods; the OpenAPI document requires what
the API requires, and states the Idempotency-Key and the limits."""
from test_idempotency import KEY


def test_a_405_names_the_allowed_methods(app, api, browser):
    resp = api("keqiao_inspector").client.delete("/api/v1/cases", headers=api("keqiao_inspector").headers)
    assert resp.status_code == 405 and resp.json["error"]["code"] == "method_not_allowed"
    assert {"GET", "POST"} <= {m.strip() for m in resp.headers["Allow"].split(",")}
    page = browser("keqiao_inspector").client.put("/cases")
    assert page.status_code == 405 and "GET" in page.headers["Allow"]


def test_openapi_requires_data_to_open_a_case_and_documents_keys_and_limits(app, api):
    from openapi_spec_validator import validate

    inspector = api("keqiao_inspector")
    spec = inspector.get("/openapi.json").json
    validate(spec)
    start = spec["paths"]["/api/v1/cases"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert all(v["required"] == ["process", "data"] for v in start["anyOf"])
    missing = inspector.post("/cases", {"process": "rectification"})
    assert missing.status_code == 422 and "data" in missing.json["error"]["fields"]
    assert inspector.post("/cases", {"process": "rectification", "data": None}).json["error"]["fields"] == {
        "data": ["This field is required."]}

    posts = [(path, ops["post"]) for path, ops in spec["paths"].items() if "post" in ops]
    assert len(posts) >= 10
    for path, op in posts:
        header = [p for p in op["parameters"] if p["in"] == "header"]
        assert [p["name"] for p in header] == [KEY], path
        assert {"400", "409", "422"} <= set(op["responses"]), path
        success = next(r for code, r in op["responses"].items() if code.startswith("2"))
        assert "Idempotent-Replayed" in success["headers"], path
    described = spec["info"]["description"]
    for words in ("Idempotency-Key", "24 hours", "422", "409", f"{app.config['DATA_MAX_RECORDS']} records",
                  "25 MB", "10 MB", "per_page", "10000 per batch"):
        assert words in described, words
