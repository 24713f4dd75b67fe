"""The API's binding of a task form: values of the wrong JSON type refused naming the field, with the
type the form's JSON schema documents (checked field by field against that schema, for every form).
NUL and lone surrogates are refused before the form sees them (tests/test_hostile_text.py)."""
import pytest
from conftest import enterprise_id, future

from forms import FORMS
from forms.schema import SKIP, _field_schema, _json_type


def _every_field(app):
    with app.test_request_context("/"):
        for key, cls in FORMS.items():
            made = cls.for_case({}) if hasattr(cls, "for_case") else cls
            for field in made(meta={"csrf": False}):
                if field.name not in SKIP:
                    schema = _field_schema(field)
                    yield key, field.name, _json_type(field), (schema.get("type"),
                                                                schema.get("items", {}).get("type"))


def test_the_type_checked_is_the_type_the_schema_documents_for_every_field_of_every_form(app):
    checked = list(_every_field(app))
    assert len(checked) > 100
    assert [(key, name, documented) for key, name, found, documented in checked if found != documented] == []
    assert {found[0] for *_rest, found, _documented in checked} >= {"string", "integer", "number", "boolean",
                                                                     "array"}


@pytest.fixture
def respond_task(app, api):
    case = api("keqiao_inspector").post("/cases", {"process": "rectification", "data": {
        "enterprise_id": enterprise_id(app), "hazard_description": "阀门锈蚀", "hazard_class": "III",
        "deadline_at": future()}}).json
    return next(t["id"] for t in case["tasks"] if t["name"] == "Task_respond")


@pytest.mark.parametrize("data, errors", [
    ({"response": 5}, {"response": ["Must be a string."]}),
    ({"response": ["已整改"]}, {"response": ["Must be a string."]}),
    ({"response": "已整改", "action": True}, {"action": ["Must be a string."]}),
    ({"response": "已整改", "photos": 3}, {"photos": ["Must be a list of integers."]}),
    ({"response": "已整改", "photos": ["3"]}, {"photos": ["Must be a list of integers."]}),
    ({"response": "已整改", "extension_until": 1}, {"extension_until": ["Must be a string."]}),
    ({"response": "已整改", "nothing": "x"}, {"nothing": ["Unknown field."]}),
    ({"response": "x" * 4001}, {"response": ["字段长度不能超过 4000 个字符。"]}),
])
def test_a_completion_of_the_wrong_shape_is_refused_naming_the_field(app, api, respond_task, data, errors):
    staff = api("kq_bottled_staff")
    resp = staff.post(f"/tasks/{respond_task}/complete", {"data": data})
    assert resp.status_code == 422, resp.json
    assert {k: v for k, v in resp.json["error"]["fields"].items() if k in errors} == errors
    assert staff.post(f"/tasks/{respond_task}/complete", {"data": {"response": "已整改"}}).status_code == 200
