"""What a person deciding a task sees above its form: the task's context.

Each task form declares its context (``context = (...)`` on the form class, see ``forms/base.py``) with
the small vocabulary below: facts of the case data, files, issued documents, the earlier rounds of the
case (replies, send-backs, opinions), the reason of the last send-back, the records of a data batch.
``build`` turns a declaration and a case into structured items, the same for the task page and for
``GET /api/v1/tasks/{id}``:

    {"key": "amount", "kind": "money", "value": 80000.0}
    {"key": "photos", "kind": "files", "value": [{"id": 8, "filename": "after.png", "content_type": ..., "size": ...}]}
    {"key": "rounds", "kind": "rounds", "value": [{"task": "提交整改反馈", "form": "rectification_respond",
                                                   "at": "...", "actor": "王检查", "items": [...]}]}

Values are machine-readable (numbers, ISO instants, ids with names); the web layer adds each item's label
and its text for people (``web/common/task_context.py``). Kinds: text, longtext, number, money, bool,
date, datetime, enum (a code; its label comes from the form's choices), person, enterprise, files,
rounds, records.

``internal`` parts (opinions of authorities among themselves) are left out for enterprise users:
an enterprise sees only what is addressed to it.
"""
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select

from models import Attachment, CaseEvent, DataRecord, Enterprise, IssuedDocument, Task, User
from workflows import history

from . import data_files

KINDS = ("text", "longtext", "number", "money", "bool", "date", "datetime", "enum", "person", "enterprise",
         "files", "rounds", "records")


# ---- the declaration vocabulary ------------------------------------------------------
@dataclass(frozen=True)
class Fact:
    """A value of the case data, by its key. ``prominent``: shown first and highlighted."""

    key: str
    kind: str = "text"
    internal: bool = False
    prominent: bool = False


@dataclass(frozen=True)
class Files:
    """The attachments whose ids the case data holds under ``key`` (the files of the latest completion of
    the form that uploaded them, or of the start form)."""

    key: str
    internal: bool = False


@dataclass(frozen=True)
class Document:
    """An official document the case issued (e.g. the rectification notice), as its PDF."""

    kind: str
    internal: bool = False


@dataclass(frozen=True)
class Step:
    """What one earlier completion of ``form`` shows in the rounds: some of its values and files.
    ``internal``: the whole round is for authorities only (approvals among themselves)."""

    form: str
    facts: tuple = ()
    files: tuple = ()
    internal: bool = False


@dataclass(frozen=True)
class Rounds:
    """Every earlier completion of the given steps, oldest first, with who did it and when."""

    steps: tuple
    key: str = "rounds"

    def step(self, form_key: str) -> "Step | None":
        return next((s for s in self.steps if s.form == form_key), None)


@dataclass(frozen=True)
class LastReason:
    """The reason of the last send-back, shown prominently: the ``reason`` value of the latest completion of
    ``form`` whose ``choice`` field is one of ``values``, when nothing answered it since (no completion of
    the task's own form came after it)."""

    form: str
    choice: str
    values: tuple
    reason: str
    key: str = "send_back_reason"
    internal: bool = False


@dataclass(frozen=True)
class Records:
    """The records of a data batch (case data ``items``, each naming its stored ``record_id``), with their
    fields and files; personal fields masked unless the viewer may see them in full. ``kinds``: data kind key →
    its declaration (``forms.data_kinds.DataKind``: ``fields`` with name, type, personal)."""

    kinds: dict = field(default_factory=dict, hash=False, compare=False)
    items_key: str = "items"
    key: str = "records"


@dataclass
class Viewer:
    """Who looks: an enterprise user sees no internal part; ``personal`` whether personal fields are shown
    in clear; ``reveal(kind, record, full)`` gives a record's fields (decrypted or masked)."""

    enterprise: bool = False
    personal: bool = False
    reveal: object = None


