"""REST API v1 (see shared api.md): processes, decision tables, notifications, cases, tasks, attachments."""
from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, g, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from sqlalchemy import func, select
from wtforms.validators import ValidationError

from forms import FORMS
from forms.fields import ATTACHMENT_TYPES, attachment_type_problem
from forms.schema import json_schema
from models import Case, DecisionModel, Notification, ProcessModel, Task
from workflows import access, attachments
from workflows.decisions import describe_xml
from workflows.errors import InvalidInput
from workflows.text import display_filename

from . import admin, api_description, case_engine, idempotency, notifications, rights, taskflow
from .errors import json_error
from .extensions import db
from .params import MAX_ID, json_id, range_message, whole_number
from .rights import api_scope, check_right
from .security import token_for

bp = Blueprint("api", __name__, url_prefix="/api/v1")
MAX_PER_PAGE = 200


@bp.before_request
def authenticate():
    """Who calls (a bearer token or the browser's session), then the POST's Idempotency-Key: a
    repeat is answered here, from the first request that carried the key."""
    refused = _identify()
    if refused is not None:
        return refused
    return idempotency.begin_api(g.api_user)


def _identify():
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _sep, raw = header.partition(" ")
        token = token_for(db.session, raw.strip(), request.remote_addr) if scheme.lower() == "bearer" else None
        if token is None:
            return json_error(401, "unauthorized", "invalid or expired token")
        g.api_user, g.api_token = token.user, token
        # Read now: the audit entry is written after the request's session has been rolled back.
        g.audit_identity = (token.user.id, token.user.username, token.id)
        missing = rights.token_lacks_scope()
        if missing == "":
            return json_error(403, "missing_scope", "no API key may call this endpoint", {"scope": ["none"]})
        lacking = rights.rights_lacking(token.user) if missing else []
        if lacking:
            return json_error(403, "forbidden", _("Your account lacks the right this needs: %(rights)s.",
                                                  rights=" / ".join(rights.label(r) for r in lacking)),
                              {"right": lacking})
        if missing:
            return json_error(403, "missing_scope", f"this API key lacks the scope '{missing}'",
                              {"scope": [missing]})
        return None
    if not current_user.is_authenticated:
        return json_error(401, "unauthorized", "authentication required")
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        try:  # a browser session must prove the request comes from our pages
            validate_csrf(request.headers.get("X-CSRFToken", ""))
        except (ValidationError, CSRFError):
            return json_error(403, "csrf", "missing or invalid CSRF token")
    g.api_user = current_user._get_current_object()
    return None


def me():
    return g.api_user


def body() -> dict:
    data = request.get_json(silent=True)
    if data is None:
        if request.data:
            abort(400, "malformed JSON body")
        data = {}
    if not isinstance(data, dict):
        raise InvalidInput("body must be a JSON object", {"body": ["Must be a JSON object."]})
    return data


def form_data(data: dict) -> dict:
    """The form's fields a body carries in "data": an object, or none at all."""
    value = data.get("data", {})
    if not isinstance(value, dict):  # null too: it would otherwise read as a browser's form post
        raise InvalidInput("data must be an object", {"data": ["Must be an object."]})
    return value


def page_args() -> tuple[int, int]:
    """page and per_page: whole numbers from 1 (a per_page above MAX_PER_PAGE gets MAX_PER_PAGE)."""
    page, per_page = int_arg("page", 1), int_arg("per_page", 50)
    return page, min(per_page, MAX_PER_PAGE)


def int_arg(name: str, default: int | None = None) -> int | None:
    """A whole-number query parameter (an id, a page, a version): from 1 to 2**31 - 1, else 422."""
    value = request.args.get(name)
    if value in (None, ""):
        return default
    number = whole_number(value)
    if number is None:
        raise InvalidInput(f"{name}: {range_message()}", {name: [range_message()]})
    return number


def paged(stmt, to_dict):
    page, per_page = page_args()
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return jsonify({"items": [to_dict(i) for i in items], "total": total, "page": page})


# ---- process models ---------------------------------------------------------
def model_dict(row: dict) -> dict:
    return {"key": row["key"], "version": row["version"], "name": row["name"],
            "created_at": taskflow.iso(row["created_at"]), "cases": row["cases"], "running": row["running"],
            "completed": row["completed"]}


def uploaded_content(what: str) -> bytes:
    """A multipart upload's "file", else the raw request body."""
    raw = request.get_data()  # read first: `curl --data-binary @x.dmn` posts the file as a urlencoded "form"
    upload = request.files.get("file")
    if upload is not None:
        content = upload.read()
    else:
        content = b"" if request.mimetype == "multipart/form-data" else raw
    if not content.strip():
        raise InvalidInput(f"a {what} file is required", {"file": [f"A {what} file is required."]})
    return content


