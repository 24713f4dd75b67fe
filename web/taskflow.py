"""What the pages and the API share: binding forms to a caller, submitting them to the engine,
and presenting cases and tasks. One path, so both validate and act alike."""
from datetime import UTC, datetime

from sqlalchemy import select

from forms import FORMS
from forms.schema import formdata_from_json, task_data, unknown_fields
from models import Attachment, Case, CaseEvent, Enterprise, ProcessModel, Task, User
from workflows import access
from workflows.engine import NewFile
from workflows.errors import InvalidInput, NotFound

from . import case_engine
from .extensions import db


def bind_form(form_key: str, user, json: dict | None = None, task: Task | None = None):
    """The form for ``form_key``, with the caller's choices; from a browser post or a JSON object.

    Some forms grow fields from the case (a checklist's items, a data batch's rows): ``for_case``.
    Forms that offer records as choices fill them in ``load_choices`` for the caller's scope.
    """
    cls = FORMS.get(form_key)
    if cls is None:
        raise NotFound(f"no form '{form_key}'")
    if task is not None and hasattr(cls, "for_case"):
        cls = cls.for_case(task.case.data or {})
    errors = {}
    if json is not None:
        if not isinstance(json, dict):
            raise InvalidInput("data must be an object", {"data": ["Must be an object."]})
        md, errors = formdata_from_json(json)
        form = cls(formdata=md, meta={"csrf": False})
        errors.update(unknown_fields(form, json))
    else:
        form = cls()  # Flask-WTF takes the posted form and files of the current request
    if hasattr(form, "enterprise_id"):
        rows = db.session.execute(select(Enterprise.id, Enterprise.name)
                                  .where(access.enterprise_scope(user)).order_by(Enterprise.name)).all()
        form.enterprise_id.choices = [(r.id, r.name) for r in rows]
    if hasattr(form, "load_choices"):
        form.load_choices(user, db.session)
    if errors:
        form.validate()
        raise InvalidInput("invalid data", {**form.errors, **errors})
    return form


def _uploads(form) -> tuple[list[NewFile], dict[str, list[int]]]:
    files, ids = [], {}
    for field in form:
        if hasattr(field, "uploads"):
            for f in field.uploads:
                files.append(NewFile(f.filename, f.mimetype, f.read(), field.name))
            if field.ids:
                ids[field.name] = field.ids
    return files, ids


def start_case(process_key: str, user, form) -> int:
    data = task_data(form)
    enterprise_id = data.get("enterprise_id")
    title = _case_title(process_key, enterprise_id, data)
    return case_engine().start_case(process_key, data, user, enterprise_id=enterprise_id, title=title)


def complete_task(task: Task, user, form) -> int:
    files, ids = _uploads(form)
    return case_engine().complete_task(task.id, user, task_data(form), files=files, attachment_ids=ids)


def start_form_key(process_key: str) -> str:
    model = db.session.scalar(select(ProcessModel).where(ProcessModel.key == process_key)
                              .order_by(ProcessModel.version.desc()).limit(1))
    if model is None:
        raise InvalidInput("unknown process", {"process": ["Unknown process."]})
    return model.meta.get("start_form") or ""


def _case_title(process_key, enterprise_id, data) -> str:
    model = db.session.scalar(select(ProcessModel.name).where(ProcessModel.key == process_key).limit(1))
    enterprise = db.session.get(Enterprise, enterprise_id) if enterprise_id else None
    parts = [model or process_key]
    if enterprise:
        parts.append(enterprise.name)
    if data.get("hazard_class"):
        parts.append(data["hazard_class"])
    return " · ".join(parts)


def visible_case(case_id: int, user) -> Case:
    case = db.session.get(Case, case_id)
    if case is None or not access.can_see_case(user, case):
        raise NotFound("no such case")
    return case


def visible_task(task_id: int, user) -> Task:
    task = db.session.get(Task, task_id)
    if task is None or not access.can_see_task(user, task):
        raise NotFound("no such task")
    return task


def visible_attachment(att_id: int, user) -> Attachment:
    att = db.session.get(Attachment, att_id)
    if att is None:
        raise NotFound("no such attachment")
    if att.case_id is None:
        if att.uploaded_by_id != user.id:
            raise NotFound("no such attachment")
    else:
        visible_case(att.case_id, user)
    return att


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def is_overdue(task: Task, now: datetime | None = None) -> bool:
    return task.status == "open" and task.due_at is not None and task.due_at < (now or datetime.now(UTC))


def task_dict(task: Task) -> dict:
    return {
        "id": task.id, "case_id": task.case_id, "name": task.spec_name, "title": task.title,
        "role": task.role, "county": task.county_id, "enterprise": task.enterprise_id,
        "assignee": task.assignee.username if task.assignee else None, "due_at": iso(task.due_at),
        "created_at": iso(task.created_at), "status": task.status, "overdue": is_overdue(task),
        "form_key": task.form_key,
    }


def history(case: Case) -> list[dict]:
    events = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))
    users = {}
    out = []
    for ev in events:
        if ev.actor_id and ev.actor_id not in users:
            users[ev.actor_id] = db.session.get(User, ev.actor_id)
        actor = users.get(ev.actor_id)
        out.append({"at": iso(ev.at), "actor": actor.username if actor else None,
                    "actor_name": actor.display_name if actor else None, "event": ev.event,
                    "task": ev.task_name or None, "task_id": ev.task_id, "detail": ev.detail})
    return out


def open_tasks(case: Case, user) -> list[Task]:
    return db.session.scalars(select(Task).where(Task.case_id == case.id, Task.status == "open",
                                                 access.task_scope(user)).order_by(Task.id)).all()


def case_dict(case: Case, user, full: bool = True) -> dict:
    model = case.process_model
    out = {
        "id": case.id, "process": case.process_key, "version": model.version, "title": case.title,
        "status": case.status, "enterprise": case.enterprise_id, "county": case.county_id,
        "created_at": iso(case.created_at), "completed_at": iso(case.completed_at),
    }
    if full:
        out["data"] = case.data
        out["tasks"] = [task_dict(t) for t in open_tasks(case, user)]
        out["history"] = history(case)
        out["attachments"] = [
            {"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size,
             "task_id": a.task_id}
            for a in db.session.scalars(select(Attachment).where(Attachment.case_id == case.id)
                                        .order_by(Attachment.id))
        ]
    return out


def active_elements(case: Case) -> list[str]:
    """BPMN element ids where the case stands now, for the diagram highlight."""
    rows = db.session.scalars(select(Task.spec_name).where(Task.case_id == case.id, Task.status == "open"))
    ids = list(dict.fromkeys(rows))
    if case.status == "completed":
        end = db.session.scalar(select(CaseEvent.detail).where(CaseEvent.case_id == case.id,
                                                               CaseEvent.event == "case_completed"))
        if end and end.get("end"):
            ids.append(end["end"])
    return ids
