"""The OpenAPI 3.1 document of the API (GET /api/v1/openapi.json), built on each request from the
URL map, the views' docstrings and the forms."""
from flask import current_app, jsonify
from sqlalchemy import select

from forms import FORMS
from forms.data_files import FILE_KINDS
from forms.fields import ATTACHMENT_TYPES
from forms.schema import json_schema
from models import ProcessModel
from web.common import rights, taskflow
from web.common.rights import api_scope
from web.extensions import db
from workflows.attachments import DOCUMENT_TYPES

from . import control, description
from .authentication import me
from .cases import bp
from .inputs import MAX_PER_PAGE

# ---- OpenAPI ----------------------------------------------------------------------
# The document is built on each request from the URL map (paths, path parameters), the views' docstrings
# (summaries) and the forms (body schemas), so a new route or form field shows up without editing a file.
# What a URL rule cannot tell (query parameters, bodies, status codes) is declared per endpoint below.
# Imported where used: the monitoring and checklist modules import this one.
_RULE_ARG = r"<(?:(?P<conv>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>"
_ERRORS = {"400": "Malformed request: a body that is not JSON, a bad filter, or a malformed Idempotency-Key",
           "401": "No valid bearer token or session",
           "403": "The caller may not do this, the API key lacks the scope (fields.scope names it), or a browser "
                  "session sent no CSRF token",
           "404": "No such object, or not in the caller's scope",
           "409": "The task is not in a state that allows this, or a request with the same Idempotency-Key is "
                  "still being served",
           "405": "No route takes this method for this path: a PATCH, or a write naming an id beyond the range of ids",
           "413": "The body, batch or file is too large",
           "422": "Invalid input: fields names each invalid field; or the Idempotency-Key was sent with a "
                  "different request. Or code model_error: a step of the process model failed, or went over its "
                  "per-step CPU time or memory limit (the message names the BPMN element); nothing was written"}
# A per_page above MAX_PER_PAGE is read as MAX_PER_PAGE (lenient to clients that ask for "everything");
# the document says so rather than calling such a request invalid.
_PAGING = (("page", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}),
           ("per_page", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1,
                         "description": f"Items per page; above {MAX_PER_PAGE} a page holds {MAX_PER_PAGE}."}))
# Ids are PostgreSQL integer columns: a larger number names nothing.
_ID = {"type": "integer", "format": "int32", "minimum": 1, "maximum": 2**31 - 1}
_TEXT64 = {"type": "string", "minLength": 1, "maxLength": 64}


# What a success carries, so a reply of another shape or content type fails the live fuzzing (.ci/live_fuzz.py).
_PAGE = {"type": "object", "required": ["items", "total", "page"], "properties": {
    "items": {"type": "array", "items": {"type": "object"}}, "total": {"type": "integer", "minimum": 0},
    "page": {"type": "integer", "minimum": 1}}}
_LIST = {"type": "array", "items": {"type": "object"}}
# A task's context (workflows/services/task_context.py): what the person deciding it sees, as the task page shows it.
_CONTEXT_KINDS = ["text", "longtext", "number", "money", "bool", "date", "datetime", "enum", "person", "enterprise",
                  "files", "rounds", "records"]
_CONTEXT_ITEM = {
    "type": "object", "required": ["key", "kind", "value", "label", "text"],
    "description": "One thing the task decides on. value: machine-readable (money a number of yuan, datetime ISO "
                   "8601 in UTC, enum the code, files a list of {id, filename, content_type, size}: download with "
                   "GET /attachments/{id}; rounds a list of earlier completions {form, task, at, actor, items}; "
                   "records a batch's rows {ref, summary, fields, files (each with file_kind, file_kind_label, "
                   "size_text, kept)}, personal fields masked unless the caller holds data.personal). label and "
                   "text: as a person reads them (80,000.00 元, 是/否, Beijing time, "
                   "choices by their label). prominent: shown first (why the task came back).",
    "properties": {"key": {"type": "string"}, "kind": {"enum": _CONTEXT_KINDS}, "value": {},
                   "label": {"type": "string"}, "text": {"type": "string"}, "prominent": {"type": "boolean"}}}