def admin_only():
    check_right(me(), "models.manage", "only users with the right to manage process models upload them")


@bp.get("/processes")
@api_scope("read")
def list_processes():
    """Every process version (newest first per key) with its case counts: cases, running, completed."""
    return jsonify([model_dict(r) for r in admin.version_rows()])


@bp.get("/processes/<key>/versions")
@api_scope("read")
def process_versions(key):
    """The versions of one process, newest first, with their case counts."""
    rows = admin.version_rows(key)
    if not rows:
        abort(404, "no such process")
    return jsonify({"key": key, "name": rows[0]["name"], "latest": rows[0]["version"],
                    "versions": [model_dict(r) for r in rows]})


@bp.post("/processes")
@api_scope("models:write")
def upload_process():
    """Upload a BPMN file (multipart "file" or raw body): 201 new version, 200 identical, 422 with reasons."""
    admin_only()
    model_id, created = admin.deploy_upload("process", uploaded_content("BPMN"), me().id)
    key = db.session.scalar(select(ProcessModel.key).where(ProcessModel.id == model_id))
    row = next(r for r in admin.version_rows(key) if r["id"] == model_id)
    return jsonify(model_dict(row)), 201 if created else 200


@bp.get("/processes/<key>/bpmn")
@api_scope("read")
def process_bpmn(key):
    """The BPMN XML of a process: the latest version, or ?version=N."""
    return Response(_version_of(ProcessModel, key, "process").bpmn_xml, mimetype="application/xml")


def _version_of(model_cls, key: str, what: str):
    """The latest version of a process or decision table, or the one ?version= names; 404 if none."""
    stmt = select(model_cls).where(model_cls.key == key)
    version = int_arg("version")
    if version is not None:
        stmt = stmt.where(model_cls.version == version)
    model = db.session.scalar(stmt.order_by(model_cls.version.desc()).limit(1))
    if model is None:
        abort(404, f"no such {what} version")
    return model


# ---- decision tables ----------------------------------------------------------
def decision_version_dict(row: dict) -> dict:
    return {"version": row["version"], "name": row["name"], "created_at": taskflow.iso(row["created_at"]),
            "checksum": row["checksum"]}


def decision_dict(key: str) -> dict:
    rows = admin.decision_rows(key)
    if not rows:
        abort(404, "no such decision table")
    latest = db.session.get(DecisionModel, rows[0]["id"])
    return {"key": key, "name": latest.name, "version": latest.version, "table": describe_xml(latest.dmn_xml),
            "versions": [decision_version_dict(r) for r in rows]}


@bp.get("/decisions")
@api_scope("read")
def list_decisions():
    """Decision tables: key, name, latest version and every version (newest first)."""
    return jsonify([{"key": d["key"], "name": d["name"], "version": d["latest"],
                     "versions": [decision_version_dict(r) for r in d["versions"]]}
                    for d in admin.by_key(admin.decision_rows())])


@bp.post("/decisions")
@api_scope("models:write")
def upload_decision():
    """Upload a DMN decision table (multipart "file" or raw body): 201 new version, 200 identical, 422 with reasons."""
    admin_only()
    model_id, created = admin.deploy_upload("decision", uploaded_content("DMN"), me().id)
    key = db.session.scalar(select(DecisionModel.key).where(DecisionModel.id == model_id))
    return jsonify(decision_dict(key)), 201 if created else 200


@bp.get("/decisions/<key>")
@api_scope("read")
def get_decision(key):
    """The latest version of a decision table, described (hit policy, inputs, outputs, rules), and its versions."""
    return jsonify(decision_dict(key))


@bp.get("/decisions/<key>/dmn")
@api_scope("read")
def decision_dmn(key):
    """The DMN XML of a decision table: the latest version, or ?version=N."""
    return Response(_version_of(DecisionModel, key, "decision").dmn_xml, mimetype="application/xml")


# ---- notifications ------------------------------------------------------------
@bp.get("/notifications")
@api_scope("read")
def list_notifications():
    """The caller's notifications, unread first, newest first; ?unread=1 for the unread ones only."""
    stmt = notifications.user_stmt(me())
    unread = request.args.get("unread")
    if unread not in (None, "1", "true", "0", "false"):
        raise InvalidInput("unread must be 1, true, 0 or false", {"unread": ["Must be 1, true, 0 or false."]})
    if unread in ("1", "true"):
        stmt = stmt.where(Notification.read_at.is_(None))
    return paged(stmt, notifications.as_dict)


