"""What the pages and the API share: binding forms to a caller, submitting them to the engine,
querying the task queues, and presenting cases and tasks. One path, so both validate and act alike."""
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import aliased, defer, joinedload, selectinload

from forms import FORMS
from forms.base import BAD_TEXT
from forms.fields import attachment_type_problem, content_problem
from forms.schema import formdata_from_json, task_data, type_errors, unknown_fields
from models import (
    ROLE_CITY_ADMIN,
    Attachment,
    Case,
    CaseEvent,
    Enterprise,
    IssuedDocument,
    ProcessModel,
    Region,
    Task,
    TaskCandidate,
    User,
)
from models.json_rows import JsonRows
from models.versions import newest_versions
from web.extensions import case_engine, db
from workflows import access, attachments, comments, lateness, party
from workflows.attachments import NewFile
from workflows.engine import clock
from workflows.engine.case_engine import Opening, Submission
from workflows.errors import Forbidden, InvalidInput, NotFound
from workflows.lateness import is_late
from workflows.services.documents.templates import KINDS as DOCUMENT_KINDS
from workflows.text import has_bad_text

from .dataflow import visible_record
from .params import json_id, range_message, small_int, whole_number


def bind_form(form_key: str, user, json: dict | None = None, task: Task | None = None, only_given: bool = False):
    """The form for ``form_key``, with the caller's choices; from a browser post or a JSON object.

    Some forms grow fields from the case (a checklist's items, a data batch's rows): ``for_case``.
    Forms that offer records as choices fill them in ``load_choices`` for the caller's scope.
    ``only_given``: the form is bound to validate what the API was sent, never shown nor described, so
    the enterprise it names is the only choice worth reading (``given_enterprise``).
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
        if only_given:
            form.given_enterprise = given_enterprise(form.enterprise_id.data, user)
            form.enterprise_id.choices = [(e.id, e.name) for e in filter(None, [form.given_enterprise])]
        else:
            form.enterprise_id.choices = enterprise_choices(user)
    if hasattr(form, "load_choices"):
        form.load_choices(user, db.session)
    if json is not None:  # after the choices: a field's documented type comes with them
        errors.update(type_errors(form, json))
    if errors:
        form.validate()
        raise InvalidInput("invalid data", {**form.errors, **errors})
    return form


def enterprise_choices(user) -> list[tuple[int, str]]:
    """The open enterprises of the caller's scope, by name: a start form's select."""
    rows = db.session.execute(select(Enterprise.id, Enterprise.name)
                              .where(access.enterprise_scope(user), Enterprise.active.is_(True))
                              .order_by(Enterprise.name)).all()
    return [(r.id, r.name) for r in rows]


_ENTERPRISE = select(Enterprise).where(Enterprise.id == bindparam("id"))


def given_enterprise(given, user) -> Enterprise | None:
    """The enterprise of id ``given`` if it is among ``enterprise_choices(user)``, else None: the form's
    only choice, so it refuses any other id as it refuses any value outside its choices. Read whole, by
    its key: the engine, which reads it for the case's county and documents, then finds it in the
    session instead of the database (``opening`` holds it for that)."""
    given = json_id(given)  # a larger number would overflow the column: no row has it anyway
    # By a statement built once, not s.get's own: building and keying a new statement each time cost as
    # much again as loading the row (the session's own entity is kept, as s.get would find it).
    enterprise = db.session.scalars(_ENTERPRISE, {"id": given}).one_or_none() if given is not None else None
    if enterprise is None or not enterprise.active or not access.can_see_enterprise(user, enterprise):
        return None
    return enterprise


def submission(form) -> Submission:
    """What a validated task form hands the engine: its values, new files, ids of files posted before."""
    files, ids = [], {}
    for field in form:
        if hasattr(field, "uploads"):
            for f in field.uploads:
                files.append(NewFile(f.filename, f.mimetype, f.read(), field.name))
            if field.ids:
                ids[field.name] = field.ids
    return Submission(task_data(form), files, ids, getattr(form, "place_files", None))


def opening(form) -> Opening:
    """What a validated start form hands the engine. The case keeps a title its opener typed; else the
    model's title template names it, or the process, the enterprise and the hazard's class do."""
    data = task_data(form)
    qualifiers = (data["hazard_class"],) if data.get("hazard_class") else ()
    typed = str(data.get("title") or "").strip()
    return Opening(data, data.get("enterprise_id"), title=typed or None, qualifiers=qualifiers,
                   enterprise=getattr(form, "given_enterprise", None))


def start_case(process_key: str, user, form) -> int:
    """Open a case from a start form already bound and validated (the case page's way)."""
    return case_engine().start(process_key, user, lambda _model: opening(form)).id


def open_case(process_key: str, user, json: dict) -> Case:
    """Open a case from the API's JSON: the start check, then the start form read and validated, then the
    case opened, in one unit of work (each once). Returns the case, committed."""
    def submit(model):
        form_key = model.meta.get("start_form")
        if not form_key:
            raise Forbidden(f"'{process_key}' cases are opened by the platform, not by hand")
        form = bind_form(form_key, user, json=json, only_given=True)
        if not form.validate():
            raise InvalidInput("invalid data", form.errors)
        return opening(form)

    try:
        return case_engine().start(process_key, user, submit)
    except NotFound as exc:
        if "process" not in exc.fields:
            raise
        raise InvalidInput("unknown process", {"process": ["Unknown process."]}) from None


def complete_task(task: Task, user, form) -> int:
    """Complete a task from a form already bound and validated (the task page's way)."""
    return case_engine().complete(task.id, user, lambda _task, _case: submission(form)).id


def complete(task_id: int, user, read_json) -> Case:
    """Complete a task from the API's JSON (``read_json()`` gives it): the task locked and read once, the
    caller's access checked once (by the engine), then the form bound to the task as it stands and
    validated, then the transition, in one unit of work. Returns the case, committed."""
    def submit(task, _case):
        form = bind_form(task.form_key, user, json=read_json(), task=task)
        if not form.validate():
            raise InvalidInput("invalid data", form.errors)
        return submission(form)

    return case_engine().complete(task_id, user, submit)


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
    if att.data_record_id is not None:
        # A reported record's file: seen by whoever sees the record (its enterprise, county, the city).
        try:
            visible_record(user, att.data_record_id)
        except NotFound:
            raise NotFound("no such attachment") from None
    elif att.case_id is None:
        if att.uploaded_by_id != user.id:
            raise NotFound("no such attachment")
    else:
        case = visible_case(att.case_id, user)
        keys = party.party_keys(user, case_engine().model(db.session, case.process_model_id).meta)
        if keys is not None and att.id not in party_attachment_ids(case):
            raise NotFound("no such attachment")
    return att


def party_attachment_ids(case: Case) -> set[int]:
    """The files of a case its party sees (where the model keeps the rest internal): the reply's list of
    them, so a download and the list follow one rule."""
    lists = case_lists(case, _FILES_AND_DOCUMENTS)  # a download asks no more
    files, _documents = files_and_documents(case, for_party=True, lists=lists)
    return {f["id"] for f in files}


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def follow_up_reached(task: Task, now: datetime | None = None) -> bool:
    return task.status == "open" and task.follow_up_at is not None and task.follow_up_at <= (now or clock.now())


def task_dict(task: Task) -> dict:
    candidates = []
    if task.candidate_ids:
        candidates = sorted(db.session.scalars(select(User.username).where(User.id.in_(task.candidate_ids))))
    delegated_by = db.session.scalar(select(User.username).where(User.id == task.delegated_by_id)) \
        if task.delegated_by_id else None
    # No case: ``is_late`` reads it only for a task past due (the case row, state and all, is a read of its own).
    return _task_fields(task, task.assignee.username if task.assignee else None, candidates, delegated_by, None)


def _task_fields(task, assignee: str | None, candidates: list[str], delegated_by: str | None,
                 case: Case | None) -> dict:
    """``task_dict`` of a task, or of a row with its columns (then with its ``case``), the users' names already
    looked up."""
    return {
        "id": task.id, "case_id": task.case_id, "name": task.spec_name, "title": task.title,
        "role": task.role, "county": task.county_id, "enterprise": task.enterprise_id,
        "assignee": assignee, "due_at": iso(task.due_at),
        "created_at": iso(task.created_at), "status": task.status, "overdue": is_late(task, case=case),
        "form_key": task.form_key, "follow_up_at": iso(task.follow_up_at),
        "follow_up_reached": follow_up_reached(task), "candidates": candidates, "delegated_by": delegated_by,
    }


def open_task_dicts(case: Case, user, lists: "CaseLists | None" = None) -> list[dict]:
    """``task_dict`` of each open task of the case ``user`` sees: from the tasks' columns with the names of
    their assignee, delegator and candidates (a row per candidate), read with the case's other lists."""
    shown = {}
    for row in (case_lists(case) if lists is None else lists).tasks:
        if row.id not in shown and access.can_see_task(user, row):  # access.task_scope, on the row
            shown[row.id] = _task_fields(row, row.assignee, [], row.delegated_by, case)
        if row.candidate is not None and row.id in shown:
            shown[row.id]["candidates"].append(row.candidate)
    for task in shown.values():
        task["candidates"].sort()
    return list(shown.values())


def history(case: Case, for_party: bool = False, lists: "CaseLists | None" = None) -> list[dict]:
    """The case's history; ``for_party``: only what its party sees (``workflows.party``). ``lists``: the
    case's lists as the caller read them (``case_lists``)."""
    lists = case_lists(case) if lists is None else lists
    # Each event came with who acted and the role of its task: the party sees the events of its own tasks.
    events = lists.history
    if for_party:
        events = [ev for ev in events if party.sees_event(ev.event, ev.detail, ev.role, ev.enterprise_id is not None)]
    # A comment's files are among the case's files, read with the history (without their content: the
    # history only links to them).
    files = {}
    if any(ev.event == "comment" for ev in events):
        files = {r.id: {"id": r.id, "filename": r.filename, "content_type": r.content_type, "size": r.size}
                 for r in lists.files}
    out = []
    for ev in events:
        actor = ev if ev.actor_id else None  # the actor's name and display name came with the event
        detail = ev.detail
        if for_party and ev.event in party.CASE_EVENTS:  # not the model's key, version or end element
            detail = {k: v for k, v in (detail or {}).items() if k == "end_name"}
        entry = {"id": ev.id, "at": iso(ev.at), "actor": actor.username if actor else None,
                 "actor_name": actor.display_name if actor else None, "event": ev.event,
                 "task": ev.task_name or None, "task_id": ev.task_id, "detail": detail}
        if ev.event == "comment":
            entry["attachments"] = [files[i] for i in (ev.detail or {}).get("attachments") or []
                                    if isinstance(i, int) and i in files]
        out.append(entry)
    return out


def open_tasks(case: Case, user) -> list[Task]:
    """The open tasks of the case ``user`` sees, for a page that asks of each whether he may work it."""
    # The candidates (who may work it) and the assignee joined in, not read by statements of their own.
    return db.session.scalars(select(Task).where(Task.case_id == case.id, Task.status == "open",
                                                 access.task_scope(user)).order_by(Task.id)
                              .options(joinedload(Task.candidates), joinedload(Task.assignee))).unique().all()


def party_keys_of(case: Case, user):
    """``party.party_keys`` of the case's model for ``user``: None unless ``user`` is the party of a case
    kept internal. From the engine's per-process facts: the model's row (its XML and spec) stays unread."""
    return party.party_keys(user, case_engine().model(db.session, case.process_model_id).meta)


def case_dict(case: Case, user, full: bool = True, links: tuple | None = None,
              lists: "CaseLists | None" = None) -> dict:
    """The case (or a row of its columns) as the API and the pages show it to ``user``. ``links``: its
    (parent, children) as the caller already looked them up (``linked_cases``), so they are not looked up
    again; ``lists``: its lists, likewise (``case_lists``)."""
    # The version from the engine's per-process facts: the model's row (its XML and spec) stays unread.
    model = case_engine().model(db.session, case.process_model_id)
    out = {
        "id": case.id, "process": case.process_key, "version": model.version, "title": case.title,
        "status": case.status, "enterprise": case.enterprise_id, "county": case.county_id,
        "created_at": iso(case.created_at), "completed_at": iso(case.completed_at),
    }
    if full:
        keys = party_keys_of(case, user)
        lists = case_lists(case) if lists is None else lists
        shown_history = history(case, for_party=keys is not None, lists=lists)
        if keys is not None:  # the party of a case kept internal: no links to the cases around it
            parent, children = None, []
        elif links is not None:
            parent, children = links
        else:
            # The engine notes "case_opened" in a case's history for each case it opens from it: a
            # history without one has no cases to look up.
            parent, children = linked_cases(case, user, any(h["event"] == "case_opened" for h in shown_history))
        out["parent"] = link_dict(parent) if parent else None
        out["children"] = [link_dict(c) for c in children]
        out["data"] = case.data if keys is None else {k: v for k, v in (case.data or {}).items() if k in keys}
        out["path"] = (case.path or []) if keys is None else []  # the elements passed, for the diagram
        out["tasks"] = open_task_dicts(case, user, lists)
        out["history"] = shown_history
        out["attachments"], out["documents"] = files_and_documents(case, for_party=keys is not None, lists=lists)
    return out


def visible_case_dict(case_id: int, user) -> dict:
    """``case_dict`` of the case ``case_id`` if ``user`` may see it (``visible_case``), read with its lists in
    one statement: the case's columns (not its workflow state) where ``access.VISIBLE_CASE`` holds, so for
    a caller who may not see it the statement returns nothing, not even whether it exists."""
    db.session.flush()
    row = db.session.connection().execute(_VISIBLE_CASE_WITH_LISTS,
                                          {"case_id": case_id, **access.visible_case_params(user)}).first()
    if row is None:
        raise NotFound("no such case")
    return case_dict(row, user, lists=_lists_of(row))


def files_and_documents(case: Case, for_party: bool = False,
                        lists: "CaseLists | None" = None) -> tuple[list[dict], list[dict]]:
    """The case's files (the list, not the files: its PDFs and photos stay in the database) and its official
    documents, read with its other lists (``lists``, else read here). A document is "pending" between the
    step that issued it and its PDF being rendered (a moment after; on a queue, as soon as a worker takes
    it). ``for_party``: only what its party sees: its own people's files, and the documents addressed to it
    with their PDFs."""
    # Columns, not the documents: a PDF rendered after the transition's commit (inline, in a session of
    # its own) is seen here although the transition's session still holds the document it issued, and
    # the fields the text was filled from are not decoded for a list.
    lists = case_lists(case) if lists is None else lists
    docs = [d for d in lists.documents if not for_party or DOCUMENT_KINDS[d.kind].addressed]
    pdfs = {d.attachment_id for d in docs}
    files = [{"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size,
              "task_id": a.task_id} for a in lists.files
             if not for_party or a.uploader_enterprise is not None or a.id in pdfs]
    return files, [{"kind": d.kind, "title": DOCUMENT_KINDS[d.kind].title, "number": d.number,
                    "issued_at": iso(d.issued_at), "status": "ready" if d.rendered_at else "pending",
                    "attachment_id": d.attachment_id} for d in docs]


class CaseLists(NamedTuple):
    """What a case's reply lists, as rows of columns: its history, open tasks, files and documents."""
    history: list
    tasks: list
    files: list
    documents: list


def case_lists(case: Case, which: tuple | None = None) -> CaseLists:
    """The lists of ``case``'s reply (``which`` of them, the others left empty: every one unless told) in one
    statement, on the session's connection: columns, no entities, so the ORM's result layer (a third of a
    small read's CPU) is skipped. Flushed first, as ``db.session.execute`` would."""
    which = which or _LISTS
    db.session.flush()
    return _lists_of(db.session.connection().execute(_LISTS_STATEMENTS[which], {"case_id": case.id}).one(), which)


def _lists_of(row, which: tuple | None = None) -> CaseLists:
    which = which or _LISTS
    return CaseLists(*(rows.rows(getattr(row, rows.name)) if rows in which else [] for rows in _LISTS))


# The reply's reads, built once (building a statement costs SQLAlchemy about what running it does): each list
# one JSON column (models/json_rows.py) of one statement, correlated to the case's row.
# Who acted, and the role of the event's task (the party sees the events of its own tasks).
_HISTORY = JsonRows("history", select(
    CaseEvent.id, CaseEvent.at, CaseEvent.actor_id, CaseEvent.event, CaseEvent.task_id, CaseEvent.task_name,
    CaseEvent.detail, User.username, User.display_name, User.enterprise_id, Task.role)
    .outerjoin(User, User.id == CaseEvent.actor_id)
    .outerjoin(Task, (Task.id == CaseEvent.task_id) & (Task.case_id == CaseEvent.case_id))
    .where(CaseEvent.case_id == Case.id))
# A row per candidate; the assignee's and the delegator's names joined in.
_ASSIGNEE, _DELEGATOR, _CANDIDATE = aliased(User), aliased(User), aliased(User)
_OPEN_TASKS = JsonRows("tasks", select(
    Task.id, Task.case_id, Task.spec_name, Task.title, Task.role, Task.county_id, Task.enterprise_id,
    Task.due_at, Task.created_at, Task.status, Task.form_key, Task.follow_up_at,
    _ASSIGNEE.username.label("assignee"), _DELEGATOR.username.label("delegated_by"),
    _CANDIDATE.username.label("candidate"))
    .outerjoin(_ASSIGNEE, _ASSIGNEE.id == Task.assignee_id)
    .outerjoin(_DELEGATOR, _DELEGATOR.id == Task.delegated_by_id)
    .outerjoin(TaskCandidate, TaskCandidate.task_id == Task.id)
    .outerjoin(_CANDIDATE, _CANDIDATE.id == TaskCandidate.user_id)
    .where(Task.case_id == Case.id, Task.status == "open"))
_FILES = JsonRows("files", select(
    Attachment.id, Attachment.filename, Attachment.content_type, Attachment.size, Attachment.task_id,
    User.enterprise_id.label("uploader_enterprise"))
    .outerjoin(User, User.id == Attachment.uploaded_by_id).where(Attachment.case_id == Case.id))
_DOCUMENTS = JsonRows("documents", select(
    IssuedDocument.id, IssuedDocument.kind, IssuedDocument.number, IssuedDocument.issued_at,
    IssuedDocument.rendered_at, IssuedDocument.attachment_id).where(IssuedDocument.case_id == Case.id))
_LISTS = (_HISTORY, _OPEN_TASKS, _FILES, _DOCUMENTS)  # in CaseLists' order
_FILES_AND_DOCUMENTS = (_FILES, _DOCUMENTS)  # what a party's download is checked against
_LISTS_STATEMENTS = {which: select(*(rows.column for rows in which)).where(Case.id == bindparam("case_id"))
                     for which in (_LISTS, _FILES_AND_DOCUMENTS)}
# What case_dict reads of the case itself (its state, the largest column, stays in the database).
_VISIBLE_CASE_WITH_LISTS = select(
    Case.id, Case.process_model_id, Case.process_key, Case.status, Case.title, Case.county_id,
    Case.enterprise_id, Case.data, Case.path, Case.created_at, Case.completed_at, Case.parent_id,
    *(rows.column for rows in _LISTS)).where(Case.id == bindparam("case_id"), access.VISIBLE_CASE)


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


# ---- linked cases -------------------------------------------------------------
def linked_cases(case: Case, user, opened_any: bool = True) -> tuple[Case | None, list[Case]]:
    """The case that opened this one and the cases it opened, as far as ``user`` may see them:
    a linked case outside the caller's scope is left out, not named. ``opened_any``: False when the
    caller knows the case opened none (its history says so), which spares the query."""
    parent = None
    if case.parent_id is not None:
        parent = db.session.scalar(select(Case).where(Case.id == case.parent_id, access.case_scope(user)))
    children = []
    if opened_any:
        children = db.session.scalars(select(Case).where(Case.parent_id == case.id, access.case_scope(user))
                                      .order_by(Case.id)).all()
    return parent, list(children)


def link_dict(case: Case) -> dict:
    return {"id": case.id, "process": case.process_key, "title": case.title, "status": case.status}


# ---- follow-up dates and comments ---------------------------------------------
LOCAL_TZ = ZoneInfo("Asia/Shanghai")
MAX_COMMENT = comments.MAX_TEXT


def parse_instant(value, name: str) -> datetime | None:
    """ISO 8601 from the API or ``YYYY-MM-DDTHH:MM`` from a browser (read as Shanghai time); None clears."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(_("Not a valid date and time."), {name: [_("Not a valid date and time.")]})
    try:
        instant = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(_("Not a valid date and time."), {name: [_("Not a valid date and time.")]}) from None
    return instant if instant.tzinfo else instant.replace(tzinfo=LOCAL_TZ)


def may_set_follow_up(task: Task, user) -> bool:
    return task.status == "open" and (task.assignee_id == user.id or access.can_assign(user, task))


def set_follow_up(task: Task, user, when: datetime | None) -> None:
    case_engine().set_follow_up(task.id, user, when)


def add_comment(case: Case, user, text, uploads, visible_to_party=False) -> int:
    """A comment with files on ``case``; the files are checked as task attachments are, the text by the
    engine (workflows/comments.py), its refusal told in the reader's language. Returns the event id."""
    files = []
    for upload in uploads:
        if upload is None or not upload.filename:
            continue  # an empty file input posts a nameless part
        message = attachment_type_problem(upload.mimetype)
        if message:
            raise InvalidInput(message, {"files": [message]})
        content = upload.read(attachments.MAX_BYTES + 1)
        refused = attachments.refusal(upload.mimetype, len(content), content)
        if refused == attachments.TOO_LARGE:
            raise InvalidInput(_("File larger than 10 MB."), {"files": [_("File larger than 10 MB.")]})
        if refused == attachments.TYPE_NOT_ALLOWED:
            raise InvalidInput(content_problem(), {"files": [content_problem()]})
        files.append(NewFile(upload.filename, upload.mimetype, content, "comment"))
    if has_bad_text(text):  # the page's comment box is read without a form class
        raise InvalidInput(str(BAD_TEXT), {"text": [str(BAD_TEXT)]})
    try:
        return case_engine().add_comment(case.id, user, text, files,
                                         visible_to_party=party.comment_visibility(user, visible_to_party))
    except comments.CommentRefused as exc:
        _refuse_comment(exc)


def _refuse_comment(exc: "comments.CommentRefused"):
    """The engine's refusal of a comment, in the reader's language."""
    if exc.template == comments.NOT_TEXT:
        raise InvalidInput(_("The comment must be text."), {"text": [_("Must be a string.")]}) from None
    if exc.template == comments.TOO_LONG:
        message = _("At most %(n)s characters.", **exc.params)
    else:
        message = _("Write a comment or attach a file.")
    raise InvalidInput(message, {"text": [message]}) from None


def comment_dict(case: Case, event_id: int) -> dict:
    return next(h for h in history(case) if h["id"] == event_id)


# ---- task queues ----------------------------------------------------------------
SCOPES = ("mine", "group", "all", "delegated")  # delegated: tasks I handed on (委托)
STATUSES = ("open", "completed", "cancelled")
DUE_FILTERS = ("overdue", "soon", "none")
FOLLOW_UP_FILTERS = ("reached", "pending", "none")
SORTS = ("priority", "due", "-due", "created", "-created", "follow_up", "-follow_up")
DUE_SOON = timedelta(days=3)
MAX_SEARCH = 100
PER_PAGE = 50


class BadFilter(Exception):
    """A queue parameter the caller got wrong: answered 400 naming it, never 500."""

    def __init__(self, param: str, message: str):
        super().__init__(message)
        self.param, self.message = param, message

    @property
    def fields(self) -> dict:
        return {self.param: [self.message]}


@dataclass
class QueueQuery:
    scope: str = "group"
    status: str = "open"
    process: str = ""
    enterprise: int | None = None
    county: int | None = None
    due: str = ""
    follow_up: str = ""
    q: str = ""
    sort: str = "priority"
    page: int = 1
    per_page: int = PER_PAGE

    def args(self, **changes) -> dict:
        """The query as URL parameters, defaults left out, for links that keep the filters."""
        current = replace(self, **changes)
        blank = QueueQuery()
        return {f.name: getattr(current, f.name) for f in fields(self)
                if getattr(current, f.name) != getattr(blank, f.name)}


def _choice(args, name: str, allowed, default: str) -> str:
    value = args.get(name, "") or default
    if value not in allowed:
        raise BadFilter(name, _("Must be one of: %(values)s.", values=", ".join(a for a in allowed if a)))
    return value


def _int(args, name: str, default: int | None = None, minimum: int = 1) -> int | None:
    value = (args.get(name) or "").strip()
    if not value:
        return default
    # Larger numbers than PostgreSQL's integer columns hold name nothing.
    if whole_number(value, minimum) is None:
        raise BadFilter(name, range_message(minimum))
    return int(value)


def parse_queue_args(args, max_per_page: int = PER_PAGE) -> QueueQuery:
    """Read the queue filters from request parameters; a bad value raises BadFilter."""
    query = QueueQuery(
        scope=_choice(args, "scope", SCOPES, "group"),
        status=_choice(args, "status", STATUSES, "open"),
        due=_choice(args, "due", ("",) + DUE_FILTERS, ""),
        follow_up=_choice(args, "follow_up", ("",) + FOLLOW_UP_FILTERS, ""),
        sort=_choice(args, "sort", SORTS, "priority"),
        enterprise=_int(args, "enterprise"), county=_int(args, "county"),
        page=_int(args, "page", 1),
    )
    if not query.due and args.get("overdue") in ("1", "true"):
        query.due = "overdue"  # the older spelling of the overdue filter, still in the API contract
    per_page = _int(args, "per_page", PER_PAGE)
    if per_page > max_per_page:
        raise BadFilter("per_page", _("At most %(n)s.", n=max_per_page))
    query.per_page = per_page
    process = (args.get("process") or "").strip()
    if process and db.session.scalar(select(ProcessModel.id).where(ProcessModel.key == process).limit(1)) is None:
        raise BadFilter("process", _("Unknown process."))
    query.process = process
    q = (args.get("q") or "").strip()
    if len(q) > MAX_SEARCH:
        raise BadFilter("q", _("At most %(n)s characters.", n=MAX_SEARCH))
    query.q = q
    return query


def queue_stmt(user, scope: str, status: str = "open"):
    """The tasks of one queue: mine (assigned to me), group (my role may pick up), all (my area)."""
    stmt = select(Task).where(access.task_scope(user), Task.status == status)
    if scope == "mine":
        return stmt.where(Task.assignee_id == user.id)
    if scope == "group":
        return stmt.where(access.group_queue(user))
    if scope == "delegated":
        return stmt.where(Task.delegated_by_id == user.id)
    return stmt


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def filtered_stmt(user, query: QueueQuery, now: datetime):
    stmt = queue_stmt(user, query.scope, query.status)
    if query.process or query.q:
        stmt = stmt.join(Case, Case.id == Task.case_id)
    if query.process:
        stmt = stmt.where(Case.process_key == query.process)
    if query.enterprise is not None:
        stmt = stmt.where(Task.enterprise_id == query.enterprise)
    if query.county is not None:
        stmt = stmt.where(Task.county_id == query.county)
    if query.due == "overdue":
        stmt = stmt.where(lateness.late(now))
    elif query.due == "soon":
        stmt = stmt.where(Task.due_at >= now, Task.due_at < now + DUE_SOON)
    elif query.due == "none":
        stmt = stmt.where(Task.due_at.is_(None))
    if query.follow_up == "reached":
        stmt = stmt.where(Task.follow_up_at <= now)
    elif query.follow_up == "pending":
        stmt = stmt.where(Task.follow_up_at > now)
    elif query.follow_up == "none":
        stmt = stmt.where(Task.follow_up_at.is_(None))
    if query.q:
        pattern = _like(query.q)
        stmt = stmt.outerjoin(Enterprise, Enterprise.id == Task.enterprise_id)
        match = [Task.title.ilike(pattern, escape="\\"), Case.title.ilike(pattern, escape="\\"),
                 Enterprise.name.ilike(pattern, escape="\\")]
        if small_int(query.q) is not None:
            match += [Task.id == int(query.q), Task.case_id == int(query.q)]
        stmt = stmt.where(or_(*match))
    return stmt


def _order(query: QueueQuery, now: datetime) -> list:
    descending = query.sort.startswith("-")
    columns = {"due": Task.due_at, "created": Task.created_at, "follow_up": Task.follow_up_at}
    column = columns.get(query.sort.lstrip("-"))
    # Priority: what is late first, then what is due soonest, undated last; late tasks are due before
    # the others, so that is plain due order. Undated tasks go last either way. NULLS LAST (PostgreSQL,
    # SQLite >= 3.30) is an order an index on the column gives, so a page needs no sort of every task.
    column = column if column is not None else Task.due_at
    if descending:
        return [column.desc().nulls_last(), Task.id.desc()]
    return [column.asc().nulls_last(), Task.id]


def _count(stmt) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))


