"""Control of running cases over the API: cancel, suspend, resume, transfer, migrate a case; delegate a
task; preview which cases of a process can move to a newer version. Each needs its right and a reason
(422 naming the field without one), which the case's history and the audit log keep."""
from flask import g, jsonify

from models import Task
from web.common import taskflow
from web.common.rights import api_scope
from web.extensions import case_engine, db

from .authentication import me
from .cases import bp
from .inputs import body, int_arg


def _reason(data: dict):
    """The reason, noted for the audit log's entry of this request (also when the action is refused)."""
    reason = data.get("reason")
    if isinstance(reason, str):
        g.audit_detail = {"reason": reason.strip()[:300]}
    return reason


def _case_reply(case):
    # Read as GET reads it: the row and its lists by one statement, after the control action's flush.
    return jsonify(taskflow.visible_case_dict(case.id, me()))


@bp.post("/cases/<int:case_id>/cancel")
@api_scope("cases:write")
def cancel_case(case_id):
    """Cancel (撤销) a running case: {"reason"}. Its timers and open tasks end; 409 if it is not running."""
    data = body()
    return _case_reply(case_engine().control.cancel(case_id, me(), _reason(data)))


@bp.post("/cases/<int:case_id>/suspend")
@api_scope("cases:write")
def suspend_case(case_id):
    """Suspend an active case: {"reason"}. Its timers pause and its tasks cannot be completed; 409 if not active."""
    data = body()
    return _case_reply(case_engine().control.suspend(case_id, me(), _reason(data)))


@bp.post("/cases/<int:case_id>/resume")
@api_scope("cases:write")
def resume_case(case_id):
    """Resume a suspended case: {"reason"}. Its periods get the time they had left: working days from the day it
    resumes, calendar days to the end of a working day, other timers and due dates by the time it was suspended;
    409 if it is not suspended."""
    data = body()
    return _case_reply(case_engine().control.resume(case_id, me(), _reason(data)))


@bp.post("/cases/<int:case_id>/transfer")
@api_scope("cases:write")
def transfer_case(case_id):
    """Transfer a running case to another county: {"county": the county's id, "reason"}."""
    data = body()
    reason = _reason(data)
    case = case_engine().control.transfer(case_id, me(), data.get("county"), reason)
    db.session.expire_all()
    return jsonify(taskflow.case_dict(case, me(), full=False))


@bp.post("/cases/<int:case_id>/migrate")
@api_scope("cases:write")
def migrate_case(case_id):
    """Move a running case to a newer version of its process: {"reason", "version" (default: the latest)}.
    409 naming the steps the new version lacks when the case stands at one of them."""
    data = body()
    reason = _reason(data)
    return _case_reply(case_engine().control.migrate(case_id, me(), reason, data.get("version")))


@bp.get("/processes/<key>/migration")
@api_scope("read")
def migration_preview(key):
    """The running cases of a process on older versions, each with whether it can move to ?version=
    (default: the latest) and, if not, why."""
    checks = case_engine().control.migration_preview(me(), key, int_arg("version"))
    return jsonify([{"case_id": c.case_id, "title": c.title, "from_version": c.from_version,
                     "to_version": c.to_version, "movable": c.movable, "reason": c.reason,
                     "missing": list(c.missing)} for c in checks])


@bp.post("/tasks/<int:task_id>/delegate")
@api_scope("tasks:write")
def delegate_task(task_id):
    """Delegate (委托) a task of one's own to another user who may work it: {"user": username, "reason"}.
    The delegator keeps sight of it (GET /tasks?scope=delegated)."""
    data = body()
    reason = _reason(data)
    case_engine().control.delegate(task_id, me(), data.get("user"), reason)
    db.session.expire_all()
    return jsonify(taskflow.task_dict(db.session.get(Task, task_id)))


def openapi_extras() -> dict[str, dict]:
    """What the OpenAPI document says of these endpoints' bodies and replies (web/api/openapi.py)."""
    reason = {"type": "string", "minLength": 1, "maxLength": 1000, "description": "why (kept in the case's history)"}
    just_reason = {"type": "object", "required": ["reason"], "properties": {"reason": reason}}

    def json_body(schema):
        return {"required": True, "content": {"application/json": {"schema": schema}}}

    id_schema = {"type": "integer", "format": "int32", "minimum": 1, "maximum": 2**31 - 1}
    return {
        "api.cancel_case": {"body": json_body(just_reason)},
        "api.suspend_case": {"body": json_body(just_reason)},
        "api.resume_case": {"body": json_body(just_reason)},
        "api.transfer_case": {"body": json_body({"type": "object", "required": ["county", "reason"], "properties": {
            "county": {**id_schema, "description": "the id of the county to transfer the case to"},
            "reason": reason}})},
        "api.migrate_case": {"body": json_body({"type": "object", "required": ["reason"], "properties": {
            "reason": reason, "version": {**id_schema, "description": "the version to move to; default the latest"}}})},
        "api.migration_preview": {"reply": {"type": "array", "items": {"type": "object"}},
                                  "query": (("version", {"type": "integer", "minimum": 1}),)},
        "api.delegate_task": {"body": json_body({"type": "object", "required": ["user", "reason"], "properties": {
            "user": {"type": "string", "minLength": 1, "description": "the username of the delegate"},
            "reason": reason}})},
    }