@bp.post("/notifications/read")
@api_scope("notifications:write")
def read_notifications():
    """Mark the caller's notifications read: {"ids": [..]} or {"all": true}. Returns marked and unread counts."""
    data = body()
    if not isinstance(data.get("all", False), bool):
        raise InvalidInput("all must be true or false", {"all": ["Must be true or false."]})
    if data.get("all") is True:
        marked = notifications.mark_read(me())
    else:
        ids = data.get("ids")
        if not isinstance(ids, list) or not all(json_id(i) is not None for i in ids):
            raise InvalidInput("ids (a list of notification ids) or all: true is required",
                               {"ids": [f"Must be a list of ids (integers from 1 to {MAX_ID})."]})
        marked = notifications.mark_read(me(), ids)
    return jsonify({"marked": marked, "unread": notifications.unread_count(me())})


# ---- cases ------------------------------------------------------------------
@bp.post("/cases")
@api_scope("cases:write")
def create_case():
    """Open a case: {"process": key, "data": the start form's fields}; 201 with the case."""
    data = body()
    process = data.get("process")
    if not isinstance(process, str) or not process:
        raise InvalidInput("process is required", {"process": ["This field is required."]})
    if not isinstance(data.get("data"), dict):
        message = "This field is required." if data.get("data") is None else "Must be an object."
        raise InvalidInput("data (the start form's fields) is required", {"data": [message]})
    case = taskflow.open_case(process, me(), data["data"])
    return jsonify(taskflow.case_dict(case, me())), 201


@bp.get("/cases")
@api_scope("read")
def list_cases():
    stmt = select(Case).where(access.case_scope(me())).order_by(Case.id.desc())
    if request.args.get("process"):
        stmt = stmt.where(Case.process_key == request.args["process"])
    if request.args.get("status"):
        stmt = stmt.where(Case.status == request.args["status"])
    for name, col in (("enterprise", Case.enterprise_id), ("county", Case.county_id)):
        value = int_arg(name)
        if value is not None:
            stmt = stmt.where(col == value)
    return paged(stmt, lambda c: taskflow.case_dict(c, me(), full=False))


@bp.get("/cases/<int:case_id>")
@api_scope("read")
def get_case(case_id):
    """The case: its data, open tasks, history, linked cases, attachments, and its official documents
    (kind, number, status "pending" until the PDF is rendered, then "ready" with its attachment_id)."""
    return jsonify(taskflow.case_dict(taskflow.visible_case(case_id, me()), me()))


@bp.post("/cases/<int:case_id>/comments")
@api_scope("cases:write")
def add_comment(case_id):
    """A comment on a case: JSON {"text"}, or multipart with "text" and "files"."""
    case = taskflow.visible_case(case_id, me())
    if request.mimetype == "multipart/form-data":
        if "files" in request.form:  # a text part where files belong would be dropped without a word
            raise InvalidInput("files must be file parts", {"files": ["Must be files."]})
        text, files = request.form.get("text", ""), request.files.getlist("files")
    else:
        text, files = body().get("text"), []
    event_id = taskflow.add_comment(case, me(), text, files)
    return jsonify(taskflow.comment_dict(case, event_id)), 201


# ---- tasks ------------------------------------------------------------------
@bp.get("/tasks")
@api_scope("read")
def list_tasks():
    """The task queues: scope, process, enterprise, county, due, follow_up, q filters; sort; counts."""
    try:
        query = taskflow.parse_queue_args(request.args, max_per_page=MAX_PER_PAGE)
        result = taskflow.queue_page(me(), query)
    except taskflow.BadFilter as exc:
        return json_error(400, "bad_filter", exc.message, exc.fields)
    return jsonify({"items": [taskflow.task_dict(t) for t in result.items], "total": result.total,
                    "page": result.page, "per_page": result.per_page, "counts": result.counts})


@bp.get("/tasks/<int:task_id>")
@api_scope("read")
def get_task(task_id):
    task = taskflow.visible_task(task_id, me())
    out = taskflow.task_dict(task)
    out["form"] = json_schema(taskflow.bind_form(task.form_key, me(), task=task)) if task.form_key in FORMS else None
    out["case"] = taskflow.case_dict(task.case, me(), full=False)
    return jsonify(out)


@bp.post("/tasks/<int:task_id>/claim")
@api_scope("tasks:write")
def claim(task_id):
    case_engine().claim(task_id, me())
    return _task_reply(task_id)