# ---- building ----------------------------------------------------------------------------
def build(s, case, task, declaration, viewer: Viewer) -> list[dict]:
    """The context items of ``task`` (of ``case``) as ``declaration`` asks, for ``viewer``."""
    data = case.data or {}
    items: list[dict] = []
    completions = None
    for part in declaration or ():
        if getattr(part, "internal", False) and viewer.enterprise:
            continue
        if isinstance(part, Fact):
            value = data.get(part.key)
            if value in (None, "", []):
                continue
            items.append(_fact(s, part.key, part.kind, value, part.prominent))
        elif isinstance(part, Files):
            files = _files(s, case.id, _ids(data.get(part.key)))
            if files:
                items.append({"key": part.key, "kind": "files", "value": files})
        elif isinstance(part, Document):
            files = _document(s, case.id, part.kind)
            if files is not None:
                items.append({"key": part.kind, "kind": "files", "value": files})
        elif isinstance(part, Rounds):
            completions = completions if completions is not None else _completions(s, case.id, task)
            rounds = _rounds(s, case.id, part, completions, viewer)
            if rounds:
                items.append({"key": part.key, "kind": "rounds", "value": rounds})
        elif isinstance(part, LastReason):
            completions = completions if completions is not None else _completions(s, case.id, task)
            reason = last_reason(part, completions, task.form_key)
            if reason:
                items.append({"key": part.key, "kind": "longtext", "value": reason, "prominent": True})
        elif isinstance(part, Records):
            records = _records(s, data, part, viewer)
            if records:
                items.append({"key": part.key, "kind": "records", "value": records,
                              "data_kind": data.get("data_kind")})
    # The prominent ones first (the reason a task came back), the rest as declared.
    return sorted(items, key=lambda i: not i.get("prominent"))


def last_reason(part: LastReason, completions: list, own_form: str) -> str | None:
    for form_key, _at, _actor, detail, _title in reversed(completions):
        if form_key == own_form:
            return None  # answered since
        if form_key == part.form:
            if (detail or {}).get(part.choice) in part.values:
                text = str((detail or {}).get(part.reason) or "").strip()
                return text or None
            return None
    return None


def _fact(s, key: str, kind: str, value, prominent: bool = False) -> dict:
    item = {"key": key, "kind": kind, "value": value}
    if prominent:
        item["prominent"] = True
    if kind == "money":
        try:
            item["value"] = round(float(value), 2)
        except (TypeError, ValueError):
            item["kind"] = "text"
    elif kind == "enterprise" and isinstance(value, int):
        item["name"] = s.scalar(select(Enterprise.name).where(Enterprise.id == value))
    elif kind == "person" and isinstance(value, int):
        item["value"] = s.scalar(select(User.display_name).where(User.id == value))
    elif kind == "datetime" and isinstance(value, str):
        item["value"] = _iso_utc(value)
    return item


def _iso_utc(value: str) -> str:
    try:
        instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return instant.astimezone(UTC).isoformat() if instant.tzinfo else value


def _ids(value) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, int) and not isinstance(v, bool)]
    return []


def _file(row) -> dict:
    return {"id": row.id, "filename": row.filename, "content_type": row.content_type, "size": row.size}


def _files(s, case_id: int, ids: list[int]) -> list[dict]:
    if not ids:
        return []
    rows = s.execute(select(Attachment.id, Attachment.filename, Attachment.content_type, Attachment.size)
                     .where(Attachment.id.in_(ids), Attachment.case_id == case_id)).all()
    by_id = {r.id: _file(r) for r in rows}
    return [by_id[i] for i in ids if i in by_id]


def _document(s, case_id: int, kind: str) -> list[dict] | None:
    doc = s.scalar(select(IssuedDocument).where(IssuedDocument.case_id == case_id, IssuedDocument.kind == kind)
                   .order_by(IssuedDocument.id.desc()).limit(1))
    if doc is None:
        return None
    if doc.attachment_id is None:
        return [{"id": None, "filename": f"{doc.number}.pdf", "content_type": "application/pdf", "size": None,
                 "pending": True, "number": doc.number}]
    files = _files(s, case_id, [doc.attachment_id])
    for f in files:
        f["number"] = doc.number
    return files