def queue_counts(user, now: datetime | None = None) -> dict:
    """The tab counts in one pass over the open tasks in scope (one statement, not four)."""
    now = now or clock.now()
    row = db.session.execute(
        select(func.count().filter(Task.assignee_id == user.id).label("mine"),
               func.count().filter(access.group_queue(user)).label("group"),
               func.count().label("all"), func.count().filter(lateness.late(now)).label("overdue"),
               func.count().filter(Task.delegated_by_id == user.id).label("delegated"))
        .where(access.task_scope(user), Task.status == "open")).one()
    return {"mine": row.mine, "group": row.group, "all": row.all, "overdue": row.overdue,
            "delegated": row.delegated}


@dataclass
class QueuePage:
    items: list
    total: int
    page: int
    per_page: int
    counts: dict

    @property
    def pages(self) -> int:
        return max((self.total + self.per_page - 1) // self.per_page, 1)


def queue_page(user, query: QueueQuery, now: datetime | None = None) -> QueuePage:
    now = now or clock.now()
    stmt = filtered_stmt(user, query, now)
    total = _count(stmt)
    # A page shows each task's case title and enterprise, never its task tree: the state (the largest
    # column, several KB of JSON per case) stays in the database.
    items = db.session.scalars(stmt.options(selectinload(Task.case).options(defer(Case.state),
                                                                            selectinload(Case.enterprise)),
                                            selectinload(Task.assignee))
                               .order_by(*_order(query, now))
                               .limit(query.per_page).offset((query.page - 1) * query.per_page)).all()
    return QueuePage(items=list(items), total=total, page=query.page, per_page=query.per_page,
                     counts=queue_counts(user, now))


def queue_choices(user) -> dict:
    """What the queue's filter form offers: processes, enterprises in scope, counties for the city admin."""
    processes = db.session.execute(newest_versions(ProcessModel, ProcessModel.key, ProcessModel.name)
                                   .order_by(ProcessModel.key)).all()
    enterprises = db.session.execute(select(Enterprise.id, Enterprise.name).where(access.enterprise_scope(user))
                                     .order_by(Enterprise.name)).all()
    counties = []
    if user.role == ROLE_CITY_ADMIN:
        counties = db.session.execute(select(Region.id, Region.name).where(Region.level == "county")
                                      .order_by(Region.code)).all()
    return {"processes": processes, "enterprises": enterprises, "counties": counties}