@bp.post("/tasks/<int:task_id>/unclaim")
@api_scope("tasks:write")
def unclaim(task_id):
    case_engine().unclaim(task_id, me())
    return _task_reply(task_id)


@bp.post("/tasks/<int:task_id>/assign")
@api_scope("tasks:write")
def assign(task_id):
    username = body().get("user")
    if not isinstance(username, str) or not username:
        raise InvalidInput("user is required", {"user": ["This field is required."]})
    case_engine().assign(task_id, me(), username)
    return _task_reply(task_id)


@bp.put("/tasks/<int:task_id>/follow-up")
@api_scope("tasks:write")
def follow_up(task_id):
    """Set (ISO 8601) or clear (null) the task's follow-up date: its assignee or a supervisor."""
    data = body()
    if "follow_up_at" not in data:
        raise InvalidInput("follow_up_at is required", {"follow_up_at": ["This field is required."]})
    task = taskflow.visible_task(task_id, me())
    taskflow.set_follow_up(task, me(), taskflow.parse_instant(data["follow_up_at"], "follow_up_at"))
    return _task_reply(task_id)


@bp.post("/tasks/<int:task_id>/complete")
@api_scope("tasks:write")
def complete(task_id):
    """Complete a task: {"data": the task form's fields}. The reply is the case as the transition left it."""
    # The body is read once the task is known to be the caller's to work (a 404 or 403 comes first).
    case = taskflow.complete(task_id, me(), lambda: form_data(body()))
    return jsonify(taskflow.case_dict(case, me()))


def _task_reply(task_id):
    db.session.expire_all()
    return jsonify(taskflow.task_dict(db.session.get(Task, task_id)))


# ---- attachments --------------------------------------------------------------
@bp.post("/attachments")
@api_scope("tasks:write", "cases:write")  # files for task forms and for start forms (an accident's photos)
def upload_attachment():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidInput("a file is required", {"file": ["A file is required."]})
    problem = attachment_type_problem(upload.mimetype)
    if problem:
        raise InvalidInput(problem, {"file": [problem]})
    content = upload.read(attachments.MAX_BYTES + 1)
    if attachments.refusal(upload.mimetype, len(content)) == attachments.TOO_LARGE:
        return json_error(413, "too_large", "file larger than 10 MB", {"file": ["File larger than 10 MB."]})
    att = attachments.new_attachment(display_filename(upload.filename), upload.mimetype, content,
                                     uploaded_by_id=me().id, enterprise_id=me().enterprise_id)
    db.session.add(att)
    db.session.commit()
    return jsonify({"id": att.id, "filename": att.filename, "size": att.size,
                    "url": url_for("api.download_attachment", att_id=att.id)}), 201


@bp.get("/attachments/<int:att_id>")
@api_scope("read")
def download_attachment(att_id):
    att = taskflow.visible_attachment(att_id, me())
    return Response(att.content, mimetype=att.content_type,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(att.filename)}"})


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
_XML = {"application/xml": {"schema": {"type": "string"}}}


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


def _operation_extras() -> dict[str, dict]:
    """Per endpoint: query parameters, request body, success statuses. Built per request: the schemas
    depend on the caller's choices and on the configuration."""
    from forms.checklist_file import COLUMNS
    from forms.data_kinds import KINDS
    from models import ENTERPRISE_KINDS, LEVELS, QUANTITIES, WARNING_CATEGORIES
    from workflows.spatial import FEATURE_LAYERS, NEARBY_LAYERS

    from .taskflow import DUE_FILTERS, FOLLOW_UP_FILTERS, MAX_SEARCH, SCOPES, SORTS, STATUSES

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
                                              for t in ATTACHMENT_TYPES}},
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
                                            "properties": {"text": {"type": "string", "minLength": 1}}}},
            "multipart/form-data": {"schema": {"type": "object", "required": ["text"], "properties": {
                "text": {"type": "string", "minLength": 1},
                "files": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}}},
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
        "monitoring_api.post_readings": {"success": ("202",), "body": _json_body({
            "type": "object", "required": ["readings"], "properties": {
                "readings": {"type": "array", "minItems": 1, "maxItems": 10_000, "items": _reading_schema()},
                "enterprise_id": {"anyOf": [_ID, {"type": "null"}],
                                  "description": "required from authorities; enterprises send their own"}}})},
        "monitoring_api.get_readings": {"query": (
            ("site", {"type": "string"}), ("sensor", {"type": "string"}), ("quantity", {"enum": list(QUANTITIES)}),
            ("enterprise", _ID), ("since", instant), ("until", instant),
            ("limit", {"type": "integer", "minimum": 1, "maximum": 5000}))},
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
    }


