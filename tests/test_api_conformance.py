"""The API answers as its OpenAPI document says: what schemathesis found against the live server
(.ci/live_fuzz.py) when the document and the platform disagreed, each pinned here on both databases."""
from datetime import UTC, datetime

from conftest import enterprise_id
from flows import open_order
from test_inspection import KEQIAO_BOTTLED, KEQIAO_PIPELINE, plan

BIG = 2**31  # one past PostgreSQL's integer: it used to reach the database and end as a 500 there


def test_notification_ids_beyond_any_row_are_refused_naming_the_field(app, api):
    staff = api("kq_bottled_staff")
    for ids in ([BIG], [0], [-1]):
        resp = staff.post("/notifications/read", {"ids": ids})
        assert resp.status_code == 422, (ids, resp.status_code)
        assert "ids" in resp.json["error"]["fields"]
    assert staff.post("/notifications/read", {"ids": [1]}).status_code == 200


def _reading():
    return {"site": "S1", "sensor": "P1", "quantity": "pressure", "value": 0.2,
            "at": datetime.now(UTC).replace(microsecond=0).isoformat()}


def test_a_reading_batch_for_an_enterprise_id_beyond_any_row_is_refused_naming_the_field(app, api):
    for user in ("admin", "kq_bottled_staff"):
        resp = api(user).post("/readings", {"enterprise_id": BIG, "readings": [_reading()]})
        assert resp.status_code == 422, resp.json
        assert resp.json["error"]["fields"]["enterprise_id"] == ["Must be an id (an integer from 1 to 2147483647)."]
    # null stands for "my own enterprise", as the document says
    resp = api("kq_bottled_staff").post("/readings", {"enterprise_id": None, "readings": [_reading()]})
    assert resp.status_code == 202


def test_readings_filtered_by_an_unknown_quantity_are_refused_naming_the_field(app, api):
    resp = api("admin").get("/readings?quantity=null")
    assert resp.status_code == 422 and "quantity" in resp.json["error"]["fields"]
    assert api("admin").get("/readings?quantity=pressure").status_code == 200


def test_form_values_of_another_json_type_than_documented_are_refused_naming_the_field(app, api):
    # A number for a text, a text for a number, a single value for a list, a list for a single value.
    for wrong in ({"name": 0}, {"template_id": "1"}, {"enterprise_ids": enterprise_id(app, KEQIAO_BOTTLED)},
                  {"department": ["a", "b"]}, {"delegated": "false"}, {"enterprise_ids": [True]}):
        resp = plan(api, app, **wrong)
        assert resp.status_code == 422, (wrong, resp.json)
        (field,) = wrong
        assert field in resp.json["error"]["fields"], (wrong, resp.json)
    # null is no value: refused where a value is required, nothing where it is optional
    assert "name" in plan(api, app, name=None).json["error"]["fields"]
    resp = plan(api, app, delegate_unit=None,
                enterprise_ids=[enterprise_id(app, KEQIAO_BOTTLED), enterprise_id(app, KEQIAO_PIPELINE)])
    assert resp.status_code == 201, resp.json


def test_a_data_record_value_of_another_json_type_is_rejected_naming_the_field(app, api):
    resp = api("kq_bottled_admin").post("/data/station", {"records": [
        {"external_id": "ST-1", "name": 7, "station_type": "supply"}]})
    assert resp.status_code == 422 and list(resp.json["error"]["fields"]) == ["records[0].name"]
    assert list(resp.json["rejected"][0]["errors"]) == ["name"]
    # With a good record beside it, the batch is taken (202) and the bad one refused on its own.
    resp = api("kq_bottled_admin").post("/data/station", {"records": [
        {"external_id": "ST-1", "name": 7, "station_type": "supply"},
        {"external_id": "ST-2", "name": "二号站", "station_type": "supply"}]})
    assert resp.status_code == 202 and len(resp.json["accepted"]) == 1, resp.json
    assert resp.json["rejected"][0]["index"] == 0 and list(resp.json["rejected"][0]["errors"]) == ["name"]


