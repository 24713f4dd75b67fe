"""REST API v1 (see shared api.md): processes, decision tables, notifications, cases, tasks, attachments."""
from urllib.parse import quote

from flask import Response, abort, jsonify, request, url_for
from sqlalchemy import select

from forms import FORMS
from forms.fields import attachment_type_problem, content_problem
from forms.schema import json_schema
from models import Case, DecisionModel, Notification, ProcessModel, Task
from web.api import area
from web.common import task_context, taskflow
from web.common.http_errors import json_error
from web.common.params import MAX_ID, json_id
from web.common.rights import api_scope, check_right
from web.common.unit_of_work import writes_done
from web.extensions import case_engine, db
from web.pages import notifications
from web.pages.admin import process_models
from workflows import access, attachments
from workflows.engine.decisions import describe_xml
from workflows.errors import InvalidInput
from workflows.text import display_filename

from .authentication import me
from .inputs import MAX_PER_PAGE, body, int_arg, paged

bp = area("api", __name__)


def form_data(data: dict) -> dict:
    """The form's fields a body carries in "data": an object, or none at all."""
    value = data.get("data", {})
    if not isinstance(value, dict):  # null too: it would otherwise read as a browser's form post
        raise InvalidInput("data must be an object", {"data": ["Must be an object."]})
    return value


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
    return jsonify([model_dict(r) for r in process_models.version_rows()])


@bp.get("/processes/<key>/versions")
@api_scope("read")
def process_versions(key):
    """The versions of one process, newest first, with their case counts."""
    rows = process_models.version_rows(key)
    if not rows:
        abort(404, "no such process")
    return jsonify({"key": key, "name": rows[0]["name"], "latest": rows[0]["version"],
                    "versions": [model_dict(r) for r in rows]})


@bp.post("/processes")
@api_scope("models:write")
def upload_process():
    """Upload a BPMN file (multipart "file" or raw body): 201 new version, 200 identical, 422 with reasons."""
    admin_only()
    model_id, created = process_models.deploy_upload("process", uploaded_content("BPMN"), me().id)
    key = db.session.scalar(select(ProcessModel.key).where(ProcessModel.id == model_id))
    row = next(r for r in process_models.version_rows(key) if r["id"] == model_id)
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
    rows = process_models.decision_rows(key)
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
                    for d in process_models.by_key(process_models.decision_rows())])


@bp.post("/decisions")
@api_scope("models:write")
def upload_decision():
    """Upload a DMN decision table (multipart "file" or raw body): 201 new version, 200 identical, 422 with reasons."""
    admin_only()
    model_id, created = process_models.deploy_upload("decision", uploaded_content("DMN"), me().id)
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
    return jsonify(taskflow.visible_case_dict(case_id, me()))


@bp.post("/cases/<int:case_id>/comments")
@api_scope("cases:write")
def add_comment(case_id):
    """A comment on a case: JSON {"text", "visible_to_party"}, or multipart with "text", "files" and
    "visible_to_party" ("1"/"true"). Authority comments are internal unless visible_to_party is true: the
    enterprise of a case its model keeps internal sees only those (and its own)."""
    case = taskflow.visible_case(case_id, me())
    if request.mimetype == "multipart/form-data":
        if "files" in request.form:  # a text part where files belong would be dropped without a word
            raise InvalidInput("files must be file parts", {"files": ["Must be files."]})
        text, files = request.form.get("text", ""), request.files.getlist("files")
        flag = request.form.get("visible_to_party", "false")
        if flag not in ("1", "true", "0", "false", ""):
            raise InvalidInput("visible_to_party must be true or false",
                               {"visible_to_party": ["Must be true or false."]})
        visible = flag in ("1", "true")
    else:
        data = body()
        text, files, visible = data.get("text"), [], data.get("visible_to_party", False)
        if not isinstance(visible, bool):
            raise InvalidInput("visible_to_party must be true or false",
                               {"visible_to_party": ["Must be true or false."]})
    event_id = taskflow.add_comment(case, me(), text, files, visible)
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
    """The task: its form (JSON Schema), its case, and its context: what the task decides on (the case's facts,
    files and earlier rounds), each item with a machine-readable value and its text for people."""
    task = taskflow.visible_task(task_id, me())
    out = taskflow.task_dict(task)
    out["form"] = json_schema(taskflow.bind_form(task.form_key, me(), task=task)) if task.form_key in FORMS else None
    out["case"] = taskflow.case_dict(task.case, me(), full=False)
    # What the task decides on, as the task page shows it: each item's value and its text for people.
    out["context"] = task_context.context_of(task, me())
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
    refused = attachments.refusal(upload.mimetype, len(content), content)
    if refused == attachments.TOO_LARGE:
        return json_error(413, "too_large", "file larger than 10 MB", {"file": ["File larger than 10 MB."]})
    if refused == attachments.TYPE_NOT_ALLOWED:
        raise InvalidInput(content_problem(), {"file": [content_problem()]})
    att = attachments.new_attachment(display_filename(upload.filename), upload.mimetype, content,
                                     uploaded_by_id=me().id, enterprise_id=me().enterprise_id)
    db.session.add(att)
    writes_done()
    return jsonify({"id": att.id, "filename": att.filename, "size": att.size,
                    "url": url_for("api.download_attachment", att_id=att.id)}), 201


@bp.get("/attachments/<int:att_id>")
@api_scope("read")
def download_attachment(att_id):
    att = taskflow.visible_attachment(att_id, me())
    return Response(att.content, mimetype=att.content_type,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(att.filename)}"})


# ---- checklist templates (A5.1) -----------------------------------------------
# Imported where used: this section is appended to a module other work also edits, and its imports stay with it.
def _template_dict(t, items: bool = True) -> dict:
    from web.pages.admin.checklist_templates import summary

    out = {**summary(t), "created_at": taskflow.iso(t.created_at)}
    if items:
        out["items"] = t.items
    return out


def _template_detail(kind: str, version: int | None = None) -> dict:
    from web.pages.admin.checklist_templates import TEMPLATE_KINDS, versions_of

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
    from web.pages.admin.checklist_templates import TEMPLATE_KINDS, latest_per_kind

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
    from web.pages.admin.checklist_templates import TEMPLATE_KINDS, store_upload

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