_TASK = {"type": "object", "required": ["id", "case_id", "status", "form", "case", "context"], "properties": {
    "id": {"type": "integer"}, "case_id": {"type": "integer"}, "status": {"type": "string"},
    "form": {"type": ["object", "null"], "description": "JSON Schema of the task's form: POST /tasks/{id}/complete"},
    "case": {"type": "object"},
    "context": {"type": "array", "items": _CONTEXT_ITEM,
                "description": "What the task decides on: the case's facts, files and earlier rounds its form "
                               "declares. An enterprise gets only what is addressed to it."}}}
# A data record version's files (workflows/services/data_files.py); `kept`: from an earlier version.
_DATA_FILES = {"type": "array", "items": {"type": "object", "required": ["id", "filename", "size", "url"],
                                          "properties": {
    "id": {"type": "integer"}, "filename": {"type": "string"}, "content_type": {"type": "string"},
    "size": {"type": "integer"}, "file_kind": {"type": ["string", "null"]}, "file_kind_label": {"type": "string"},
    "kept": {"type": "boolean"}, "url": {"type": "string", "description": "GET it to download the file"}}}}
_XML = {"application/xml": {"schema": {"type": "string"}}}
_DAY = {"type": ["string", "null"], "format": "date"}
# A cylinder's trace (workflows/services/cylinder_trace.py), one per enterprise that registered the code.
_CYLINDER_TRACE = {"type": "object", "required": ["code", "cylinders"], "properties": {
    "code": {"type": "string"},
    "cylinders": {"type": "array", "items": {"type": "object", "required": ["enterprise", "code", "inspection",
                                                                           "events", "users", "places"],
                                             "properties": {
        "enterprise": {"type": "object"}, "code": {"type": "string"}, "external_id": {"type": "string"},
        "details": {"type": "object"}, "location": {"enum": ["in", "out", "return", None]},
        "inspection": {"type": "object", "required": ["state", "valid_until", "last_inspected_on"], "properties": {
            "state": {"enum": ["valid", "overdue", "unknown", "failed", "scrapped"]},
            "valid_until": _DAY, "last_inspected_on": _DAY}},
        "events": {"type": "array", "description": "newest first; kind: in, out, return (movements), delivered "
                                                   "(a delivery order), inspection. at: ISO 8601 instant, a day "
                                                   "for inspections", "items": {"type": "object"}},
        "users": {"type": "array", "items": {"type": "object"},
                  "description": "the users it went to: ref, name, user_type, address (no personal fields)"},
        "places": {"type": "array", "items": {"type": "object"},
                   "description": "stations and user addresses it was at"}}}}}}


def _schema_ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json_body(schema: dict, required: bool = True) -> dict:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def _refined(form) -> dict:
    """A form's JSON Schema with the ranges and patterns its validators enforce, so generated examples
    look like what the API accepts (forms.schema leaves them out: the pages do not need them)."""
    from wtforms.validators import Length, NumberRange, Regexp

    schema = json_schema(form)
    for field in form:
        prop = schema["properties"].get(field.name)
        if prop is None:
            continue
        # An optional field's type also allows null (["string", "null"]).
        kind = next((t for t in (prop.get("type") if isinstance(prop.get("type"), list) else [prop.get("type")])
                     if t != "null"), None)
        for v in field.validators:
            if isinstance(v, NumberRange) and kind in ("integer", "number"):
                if v.min is not None:
                    prop["minimum"] = v.min
                if v.max is not None:
                    prop["maximum"] = v.max
            elif isinstance(v, Length) and kind == "string" and v.min and v.min > 0:
                prop["minLength"] = v.min
            elif isinstance(v, Regexp) and kind == "string" and not v.regex.flags & ~32:
                prop["pattern"] = v.regex.pattern  # 32 is re.UNICODE, Python's default for str patterns
    return schema


def _records_body() -> dict:
    from forms.data_kinds import KINDS

    return _json_body({"type": "object", "required": ["records"], "properties": {
        "records": {"type": "array", "minItems": 1, "maxItems": current_app.config["DATA_MAX_RECORDS"],
                    "items": {"anyOf": [_schema_ref(f"data_{k.key}") for k in KINDS]},
                    "description": "records of the kind named in the path: components.schemas.data_<kind>"}}})