def test_the_document_states_nulls_and_lists_as_the_platform_reads_them(app, api):
    spec = api("keqiao_supervisor").get("/openapi.json").json
    plan_form = spec["components"]["schemas"]["inspection_plan"]
    assert plan_form["properties"]["enterprise_ids"]["type"] == "array"
    assert plan_form["properties"]["enterprise_ids"]["items"]["type"] == "integer"
    assert plan_form["properties"]["name"]["type"] == "string"  # required: no null
    assert plan_form["properties"]["delegate_unit"]["type"] == ["string", "null"]
    station = spec["components"]["schemas"]["data_station"]
    assert station["properties"]["lon"]["minimum"] == 73  # the refinements still reach optional fields
    paths = spec["paths"]
    readings = paths["/api/v1/readings"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"type": "null"} in readings["properties"]["enterprise_id"]["anyOf"]
    rules = paths["/api/v1/threshold-rules"]["put"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"type": "null"} in rules["properties"]["rules"]["items"]["properties"]["id"]["anyOf"]


def test_mark_read_with_all_not_a_boolean_is_refused_naming_the_field(app, api):
    for bad in ({"all": {}, "ids": []}, {"all": "yes", "ids": []}, {"all": 1, "ids": []}):
        resp = api("kq_bottled_staff").post("/notifications/read", bad)
        assert resp.status_code == 422 and "all" in resp.json["error"]["fields"], (bad, resp.json)


def test_a_comment_whose_files_part_is_text_is_refused_naming_the_field(app, api):
    staff = api("kq_bottled_staff")
    case_id = open_order(api, app)["id"]
    resp = staff.client.post(f"/api/v1/cases/{case_id}/comments", headers=staff.headers,
                             data={"text": "见附件", "files": "{}"}, content_type="multipart/form-data")
    assert resp.status_code == 422 and "files" in resp.json["error"]["fields"], resp.json
    resp = staff.client.post(f"/api/v1/cases/{case_id}/comments", headers=staff.headers,
                             data={"text": "见附件"}, content_type="multipart/form-data")
    assert resp.status_code == 201


def test_the_document_states_what_each_success_carries(app, api):
    spec = api("admin").get("/openapi.json").json
    paths = spec["paths"]

    def ok(path, method="get", code="200"):
        return paths[path][method]["responses"][code]["content"]

    assert list(ok("/api/v1/processes/{key}/bpmn")) == ["application/xml"]
    assert list(ok("/api/v1/map/features")) == ["application/geo+json"]
    assert "application/pdf" in ok("/api/v1/attachments/{att_id}")
    assert ok("/api/v1/cases")["application/json"]["schema"]["required"] == ["items", "total", "page"]
    assert ok("/api/v1/processes")["application/json"]["schema"]["type"] == "array"
    assert ok("/api/v1/cases", "post", "201")["application/json"]["schema"] == {"type": "object"}
    # and the platform answers so: a page of cases, the XML of a model
    cases = api("admin").get("/cases")
    assert cases.mimetype == "application/json" and {"items", "total", "page"} <= set(cases.json)
    assert api("admin").get("/processes/rectification/bpmn").mimetype == "application/xml"


def test_excel_cells_are_still_read_as_text_whatever_the_json_types(app, browser):
    # Only JSON records must carry the documented types: a workbook's numbers reach the form as text.
    from test_data_pages import filled, listed, page_text, template, upload

    staff = browser("kq_bottled_staff")
    rows = [{"external_id": "C1", "code": 1001, "made_on": "2020-05-01", "weight_kg": 15}]
    resp = upload(staff, "cylinder", filled(template(staff.client, "cylinder"), rows))
    assert resp.status_code == 200 and 'data-row="' not in page_text(resp), page_text(resp)[:3000]
    assert listed(staff.client.get("/data/cylinder?status=pending&q=C")) == ["C1"]
