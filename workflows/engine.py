"""The case engine: BPMN models run by SpiffWorkflow, persisted one transaction per transition.

Concurrency: every transition first bumps the case's ``revision`` with an UPDATE.
That statement takes the case's row lock on PostgreSQL and SQLite's write lock,
so a second transition on the same case waits (it does not fail) and then sees the
first one's result. Two completions of one task therefore give one success and
one Conflict; completions of two tasks of one case both succeed, in turn.
"""
import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import (
    CASE_ACTIVE,
    CASE_COMPLETED,
    TASK_CANCELLED,
    TASK_COMPLETED,
    TASK_OPEN,
    Attachment,
    Case,
    CaseEvent,
    Enterprise,
    ProcessModel,
    Task,
    User,
)

from . import access, clock
from .errors import Conflict, Forbidden, InvalidInput, ModelRuntimeError, NotFound
from .loader import read_bpmn
from .roles import user_plays
from .serialization import SpecCache, dump_state, load_state, new_workflow

log = logging.getLogger(__name__)
TIMER_EVENTS = {"TimeDateEventDefinition", "DurationTimerEventDefinition", "CycleTimerEventDefinition"}


@dataclass
class NewFile:
    """An uploaded file to store with a task completion, in the same transaction."""

    filename: str
    content_type: str
    content: bytes
    field: str