def _start_body() -> dict:
    """One variant per process, so the start form's schema comes with the process it starts."""
    rows = db.session.execute(select(ProcessModel.key, ProcessModel.meta).order_by(ProcessModel.key,
                                                                                   ProcessModel.version.desc()))
    variants, seen = [], set()
    for key, meta in rows:
        if key in seen:
            continue  # the newest version's start form is the one a new case gets
        seen.add(key)
        start = (meta or {}).get("start_form")
        data = _schema_ref(start) if start in FORMS else {"type": "object"}
        variants.append({"type": "object", "required": ["process", "data"], "additionalProperties": False,
                         "properties": {"process": {"const": key}, "data": data}})
    generic = {"type": "object", "required": ["process", "data"], "properties": {
        "process": {"type": "string", "minLength": 1}, "data": {"type": "object"}}}
    return _json_body({"anyOf": variants} if variants else generic)


def _reading_schema() -> dict:
    from models import QUANTITIES, SITE_KINDS

    return {"type": "object", "required": ["site", "sensor", "quantity", "value", "at"],
            "additionalProperties": False, "properties": {
                "site": _TEXT64, "sensor": _TEXT64, "site_kind": {"enum": [*SITE_KINDS, None]},
                "quantity": {"enum": list(QUANTITIES)}, "value": {"type": "number"},
                "at": {"type": "string", "format": "date-time", "description": "ISO 8601 with a UTC offset"}}}


def _rule_schema() -> dict:
    from models import COMPARISONS, LEVELS, QUANTITIES, SITE_KINDS

    return {"type": "object", "required": ["quantity", "comparison", "threshold", "level"],
            "properties": {"id": {"anyOf": [_ID, {"type": "null"}], "description": "absent or null: a new rule"},
                           "quantity": {"enum": list(QUANTITIES)},
                           "site_kind": {"enum": [*SITE_KINDS, None]}, "comparison": {"enum": list(COMPARISONS)},
                           "threshold": {"type": "number", "minimum": -1e6, "maximum": 1e6},
                           "level": {"enum": list(LEVELS)}, "active": {"type": "boolean"}}}


