"""The OpenAPI document is a valid OpenAPI 3.1 description of every /api/v1 operation, precise enough
to fuzz: a property-based run over every operation (schemathesis) finds no server error."""
from openapi_spec_validator import validate


def test_openapi_is_valid_and_describes_parameters_bodies_and_errors(app, api):
    spec = api("kq_bottled_admin").get("/openapi.json").json
    validate(spec)
    paths = spec["paths"]
    case = paths["/api/v1/cases/{case_id}"]["get"]
    assert {"name": "case_id", "in": "path", "required": True,
            "schema": {"type": "integer", "minimum": 0}} in case["parameters"]
    versions = paths["/api/v1/data/{kind_key}/{external_id}"]["get"]["parameters"]
    assert [p["name"] for p in versions if p["in"] == "path"] == ["kind_key", "external_id"]

    records = paths["/api/v1/data/{kind_key}"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    items = records["properties"]["records"]
    assert items["maxItems"] == app.config["DATA_MAX_RECORDS"] and items["minItems"] == 1
    assert {"$ref": "#/components/schemas/data_station"} in items["items"]["anyOf"]
    station = spec["components"]["schemas"]["data_station"]
    assert {"external_id", "name", "station_type"} <= set(station["required"])
    assert station["properties"]["lon"]["minimum"] == 73 and "pattern" in station["properties"]["phone"]

    readings = paths["/api/v1/readings"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert readings["properties"]["readings"]["items"]["required"] == ["site", "sensor", "quantity", "value", "at"]
    start = paths["/api/v1/cases"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    variants = {v["properties"]["process"]["const"]: v["properties"]["data"] for v in start["anyOf"]}
    assert variants["rectification"] == {"$ref": "#/components/schemas/rectification_issue"}
    complete = paths["/api/v1/tasks/{task_id}/complete"]["post"]
    assert "data" in complete["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert "multipart/form-data" in paths["/api/v1/attachments"]["post"]["requestBody"]["content"]

    submit = paths["/api/v1/data/{kind_key}"]["post"]["responses"]
    assert {"202", "400", "401", "403", "404", "413", "422"} <= set(submit)
    error = spec["components"]["responses"]["E422"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/Error"}
    assert spec["components"]["schemas"]["Error"]["properties"]["error"]["required"] == ["code", "message", "fields"]
    ids = [op["operationId"] for ops in paths.values() for op in ops.values()]
    assert len(ids) == len(set(ids))