def _path_schema(rule, converter: str | None, name: str) -> dict:
    """A path parameter as the URL rule's converter matches it; where the code declares the set of
    values (data kinds, checklist kinds), that set, so generated requests reach past the 404."""
    if converter == "int":
        return {**_ID, "minimum": 0}  # the rule matches any digits; ids start at 1
    if name == "kind_key":
        from forms.data_kinds import KINDS

        return {"enum": [k.key for k in KINDS]}
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
        params.append(api_description.IDEMPOTENCY_PARAMETER)
    if params:
        op["parameters"] = params
    errors = {"401", "403"}
    if any(p["in"] == "path" for p in params):
        errors.add("404")
    if any(p["in"] == "query" for p in params):
        errors |= {"400", "422"}
    if method in ("post", "put"):
        errors |= {"400", "413", "422"}
        if "body" in spec:
            op["requestBody"] = spec["body"]
    if (rule.rule.startswith(f"{bp.url_prefix}/tasks/") and method in ("post", "put")) or method == "post":
        errors.add("409")  # the task's state; a POST's Idempotency-Key still being served
    media = spec.get("media") or {"application/json": {"schema": spec.get("reply", {"type": "object"})}}
    responses = {code: {"description": "OK" if code == "200" else "Done", "content": media}
                 for code in spec.get("success", ("200",))}
    if method == "post":
        for response in responses.values():
            response["headers"] = api_description.REPLAYED_HEADER
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
                                                 "description": api_description.description()},
                    "servers": [{"url": "/"}], "paths": paths,
                    "components": {"schemas": schemas, "responses": responses,
                                   "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
                    "security": [{"bearer": []}]})


# ---- checklist templates (A5.1) -----------------------------------------------
# Imported where used: this section is appended to a module other work also edits, and its imports stay with it.
def _template_dict(t, items: bool = True) -> dict:
    from .templates_admin import summary

    out = {**summary(t), "created_at": taskflow.iso(t.created_at)}
    if items:
        out["items"] = t.items
    return out


def _template_detail(kind: str, version: int | None = None) -> dict:
    from .templates_admin import TEMPLATE_KINDS, versions_of

    versions = versions_of(kind) if kind in TEMPLATE_KINDS else []
    shown = next((t for t in versions if version is None or t.version == version), None)
    if shown is None:
        abort(404, "no such checklist template")
    return {**_template_dict(shown), "latest": versions[0].version,
            "versions": [_template_dict(t, items=False) for t in versions]}


@bp.get("/checklist-templates")
@api_scope("read")
def list_checklist_templates():
    """The newest version of each checklist template kind (A5.1), with its items {code, text, points, problem_class}."""
    from .templates_admin import TEMPLATE_KINDS, latest_per_kind

    latest = latest_per_kind()
    return jsonify([_template_dict(latest[k]) for k in TEMPLATE_KINDS if k in latest])


@bp.get("/checklist-templates/<kind>")
@api_scope("read")
def get_checklist_template(kind):
    """One kind's newest checklist template (or ?version=N) with its items, and every version, newest first."""
    return jsonify(_template_detail(kind, int_arg("version")))


@bp.post("/checklist-templates/<kind>")
@api_scope("models:write")
def upload_checklist_template(kind):
    """City admin: the next version of a kind, from JSON {"name", "items": [{code, text, points, problem_class}]}
    or a multipart "file" (.xlsx or .json, optional "name"). 201 new version, 200 identical to the latest,
    422 with a message per field (items[i].points ...); nothing is stored unless every row is valid."""
    from forms.checklist_file import MAX_FILE_BYTES, ChecklistFileError, from_json, read_file

    from .templates_admin import TEMPLATE_KINDS, store_upload

    check_right(me(), "templates.manage", "only users with the right to manage checklist templates upload them")
    if kind not in TEMPLATE_KINDS:
        abort(404, "no such checklist template kind")
    try:
        if request.mimetype == "multipart/form-data":
            upload = request.files.get("file")
            if upload is None or not upload.filename:
                raise InvalidInput("an .xlsx or .json file is required", {"file": ["A file is required."]})
            parsed, name = read_file(upload.filename, upload.read(MAX_FILE_BYTES + 1)), request.form.get("name")
        else:
            parsed = from_json(body())
            if parsed.problems:
                raise ChecklistFileError(parsed.problems)
            name = parsed.name
        template, created = store_upload(parsed, kind, name)
    except ChecklistFileError as exc:
        raise InvalidInput("invalid checklist template", exc.fields()) from None
    return jsonify({**_template_detail(kind, template.version), "created": created}), 201 if created else 200