class CaseEngine:
    def __init__(self, session_factory: Callable[[], Session], known_forms: Iterable[str]):
        self.sessions = session_factory
        self.known_forms = set(known_forms)
        self.specs = SpecCache()

    # ---- process models -------------------------------------------------
    def deploy(self, content: bytes, actor_id: int | None = None) -> tuple[int, bool]:
        """Store a BPMN file as a new version of its process. Returns (model id, created).

        The same file deployed twice is the same version: versions follow content.
        """
        definition = read_bpmn(content, self.known_forms)
        for _attempt in range(3):
            with self.sessions() as s:
                found = s.scalar(select(ProcessModel).where(
                    ProcessModel.key == definition.key, ProcessModel.checksum == definition.checksum))
                if found:
                    return found.id, False
                latest = s.scalar(select(func.max(ProcessModel.version)).where(
                    ProcessModel.key == definition.key)) or 0
                model = ProcessModel(
                    key=definition.key, version=latest + 1, name=definition.name,
                    checksum=definition.checksum, bpmn_xml=definition.xml, spec=definition.spec,
                    meta=definition.meta, created_by_id=actor_id,
                )
                s.add(model)
                try:
                    s.commit()
                except IntegrityError:
                    s.rollback()  # another process deployed concurrently; look again
                    continue
                return model.id, True
        raise Conflict("process model changed concurrently, try again")

    def deploy_directory(self, path: Path) -> list[tuple[str, int, bool]]:
        done = []
        for file in sorted(Path(path).glob("*.bpmn")):
            model_id, created = self.deploy(file.read_bytes())
            done.append((file.name, model_id, created))
        return done

    def latest_model(self, s: Session, key: str) -> ProcessModel:
        model = s.scalar(select(ProcessModel).where(ProcessModel.key == key)
                         .order_by(ProcessModel.version.desc()).limit(1))
        if model is None:
            raise NotFound(f"no process '{key}'", {"process": ["unknown process"]})
        return model

    # ---- cases ----------------------------------------------------------
    def start_case(self, process_key: str, data: dict, actor, enterprise_id: int | None = None,
                   title: str = "", now: datetime | None = None) -> int:
        now = now or clock.now()
        with self.sessions() as s:
            model = self.latest_model(s, process_key)
            if actor.role not in model.meta.get("starters", []):
                raise Forbidden(f"role {actor.role} may not start '{process_key}'")
            county_id = actor.county_id
            if enterprise_id is not None:
                enterprise = s.scalar(select(Enterprise).where(Enterprise.id == enterprise_id,
                                                              access.enterprise_scope(actor)))
                if enterprise is None:
                    raise InvalidInput("enterprise not found", {"enterprise_id": ["unknown enterprise"]})
                county_id = enterprise.county_id
            spec, subs = self.specs.get(model.id, model.spec)
            workflow = new_workflow(spec, subs)
            for start in workflow.get_tasks(state=TaskState.READY):
                start.set_data(**data)
            case = Case(process_model_id=model.id, process_key=model.key, status=CASE_ACTIVE,
                        title=title[:256], county_id=county_id, enterprise_id=enterprise_id,
                        created_by_id=actor.id, created_at=now, data={}, state={})
            s.add(case)
            s.flush()
            self._event(s, case, actor, "case_started", now, detail={"process": model.key,
                                                                     "version": model.version})
            self._advance(s, case, model, workflow, actor, now)
            s.commit()
            return case.id

    def complete_task(self, task_id: int, actor, data: dict, files: list[NewFile] = (),
                      attachment_ids: dict[str, list[int]] | None = None,
                      now: datetime | None = None) -> int:
        now = now or clock.now()
        with self.sessions() as s:
            case, row = self._lock_task(s, task_id, actor)
            if row.status != TASK_OPEN:
                raise Conflict("task is no longer open")
            if not access.can_work_task(actor, row):
                raise Forbidden("this task is not yours to complete")
            model = s.get(ProcessModel, case.process_model_id)
            workflow = self._load(case, model)
            spiff_task = workflow.get_task_from_id(UUID(row.spiff_id))
            if spiff_task is None or spiff_task.state != TaskState.READY:
                raise Conflict("task is no longer ready")
            data = dict(data)
            data.update(self._store_attachments(s, case, row, actor, files, attachment_ids or {}))
            spiff_task.set_data(**data)
            try:
                spiff_task.run()
            except Exception as exc:  # a model's expression failing must not become a 500
                raise ModelRuntimeError(_model_error(exc)) from None
            row.status, row.completed_at, row.completed_by_id = TASK_COMPLETED, now, actor.id
            if row.assignee_id is None:
                row.assignee_id = actor.id
            self._event(s, case, actor, "task_completed", now, row, detail=_summary(data))
            self._advance(s, case, model, workflow, actor, now)
            s.commit()
            return case.id

    def claim(self, task_id: int, actor) -> None:
        with self.sessions() as s:
            case, row = self._lock_task(s, task_id, actor)
            if row.status != TASK_OPEN:
                raise Conflict("task is no longer open")
            if not access.can_work_task(actor, row):
                raise Conflict("task is assigned to someone else") if row.assignee_id else \
                    Forbidden("this task is not for your role")
            if row.assignee_id != actor.id:
                row.assignee_id = actor.id
                self._event(s, case, actor, "task_claimed", clock.now(), row)
            s.commit()

    def unclaim(self, task_id: int, actor) -> None:
        with self.sessions() as s:
            case, row = self._lock_task(s, task_id, actor)
            if row.status != TASK_OPEN:
                raise Conflict("task is no longer open")
            if row.assignee_id != actor.id and not access.can_assign(actor, row):
                raise Forbidden("only the assignee or a supervisor may release a task")
            row.assignee_id = None
            self._event(s, case, actor, "task_unclaimed", clock.now(), row)
            s.commit()

    def assign(self, task_id: int, actor, username: str) -> None:
        with self.sessions() as s:
            case, row = self._lock_task(s, task_id, actor)
            if row.status != TASK_OPEN:
                raise Conflict("task is no longer open")
            if not access.can_assign(actor, row):
                raise Forbidden("only a supervisor may assign tasks")
            target = s.scalar(select(User).where(User.username == username, User.active.is_(True)))
            if target is None or not user_plays(target.role, row.role) or not access.can_see_task(target, row):
                raise InvalidInput("user cannot work this task", {"user": ["no such user for this task"]})
            row.assignee_id = target.id
            self._event(s, case, actor, "task_assigned", clock.now(), row, detail={"user": target.username})
            s.commit()

    def run_due_timers(self, now: datetime | None = None, limit: int = 500) -> int:
        """Fire every timer due at ``now``. The periodic job calls this; returns cases advanced."""
        now = now or clock.now()
        with self.sessions() as s:
            due = s.scalars(select(Case.id).where(Case.status == CASE_ACTIVE, Case.next_timer_at <= now)
                            .order_by(Case.next_timer_at).limit(limit)).all()
        fired = 0
        for case_id in due:
            with self.sessions() as s:
                self._lock_case(s, case_id)
                case = s.get(Case, case_id)
                if case.status != CASE_ACTIVE or case.next_timer_at is None or case.next_timer_at > now:
                    continue  # another worker got there first
                model = s.get(ProcessModel, case.process_model_id)
                workflow = self._load(case, model)
                self._event(s, case, None, "timer_fired", now, detail={"due": case.next_timer_at.isoformat()})
                self._advance(s, case, model, workflow, None, now)
                s.commit()
                fired += 1
        return fired

    # ---- internals --------------------------------------------------------
    def _lock_case(self, s: Session, case_id: int) -> None:
        s.execute(update(Case).where(Case.id == case_id).values(revision=Case.revision + 1)
                  .execution_options(synchronize_session=False))

    def _lock_task(self, s: Session, task_id: int, actor) -> tuple[Case, Task]:
        case_id = s.scalar(select(Task.case_id).where(Task.id == task_id))
        if case_id is None:
            raise NotFound("no such task")
        self._lock_case(s, case_id)
        row = s.get(Task, task_id)
        case = s.get(Case, case_id)
        if not access.can_see_task(actor, row):
            raise NotFound("no such task")
        return case, row

    def _load(self, case: Case, model: ProcessModel):
        spec, subs = self.specs.get(model.id, model.spec)
        return load_state(case.state, spec, subs)

    def _advance(self, s: Session, case: Case, model: ProcessModel, workflow, actor, now: datetime) -> None:
        """Run engine steps at ``now``, then mirror the workflow into the case and task rows."""
        try:
            with clock.frozen_at(now):
                workflow.do_engine_steps()
                workflow.refresh_waiting_tasks()
                workflow.do_engine_steps()
        except Exception as exc:  # a model's expression failing must not become a 500
            raise ModelRuntimeError(_model_error(exc)) from None
        self._sync_tasks(s, case, model, workflow, actor, now)
        case.state = dump_state(workflow)
        case.data = _json_safe(_current_data(workflow))
        case.next_timer_at = _next_timer(workflow)
        if workflow.is_completed():
            case.status, case.completed_at, case.next_timer_at = CASE_COMPLETED, now, None
            self._event(s, case, actor, "case_completed", now,
                        detail=_end_detail(workflow))

    def _sync_tasks(self, s, case, model, workflow, actor, now) -> None:
        ready = {str(t.id): t for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
        open_rows = s.scalars(select(Task).where(Task.case_id == case.id, Task.status == TASK_OPEN)).all()
        known = {row.spiff_id for row in open_rows}
        for row in open_rows:
            if row.spiff_id not in ready:
                row.status, row.completed_at = TASK_CANCELLED, now
                self._event(s, case, actor, "task_cancelled", now, row)
        task_meta = model.meta.get("tasks", {})
        creator = s.get(User, case.created_by_id) if case.created_by_id else None
        for sid, spiff_task in ready.items():
            if sid in known:
                continue
            meta = task_meta.get(spiff_task.task_spec.bpmn_id or spiff_task.task_spec.name, {})
            role = meta.get("role") or "city_admin"
            row = Task(
                case_id=case.id, spiff_id=sid, spec_name=spiff_task.task_spec.bpmn_id or spiff_task.task_spec.name,
                title=meta.get("name") or spiff_task.task_spec.bpmn_name or spiff_task.task_spec.name,
                form_key=meta.get("form") or "", role=role, county_id=case.county_id,
                enterprise_id=case.enterprise_id, status=TASK_OPEN, created_at=now,
                due_at=self._due(workflow, spiff_task, meta.get("due")),
                # The authority user who opened the case follows it up when the model hands it back
                # to the same role (an inspector verifies the order he issued).
                assignee_id=creator.id if creator is not None and creator.role == role else None,
            )
            s.add(row)
            s.flush()
            self._event(s, case, actor, "task_created", now, row)

    def _due(self, workflow, spiff_task, expression: str | None) -> datetime | None:
        if not expression:
            return None
        try:
            value = workflow.script_engine.evaluate(spiff_task, expression)
            return _parse_instant(value)
        except (SpiffWorkflowException, ValueError, TypeError):
            log.warning("due date expression %r gave no date", expression)
            return None

    def _store_attachments(self, s, case, row, actor, files, attachment_ids) -> dict[str, list[int]]:
        by_field: dict[str, list[int]] = {}
        for field, ids in attachment_ids.items():
            for att_id in ids:
                att = s.get(Attachment, att_id)
                if att is None or att.uploaded_by_id != actor.id or att.case_id is not None:
                    raise InvalidInput("unknown attachment", {field: [f"attachment {att_id} not found"]})
                att.case_id, att.task_id = case.id, row.id
                by_field.setdefault(field, []).append(att.id)
        for f in files:
            att = Attachment(case_id=case.id, task_id=row.id, filename=f.filename[:256],
                             content_type=f.content_type[:128], size=len(f.content),
                             sha256=_sha256(f.content), content=f.content, uploaded_by_id=actor.id,
                             enterprise_id=case.enterprise_id)
            s.add(att)
            s.flush()
            by_field.setdefault(f.field, []).append(att.id)
        return by_field

    def _event(self, s, case, actor, event, now, row: Task | None = None, detail=None) -> None:
        s.add(CaseEvent(case_id=case.id, at=now, actor_id=actor.id if actor else None, event=event,
                        task_id=row.id if row else None, task_name=row.title if row else "",
                        detail=detail or {}))


def _model_error(exc: Exception) -> str:
    log.warning("model error: %s", exc)
    return f"the process model failed: {exc}"


def _current_data(workflow) -> dict:
    """The case's data as it stands: what the waiting user tasks received, else what the last task left."""
    ready = workflow.get_tasks(state=TaskState.READY, manual=True)
    if ready:
        return dict(max(ready, key=lambda t: t.last_state_change).data)
    last = workflow.last_task
    return dict(last.data) if last is not None else {}


def _end_detail(workflow) -> dict:
    """Which end event the case reached (the last completed BPMN element that has an id)."""
    for task in sorted(workflow.get_tasks(state=TaskState.COMPLETED), key=lambda t: t.last_state_change,
                       reverse=True):
        if task.task_spec.bpmn_id:
            return {"end": task.task_spec.bpmn_id, "end_name": task.task_spec.bpmn_name}
    return {}


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _parse_instant(value) -> datetime:
    if isinstance(value, datetime):
        instant = value
    else:
        instant = TimerEventDefinition.get_datetime(str(value))
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def _next_timer(workflow) -> datetime | None:
    """The earliest pending timer, so the periodic job only loads cases that are due."""
    instants = []
    for event in workflow.waiting_events():
        if event.event_type not in TIMER_EVENTS or not isinstance(event.value, str):
            continue
        try:
            instants.append(_parse_instant(event.value))
        except (ValueError, TypeError):
            continue
    return min(instants) if instants else None


def _json_safe(value):
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _summary(data: dict) -> dict:
    """What the history shows of a completion: the submitted values, long texts cut."""
    out = {}
    for key, value in _json_safe(data).items():
        out[key] = value[:500] if isinstance(value, str) else value
    return out