def _file_body(extra: dict | None = None, raw: bool = False) -> dict:
    content = {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary"}, **(extra or {})}}}}
    if raw:  # `curl --data-binary @model.bpmn` sends the file as the body itself
        content["application/octet-stream"] = {"schema": {"type": "string", "format": "binary"}}
    return {"required": True, "content": content}


def _enterprise_schema(create: bool) -> dict:
    """The register's fields as the enterprise form checks them; PATCH takes any of them and active."""
    from forms.enterprises import EnterpriseForm

    schema = _refined(EnterpriseForm(meta={"csrf": False}))
    schema["properties"]["uscc"].update({"minLength": 18, "maxLength": 18, "pattern": "^[0-9A-HJ-NPQRTUWXY]{18}$"})
    schema["properties"]["county_id"] = _ID
    if create:
        schema["required"] = ["name", "uscc", "kind", "county_id"]
    else:
        schema["properties"]["active"] = {"type": "boolean"}
        schema["required"] = []
    return schema


def _operation_extras() -> dict[str, dict]:
    """Per endpoint: query parameters, request body, success statuses. Built per request: the schemas
    depend on the caller's choices and on the configuration."""
    from forms.certificate import KINDS as CERTIFICATE_KINDS
    from forms.checklist_file import COLUMNS
    from forms.data_kinds import KINDS
    from models import ENTERPRISE_KINDS, LEVELS, QUANTITIES, WARNING_CATEGORIES
    from web.common.taskflow import DUE_FILTERS, FOLLOW_UP_FILTERS, MAX_SEARCH, SCOPES, SORTS, STATUSES
    from workflows.services.spatial import FEATURE_LAYERS, NEARBY_LAYERS

    instant = {"type": "string", "format": "date-time"}
    version = (("version", {"type": "integer", "minimum": 1}),)
    personal = sorted({name for k in KINDS for name in k.personal_fields})
    near = (("radius_m", {"type": "number", "exclusiveMinimum": 0, "maximum": 50_000}),
            ("layers", {"type": "string", "description": f"comma-separated: {', '.join(NEARBY_LAYERS)}"}))
    item = {"type": "object", "properties": {c: {"type": "string"} for c in COLUMNS}}
    item["properties"]["points"] = {"type": "integer", "minimum": 0}
    return {
        "api.list_processes": {"reply": _LIST},
        "api.list_decisions": {"reply": _LIST},
        "api.list_checklist_templates": {"reply": _LIST},
        "data_api.kinds": {"reply": _LIST},
        "api.process_bpmn": {"query": version, "media": _XML},
        "api.decision_dmn": {"query": version, "media": _XML},
        "api.download_attachment": {"media": {t: {"schema": {"type": "string", "format": "binary"}}
                                              for t in dict.fromkeys((*ATTACHMENT_TYPES, *DOCUMENT_TYPES))}},
        "api.get_checklist_template": {"query": version},
        "api.upload_process": {"body": _file_body(raw=True), "success": ("201", "200")},
        "api.upload_decision": {"body": _file_body(raw=True), "success": ("201", "200")},
        "api.upload_checklist_template": {"success": ("201", "200"), "body": {"required": True, "content": {
            "application/json": {"schema": {"type": "object", "required": ["items"], "properties": {
                "name": {"type": "string"}, "items": {"type": "array", "minItems": 1, "items": item}}}},
            **_file_body({"name": {"type": "string"}})["content"]}}},
        "api.list_notifications": {"reply": _PAGE,
                                   "query": (("unread", {"enum": ["1", "true", "0", "false"]}), *_PAGING)},
        "api.read_notifications": {"body": _json_body({"type": "object", "properties": {
            "ids": {"type": "array", "items": _ID}, "all": {"type": "boolean"}}})},
        "api.create_case": {"body": _start_body(), "success": ("201",)},
        "api.list_cases": {"reply": _PAGE, "query": (("process", {"type": "string"}), ("status", {"type": "string"}),
                                     ("enterprise", _ID), ("county", _ID), *_PAGING)},
        "api.add_comment": {"success": ("201",), "body": {"required": True, "content": {
            "application/json": {"schema": {"type": "object", "required": ["text"],
                                            "properties": {"text": {"type": "string", "minLength": 1},
                                                           "visible_to_party": {"type": "boolean"}}}},
            "multipart/form-data": {"schema": {"type": "object", "required": ["text"], "properties": {
                "text": {"type": "string", "minLength": 1},
                "visible_to_party": {"enum": ["1", "true", "0", "false"]},
                "files": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}}},
        "api.get_task": {"reply": _TASK},
        "api.list_tasks": {"query": (
            ("scope", {"enum": list(SCOPES)}), ("status", {"enum": list(STATUSES)}),
            ("process", {"type": "string"}), ("enterprise", _ID), ("county", _ID),
            ("due", {"enum": list(DUE_FILTERS)}), ("follow_up", {"enum": list(FOLLOW_UP_FILTERS)}),
            ("q", {"type": "string", "maxLength": MAX_SEARCH}), ("sort", {"enum": list(SORTS)}), *_PAGING)},
        "api.assign": {"body": _json_body({"type": "object", "required": ["user"],
                                           "properties": {"user": {"type": "string", "minLength": 1}}})},
        "api.follow_up": {"body": _json_body({"type": "object", "required": ["follow_up_at"],
                                              "properties": {"follow_up_at": {"type": ["string", "null"],
                                                                              "format": "date-time"}}})},
        "api.complete": {"body": _json_body({"type": "object", "properties": {"data": {
            "type": "object", "description": "the task's form: GET /tasks/{task_id} → form"}}})},
        "api.upload_attachment": {"body": _file_body(), "success": ("201",)},
        "data_api.submit": {"body": _records_body(), "success": ("202", "200")},
        "data_api.list_records": {"reply": _PAGE, "query": (
            ("status", {"enum": ["official", "pending", "rejected", "superseded", "all"]}),
            ("external_id", {"type": "string"}), ("enterprise", _ID),
            *((name, {"type": "string", "description": "exact search on a personal field"}) for name in personal),
            *_PAGING)},
        "data_api.record_versions": {"query": (("enterprise", _ID),)},
        "data_api.record_files": {"reply": _DATA_FILES},
        "data_api.add_record_files": {"success": ("201",), "reply": _DATA_FILES, "body": {"required": True, "content": {
            "multipart/form-data": {"schema": {"type": "object", "required": ["file", "file_kind"], "properties": {
                "file": {"type": "array", "minItems": 1, "items": {"type": "string", "format": "binary"}},
                "file_kind": {"enum": list(FILE_KINDS), "description": "one of the kind's `files` (GET /data)"}}}}}}},
        "monitoring_api.post_readings": {"success": ("202",), "body": _json_body({
            "type": "object", "required": ["readings"], "properties": {
                "readings": {"type": "array", "minItems": 1, "maxItems": 10_000, "items": _reading_schema()},
                "enterprise_id": {"anyOf": [_ID, {"type": "null"}],
                                  "description": "required from authorities; enterprises send their own"}}})},
        "monitoring_api.get_readings": {"query": (
            ("site", {"type": "string"}), ("sensor", {"type": "string"}), ("quantity", {"enum": list(QUANTITIES)}),
            ("enterprise", _ID), ("since", instant), ("until", instant),
            ("limit", {"type": "integer", "minimum": 1, "maximum": 5000}))},
        "monitoring_api.get_series": {"query": (
            ("enterprise", _ID), ("site", {"type": "string", "minLength": 1, "maxLength": 64}),
            ("sensor", {"type": "string", "minLength": 1, "maxLength": 64}), ("quantity", {"enum": list(QUANTITIES)}),
            ("window", {"enum": ["24h", "7d", "30d"]})), "required": ("enterprise", "site", "sensor", "quantity"),
            "errors": ("404",)},  # a series outside the caller's scope, or none
        "monitoring_api.get_warnings": {"reply": _PAGE, "query": (
            ("status", {"enum": ["open", "closed"]}), ("level", {"enum": list(LEVELS)}),
            ("category", {"enum": list(WARNING_CATEGORIES)}), ("county", _ID), ("enterprise", _ID), *_PAGING)},
        "monitoring_api.put_threshold_rules": {"body": _json_body({"type": "object", "required": ["rules"],
                                                                   "properties": {"rules": {
                                                                       "type": "array", "items": _rule_schema()}}})},
        "map_api.map_features": {"media": {"application/geo+json": {"schema": {
            "type": "object", "required": ["type", "features"],
            "properties": {"type": {"const": "FeatureCollection"}, "features": {"type": "array"}}}}}, "query": (
            ("layers", {"type": "string", "description": f"comma-separated: {', '.join(FEATURE_LAYERS)}"}),
            ("county", _ID), ("kind", {"enum": list(ENTERPRISE_KINDS)}))},
        "map_api.map_nearby": {"query": (("lon", {"type": "number", "minimum": 73, "maximum": 136}),
                                         ("lat", {"type": "number", "minimum": 3, "maximum": 54}), *near),
                               "required": ("lon", "lat")},
        "map_api.case_nearby": {"query": near},
        "register_api.list_enterprises": {"reply": _PAGE, "query": (
            ("q", {"type": "string", "maxLength": 64}), ("county", _ID), ("kind", {"enum": list(ENTERPRISE_KINDS)}),
            ("active", {"enum": ["true", "false", "all"]}), *_PAGING)},
        "register_api.create_enterprise": {"success": ("201",), "body": _json_body(_enterprise_schema(True))},
        # No field given changes nothing: the body may be left out.
        "register_api.patch_enterprise": {"body": _json_body(_enterprise_schema(False), required=False)},
        "measures_api.indicators": {"query": (
            ("month", {"type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$"}), ("county", _ID),
            ("enterprise", _ID))},
        "measures_api.scores": {"query": (
            ("day", {"type": "string", "format": "date"}),
            ("quarter", {"type": "string", "pattern": "^[0-9]{4}-Q[1-4]$"}), ("county", _ID), ("enterprise", _ID))},
        "register_api.list_certificates": {"reply": _PAGE, "query": (
            ("kind", {"enum": [k for k, _label in CERTIFICATE_KINDS]}),
            ("status", {"enum": ["valid", "renewing", "expired", "revoked"]}), ("county", _ID),
            ("q", {"type": "string", "maxLength": 64}), *_PAGING)},
        "cylinder_api.cylinder_trace_of": {"query": (("enterprise", _ID),), "reply": _CYLINDER_TRACE},
        **control.openapi_extras(),  # control of running cases (web/api/control.py)
    }


def _path_schema(rule, converter: str | None, name: str) -> dict:
    """A path parameter as the URL rule's converter matches it; where the code declares the set of
    values (data kinds, checklist kinds), that set, so generated requests reach past the 404."""
    if converter == "int":
        return {**_ID, "minimum": 0}  # the rule matches any digits; ids start at 1
    if name == "kind_key":
        from forms.data_kinds import KINDS

        return {"enum": [k.key for k in KINDS]}
    if name == "code" and rule.endpoint.startswith("cylinder_api."):
        from workflows.services.cylinder_trace import MAX_CODE

        # A "/" may join the parts of a code (the rule's path converter), not begin, end or double one.
        return {"type": "string", "minLength": 1, "maxLength": MAX_CODE, "pattern": "^[^/]+(/[^/]+)*$"}
    if name == "kind" and "checklist_template" in rule.endpoint:
        from models import TEMPLATE_KINDS

        return {"enum": list(TEMPLATE_KINDS)}
    return {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}


def _operation(rule, method: str, extras: dict) -> dict:
    import re

    doc = (current_app.view_functions[rule.endpoint].__doc__ or "").strip()
    summary = " ".join(doc.split()) or rule.endpoint.split(".", 1)[-1].replace("_", " ").capitalize()
    op = {"operationId": rule.endpoint.replace(".", "_"), "summary": summary,
          "tags": [rule.rule.removeprefix(bp.url_prefix).strip("/").split("/")[0] or "api"]}
    # The API key scope the endpoint needs (any one of them), as OpenAPI 3.1 lets a bearer scheme name roles.
    needed = rights.scope_needed(rule.endpoint, method.upper())
    if needed:
        op["security"] = [{"bearer": [scope]} for scope in needed]
    spec = extras.get(rule.endpoint, {})
    params = [{"name": m["name"], "in": "path", "required": True, "schema": _path_schema(rule, m["conv"], m["name"])}
              for m in re.finditer(_RULE_ARG, rule.rule)]
    required = set(spec.get("required", ()))
    params += [{"name": name, "in": "query", "required": name in required, "schema": schema}
               for name, schema in spec.get("query", ())]
    if method == "post":
        params.append(description.IDEMPOTENCY_PARAMETER)
    if params:
        op["parameters"] = params
    errors = {"401", "403"}
    if any(p["in"] == "path" for p in params):
        errors.add("404")
    if any(p["in"] == "path" and p["schema"].get("type") == "string" for p in params):
        errors.add("422")  # a NUL or unpaired surrogate in a text path parameter: refused naming it
    if any(p["in"] == "query" for p in params):
        errors |= {"400", "422"}
    if method in ("post", "put", "patch"):
        errors |= {"400", "413", "422"}
        if "body" in spec:
            op["requestBody"] = spec["body"]
    if method == "patch" or (method != "get" and any(p["in"] == "path" and p["schema"].get("type") == "integer"
                                                      for p in params)):
        errors.add("405")  # an id beyond the range of ids: the path is then another route's, without this method
    errors |= set(spec.get("errors", ()))
    if (rule.rule.startswith(f"{bp.url_prefix}/tasks/") and method in ("post", "put")) or method == "post":
        errors.add("409")  # the task's state; a POST's Idempotency-Key still being served
    media = spec.get("media") or {"application/json": {"schema": spec.get("reply", {"type": "object"})}}
    responses = {code: {"description": "OK" if code == "200" else "Done", "content": media}
                 for code in spec.get("success", ("200",))}
    if method == "post":
        for response in responses.values():
            response["headers"] = description.REPLAYED_HEADER
    responses.update({code: {"$ref": f"#/components/responses/E{code}"} for code in sorted(errors)})
    op["responses"] = responses
    return op


@bp.get("/openapi.json")
@api_scope("read")
def openapi():
    """This document: OpenAPI 3.1, generated from the routes, their docstrings and the forms."""
    import re

    from forms.data_forms import form_for
    from forms.data_kinds import KINDS

    extras = _operation_extras()
    paths = {}
    for rule in sorted(current_app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(bp.url_prefix + "/") or rule.endpoint == "static":
            continue
        path = re.sub(_RULE_ARG, lambda m: "{" + m["name"] + "}", rule.rule)
        ops = paths.setdefault(path, {})
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            ops[method.lower()] = _operation(rule, method.lower(), extras)
    schemas = {key: json_schema(taskflow.bind_form(key, me())) for key in FORMS}
    # A data kind's record, as POST /data/<kind> takes it.
    schemas.update({f"data_{k.key}": _refined(form_for(k.key)(meta={"csrf": False})) for k in KINDS})
    schemas["Error"] = {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message", "fields"], "properties": {
            "code": {"type": "string"}, "message": {"type": "string"},
            "fields": {"type": "object", "description": "field name → its messages"}}}}}
    responses = {f"E{code}": {"description": text, "content": {"application/json": {"schema": _schema_ref("Error")}}}
                 for code, text in _ERRORS.items()}
    return jsonify({"openapi": "3.1.0", "info": {"title": "gasflow API", "version": "1",
                                                 "description": description.description()},
                    "servers": [{"url": "/"}], "paths": paths,
                    "components": {"schemas": schemas, "responses": responses,
                                   "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
                    "security": [{"bearer": []}]})