def _completions(s, case_id: int, task) -> list[tuple]:
    """The task completions of the case before ``task`` was created: (form key, at, actor's name, detail,
    the task's name)."""
    stmt = (select(Task.form_key, CaseEvent.at, User.display_name, CaseEvent.detail, Task.title)
            .join(Task, Task.id == CaseEvent.task_id).outerjoin(User, User.id == CaseEvent.actor_id)
            .where(CaseEvent.case_id == case_id, CaseEvent.event == "task_completed"))
    if task is not None and task.id is not None:
        stmt = stmt.where(CaseEvent.task_id != task.id)
    history.write(s)  # a transition's entries held so far first (a new task's notice quotes them)
    return [tuple(r) for r in s.execute(stmt.order_by(CaseEvent.id)).all()]


def _rounds(s, case_id: int, part: Rounds, completions: list, viewer: Viewer) -> list[dict]:
    chosen = []
    for form_key, at, actor, detail, title in completions:
        step = part.step(form_key)
        if step is None or (step.internal and viewer.enterprise):
            continue
        chosen.append((step, form_key, at, actor, detail or {}, title))
    ids = [i for step, *_rest, detail, _title in chosen for key in step.files for i in _ids(detail.get(key))]
    files = {f["id"]: f for f in _files(s, case_id, ids)} if ids else {}
    out = []
    for step, form_key, at, actor, detail, title in chosen:
        items = []
        for fact in step.facts:
            fact = fact if isinstance(fact, Fact) else Fact(fact)
            if (fact.internal and viewer.enterprise) or detail.get(fact.key) in (None, "", []):
                continue
            items.append(_fact(s, fact.key, fact.kind, detail[fact.key]))
        for key in step.files:
            found = [files[i] for i in _ids(detail.get(key)) if i in files]
            if found:
                items.append({"key": key, "kind": "files", "value": found})
        out.append({"form": form_key, "task": title, "at": at.astimezone(UTC).isoformat() if at else None,
                    "actor": actor, "items": items})
    return out


def _records(s, data: dict, part: Records, viewer: Viewer) -> list[dict]:
    rows = [r for r in data.get(part.items_key) or [] if isinstance(r, dict) and "ref" in r]
    kind = part.kinds.get(data.get("data_kind"))
    ids = [r["record_id"] for r in rows if isinstance(r.get("record_id"), int)]
    stored = {}
    if ids and kind is not None:
        stored = {r.id: r for r in s.scalars(select(DataRecord).where(DataRecord.id.in_(ids)))}
    files = data_files.files_of(s, list(stored.values())) if getattr(kind, "files", ()) else {}
    out = []
    for row in rows:
        record = stored.get(row.get("record_id"))
        entry = {"ref": row["ref"], "summary": row.get("summary") or "", "fields": []}
        if row.get("reason"):
            entry["reason"] = row["reason"]
        if row.get("checks"):  # the plausibility checks it failed (workflows/services/plausibility.py)
            entry["checks"] = [str(c) for c in row["checks"]]
        if record is not None and record.kind == kind.key:
            entry["external_id"] = record.external_id
            values = viewer.reveal(kind, record, viewer.personal) if viewer.reveal else dict(record.data)
            for f in kind.fields:
                value = values.get(f.name)
                if value in (None, "", []):
                    continue
                entry["fields"].append({"key": f.name, "kind": _record_kind(f.type), "value": value,
                                        **({"personal": True, "masked": not viewer.personal} if f.personal else {})})
            if files.get(record.id):  # its licence, contract, photos: those of this version and those it keeps
                entry["files"] = files[record.id]
        out.append(entry)
    return out


_RECORD_KINDS = {"int": "number", "number": "number", "date": "date", "datetime": "datetime", "bool": "bool",
                 "choice": "enum", "longtext": "longtext"}


def _record_kind(field_type: str) -> str:
    return _RECORD_KINDS.get(field_type, "text")


def notice(declaration, completions: list, own_form: str) -> str | None:
    """The reason a task came back (its declaration's LastReason), for the notification of the new task."""
    for part in declaration or ():
        if isinstance(part, LastReason):
            return last_reason(part, completions, own_form)
    return None


def completions_of(s, case_id: int, task=None) -> list[tuple]:
    return _completions(s, case_id, task)
