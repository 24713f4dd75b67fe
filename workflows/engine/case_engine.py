"""The case engine: BPMN models run by SpiffWorkflow, persisted one transaction per transition.

Concurrency: every transition first bumps the case's ``revision`` with an UPDATE.
That statement takes the case's row lock on PostgreSQL and SQLite's write lock,
so a second transition on the same case waits (it does not fail) and then sees the
first one's result. Two completions of one task therefore give one success and
one Conflict; completions of two tasks of one case both succeed, in turn.
"""
import logging
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from models import (
    CASE_ACTIVE,
    CASE_COMPLETED,
    ROLE_INSPECTOR,
    TASK_CANCELLED,
    TASK_COMPLETED,
    TASK_OPEN,
    Attachment,
    Case,
    CaseEvent,
    DecisionModel,
    Enterprise,
    ProcessModel,
    Task,
    TaskCandidate,
    User,
)
from models.json_rows import JsonRows
from models.loaded import loaded, persisted, set_committed
from models.versions import newest_versions
from workflows import access, commits, held_rows, history, lateness, notify, reference_cache
from workflows.attachments import NewFile, new_attachment
from workflows.comments import comment_text
from workflows.errors import Conflict, Forbidden, InvalidInput, InvalidModel, ModelRuntimeError, NotFound
from workflows.permissions import has_right, may_start
from workflows.roles import user_plays
from workflows.text import has_bad_text
from workflows.titles import case_title, stored_name

from . import clock
from .census import TaskCensus
from .control import CaseControl, path_with, refuse_if_suspended
from .decisions import DecisionCache, bind_latest, decision_xml, describe_xml, is_dmn, newest_decision, read_dmn
from .loader import START_PREFIX, read_bpmn
from .pruning import prune
from .sandbox import SandboxError
from .scripting import ScriptLimitExceeded
from .serialization import SpecCache, dump_state, load_state, new_workflow
from .steps import run_engine_steps
from .timer_values import parse_instant

log = logging.getLogger(__name__)
TIMER_EVENTS = {"TimeDateEventDefinition", "DurationTimerEventDefinition", "CycleTimerEventDefinition"}
MAX_SPAWN_DEPTH = 5  # a model that opens cases that open cases... stops here, not in a loop
# Engine steps (gateways, scripts, events) one transition may run: each step is limited on its own
# (docs/engine.md), and this stops a model that loops without ever waiting for a person or a timer
# (SpiffWorkflow itself stops looking for work 1000 tasks deep, and would leave such a case broken).
MAX_ENGINE_STEPS = 500
# The session of the transition that is running, for business rule tasks to read decision tables in.
_transition_session: ContextVar[Session | None] = ContextVar("gasflow_transition_session", default=None)


def transition_session() -> Session | None:
    """The session of the transition running in this context (for helpers models call, such as the
    working-day calendar), or None outside one."""
    return _transition_session.get()


_UNREAD = object()  # the case's creator, not read yet


@dataclass(frozen=True)
class _Person:
    """Who opened a case, as far as a new task asks (it is his when of his role)."""

    id: int
    role: str


@dataclass
class _Held:
    """What a transition already holds of what ``_advance`` mirrors the workflow into, so it is not read
    again: the case's open task rows as they stand, its creator (``_Person`` or None), whether the
    transition opened the case."""

    open_rows: list | None = None
    creator: object = _UNREAD
    new: bool = False
    done: "Task | None" = None  # the task the transition completed: written with the tasks it ends


# A handler for a message a model throws: (session, case, payload, actor, now) → None.
MessageHandler = Callable[[Session, Case, object, object, datetime], None]


@dataclass
class Submission:
    """What a task completion stores: the form's values, new files, and files uploaded before (by field)."""

    data: dict
    files: list[NewFile] = field(default_factory=list)
    attachment_ids: dict[str, list[int]] = field(default_factory=dict)
    # Given the values with the stored files' ids by field, what the case keeps (a checklist puts
    # each item's photos into its answer); None keeps them as they are.
    place_files: Callable[[dict], dict] | None = None


@dataclass
class Opening:
    """What a new case starts with: the start form's values, whose case it is, and its title: given,
    or (None) the process's name, the enterprise's and then ``qualifiers``, joined by " · "."""

    data: dict
    enterprise_id: int | None = None
    title: str | None = ""
    qualifiers: tuple[str, ...] = ()
    # The enterprise, if the caller read it already in the session it starts the case in: the engine takes
    # it instead of reading it again (and checks it all the same).
    enterprise: object = None


class CaseEngine:
    def __init__(self, unit_of_work: Callable[[], AbstractContextManager[Session]], known_forms: Iterable[str],
                 handlers: dict[str, MessageHandler] | None = None):
        # A unit of work is a context manager giving the Session to work in: the web request's
        # session, or one a job opens (a plain sessionmaker will do). Every public operation below
        # that writes ends with ``commits.commit``: it commits that session before it returns, unless
        # the unit of work made the commit its owner's (a web request commits once, at its end).
        self.sessions = unit_of_work
        self.known_forms = set(known_forms)
        self.handlers = dict(handlers or {})
        self.specs = SpecCache()
        self._model_facts: dict[int, ModelFacts] = {}
        self._latest_models = reference_cache.Kept()  # {process key: id of its newest version}
        self.decisions = DecisionCache()
        # The text of a new task's notification, when there is more to say than its name (why it came
        # back): ``task_notice(session, case, task_row) -> str | None``, set by the application.
        self.task_notice: Callable[[Session, Case, Task], str | None] | None = None
        self.control = CaseControl(self)  # cancel, suspend, resume, delegate, transfer, migrate

    def forget_models(self, keep_processes=frozenset(), keep_decisions=frozenset()) -> None:
        """Drop what is cached of models other than ``keep_*`` (ids). Only for a database that was
        replaced under a running engine (a restore, a test's fresh copy): its ids may name other models."""
        self._model_facts = {k: v for k, v in self._model_facts.items() if k in keep_processes}
        self._latest_models = reference_cache.Kept()
        self.specs.forget(keep_processes)
        self.decisions.forget(keep_decisions)

    # ---- process models -------------------------------------------------
    def deploy(self, content: bytes, actor_id: int | None = None) -> tuple[int, bool]:
        """Store a BPMN file as a new version of its process. Returns (model id, created).

        The same file deployed twice is the same version: versions follow content.
        """
        with self.sessions() as s:
            decisions = {m.key: m.dmn_xml for m in self._latest_decisions(s)}
        definition = _read_bpmn_cached(content, frozenset(self.known_forms),
                                       tuple(sorted(decisions.items())), frozenset(self.handlers))
        return self._store_version(ProcessModel, definition.key, definition.checksum, dict(
            name=definition.name, bpmn_xml=definition.xml, spec=definition.spec, meta=definition.meta,
            created_by_id=actor_id))

    def deploy_decision(self, content: bytes, actor_id: int | None = None) -> tuple[int, bool]:
        """Store a DMN decision table as a new version of its decision. Returns (id, created).

        A new version keeps every output of the version it replaces (it may add some): the processes
        read them by name, and a case would fail at the step that asks (a penalty at its prior notice
        when the periods table lost ``service_days``) instead of the upload being refused."""
        definition = read_dmn(content)
        outputs = {o["name"] for o in definition.table["outputs"]}

        def keeps_the_outputs(s: Session) -> None:
            newest = newest_decision(s, definition.key)
            if newest is None:
                return
            missing = {o["name"] for o in describe_xml(decision_xml(s, newest.id)())["outputs"]} - outputs
            if missing:
                raise InvalidModel([f"outputs {', '.join(sorted(missing))} of version {newest.version} are missing: "
                                    "the processes read them by name; keep them (new outputs may be added)"])
        return self._store_version(DecisionModel, definition.key, definition.checksum, dict(
            name=definition.name, dmn_xml=definition.xml, created_by_id=actor_id), check=keeps_the_outputs)

    def _store_version(self, model_cls, key: str, checksum: str, fields: dict,
                       check: Callable[[Session], None] | None = None) -> tuple[int, bool]:
        """Versions follow content: the same content is the same version, new content version n+1.
        ``check`` (raising InvalidModel) vets new content only: every start-up deploys the same files
        again, which are found by their checksum. Returns (id, created)."""
        for _attempt in range(3):
            with self.sessions() as s:
                found = s.scalar(select(model_cls.id).where(model_cls.key == key, model_cls.checksum == checksum))
                if found:
                    return found, False
                if check is not None:
                    check(s)
                latest = s.scalar(select(func.max(model_cls.version)).where(model_cls.key == key)) or 0
                model = model_cls(key=key, version=latest + 1, checksum=checksum, **fields)
                s.add(model)
                try:
                    # A new version uploaded in a request is kept with the request's audit entry, or not at
                    # all; a clash with another process's version is raised by the flush all the same.
                    commits.commit(s)
                except IntegrityError:
                    s.rollback()  # another process stored a version concurrently; look again
                    continue
                return model.id, True
        raise Conflict(f"{key} changed concurrently, try again")

    def deploy_file(self, content: bytes, actor_id: int | None = None) -> tuple[str, int, bool]:
        """A BPMN process or a DMN decision table, told apart by content. Returns (kind, id, created)."""
        if is_dmn(content):
            return ("decision", *self.deploy_decision(content, actor_id))
        return ("process", *self.deploy(content, actor_id))

    def deploy_directory(self, path: Path) -> list[tuple[str, int, bool]]:
        done = []
        # Decision tables first: processes are checked against them.
        files = sorted(Path(path).glob("*.dmn")) + sorted(Path(path).glob("*.bpmn"))
        for file in files:
            _kind, model_id, created = self.deploy_file(file.read_bytes())
            done.append((file.name, model_id, created))
        return done

    def _latest_decisions(self, s: Session) -> list[DecisionModel]:
        return s.scalars(newest_versions(DecisionModel)).all()

    def _resolve_decision(self, key: str):
        s = _transition_session.get()
        if s is None:
            raise ModelRuntimeError(f"decision '{key}' used outside a transition")
        model = newest_decision(s, key)
        if model is None:
            raise ModelRuntimeError(f"no decision table '{key}'")
        return self.decisions.engine(model.id, decision_xml(s, model.id)), model.version

    def latest_model(self, s: Session, key: str) -> "ModelFacts":
        # The newest version of every process, kept under the reference revision (a deployment makes a
        # new one): a start whose transaction knows the revision (an API request's key read it) reads none.
        model_id = self._latest_models.get(s, lambda: dict(s.execute(_LATEST_MODELS).all())).get(key)
        if model_id is None:
            raise NotFound(f"no process '{key}'", {"process": ["unknown process"]})
        return self.model(s, model_id)

    def startable_model(self, s: Session, key: str, actor) -> "ModelFacts":
        """The latest version of process ``key``, if ``actor`` may open a case of it (the start check:
        ``permissions.may_start``); NotFound or Forbidden otherwise."""
        model = self.latest_model(s, key)
        if not may_start(actor, model.meta):
            raise Forbidden(f"role {actor.role} may not start '{key}'")
        return model

    def model(self, s: Session, model_id: int) -> "ModelFacts":
        """A process model version's facts. Versions never change once stored, so each is read once
        per process: a transition then costs no model query."""
        facts = self._model_facts.get(model_id)
        if facts is None:
            row = s.get(ProcessModel, model_id)
            self.specs.get(row.id, lambda: row.spec)
            facts = ModelFacts(row.id, row.key, row.version, row.name, row.meta)
            self._model_facts[model_id] = facts
        return facts

    # ---- cases ----------------------------------------------------------
    def start_case(self, process_key: str, data: dict, actor, enterprise_id: int | None = None,
                   title: str = "", now: datetime | None = None) -> int:
        opening = Opening(data, enterprise_id, title)
        return self.start(process_key, actor, lambda _model: opening, now).id

    def start(self, process_key: str, actor, submit: "Callable[[ModelFacts], Opening]",
              now: datetime | None = None) -> Case:
        """Open a case of ``process_key`` with what ``submit`` reads for it. ``submit`` is called once the
        actor is known to be allowed to start it, with the model version the case will run (its start
        form is ``meta["start_form"]``): nobody learns a form's rules for a case he could never open.
        It raises InvalidInput for a form that does not validate. Returns the case, committed (or, in a
        web request, flushed for the request's one commit: ``commits.commit``)."""
        now = now or clock.now()
        with self.sessions() as s:
            model = self.startable_model(s, process_key, actor)
            opening = submit(model)
            enterprise_id = opening.enterprise_id
            if enterprise_id is None and access.is_enterprise_user(actor):
                enterprise_id = actor.enterprise_id  # an enterprise's own case is about the enterprise
            # The enterprise is loaded whole (or found in the session): the case's county and any
            # document it issues read it from the session instead of the database.
            enterprise = None
            if enterprise_id is not None:
                enterprise = opening.enterprise
                if enterprise is None or enterprise.id != enterprise_id:
                    enterprise = s.get(Enterprise, enterprise_id)
                if enterprise is None or not access.can_see_enterprise(actor, enterprise):
                    raise InvalidInput("enterprise not found", {"enterprise_id": ["unknown enterprise"]})
            title = opening.title
            if title is None and model.meta.get("title"):  # the model names its cases
                title = case_title(model.meta["title"], opening.data, model.name,
                                                enterprise.name if enterprise is not None else "")
            if title is None:
                title = " · ".join([stored_name(model.name), *([enterprise.name] if opening.enterprise_id else []),
                                    *opening.qualifiers])
            case = self._open(s, model, opening.data, actor, actor.id, enterprise_id, title, now, parent=None)
            commits.commit(s)
            return case

    def open_system_case(self, s: Session, process_key: str, data: dict, enterprise_id: int | None,
                         title: str = "", county_id: int | None = None, now: datetime | None = None) -> int:
        """Open a case on behalf of the platform itself (a warning from monitoring, a data batch
        from the API), inside the caller's transaction ``s``: the case and whatever caused it are
        committed together or not at all. The caller commits."""
        now = now or clock.now()
        model = self.latest_model(s, process_key)
        case = self._open(s, model, data, None, None, enterprise_id, title, now, parent=None)
        if enterprise_id is None and county_id is not None:
            case.county_id = county_id
            for row in s.scalars(select(Task).where(Task.case_id == case.id)):
                row.county_id = county_id
        return case.id

    def _open(self, s: Session, model: "ModelFacts", data: dict, actor, creator_id: int | None,
              enterprise_id: int | None, title: str, now: datetime, parent: Case | None) -> Case:
        county_id = actor.county_id if actor is not None else None
        if enterprise_id is not None:
            enterprise = s.get(Enterprise, enterprise_id)
            county_id = enterprise.county_id if enterprise is not None else None
        elif parent is not None:
            county_id = parent.county_id
        spec, subs = self.specs.get(model.id, lambda: model.spec)
        workflow = new_workflow(spec, subs)
        # Inserted now (its id is data, and the tasks' and history's), with its data and state written by
        # the transition's one UPDATE of it at the end.
        values = dict(process_model_id=model.id, process_key=model.key, status=CASE_ACTIVE,
                      title=(title or stored_name(model.name))[:256], county_id=county_id, enterprise_id=enterprise_id,
                      created_by_id=creator_id, created_at=now, data={}, state={}, revision=0, next_timer_at=None,
                      completed_at=None, parent_id=parent.id if parent is not None else None, suspended_at=None,
                      path=None)
        s.flush()  # whatever the caller added goes first, as the unit of work would have ordered it
        values["id"] = s.connection().execute(_INSERT_CASE, values).scalar_one()
        case = persisted(s, Case, values)
        # The case's own id and enterprise are data too: models quote them in what they send on.
        data = {**data, "case_id": case.id}
        if enterprise_id is not None:
            data["enterprise_id"] = enterprise_id
        for start in workflow.get_tasks(state=TaskState.READY):
            start.set_data(**data)
        detail = {"process": model.key, "version": model.version}
        if parent is not None:
            detail["parent"] = parent.id
        with held_rows.held(s):  # the case's first entries by one INSERT (a linked case's go with its parent's)
            self._event(s, case, actor, "case_started", now, detail=detail)
            self._advance(s, case, model, workflow, actor, now, _Held(open_rows=[], new=True))
        return case

    def complete_task(self, task_id: int, actor, data: dict, files: list[NewFile] = (),
                      attachment_ids: dict[str, list[int]] | None = None,
                      now: datetime | None = None) -> int:
        submission = Submission(dict(data), list(files), attachment_ids or {})
        return self.complete(task_id, actor, lambda _task, _case: submission, now).id

    def complete(self, task_id: int, actor, submit: "Callable[[Task, Case], Submission]",
                 now: datetime | None = None) -> Case:
        """Complete a task with what ``submit`` reads for it. The task and its case are locked and read
        once; ``submit`` is called with them once the task is known to be visible to the actor and, if
        still open, his to work (so nobody learns a form's rules for a task he may not work, and the
        form is read against the task as it stands). It raises InvalidInput for a form that does not
        validate; a task no longer open is then a Conflict. Returns the case, committed (or flushed for the
        request's commit, as ``start``)."""
        now = now or clock.now()
        with self.sessions() as s:
            case, row, open_rows, creator = self._lock_task_of_case(s, task_id, actor)
            refuse_if_suspended(case)
            if row.status == TASK_OPEN and not access.can_work_task(actor, row):
                raise Forbidden("this task is not yours to complete")
            submission = submit(row, case)
            if row.status != TASK_OPEN:
                raise Conflict("task is no longer open")
            model = self.model(s, case.process_model_id)
            workflow = self._load(case, model)
            spiff_task = workflow.get_task_from_id(UUID(row.spiff_id))
            if spiff_task is None or spiff_task.state != TaskState.READY:
                raise Conflict("task is no longer ready")
            data = dict(submission.data)
            data.update(self._store_attachments(s, case, row, actor, submission.files, submission.attachment_ids))
            if submission.place_files is not None:
                data = submission.place_files(data)
            spiff_task.set_data(**data)
            self._run(s, model, spiff_task.run, now)
            # Written by the mirror, with any task the step cancels, by a statement of its own.
            set_committed(row, status=TASK_COMPLETED, completed_at=now, completed_by_id=actor.id,
                           assignee_id=actor.id if row.assignee_id is None else row.assignee_id)
            with held_rows.held(s):
                self._event(s, case, actor, "task_completed", now, row, detail=_summary(data))
                # The case's other open tasks and its creator were read with the locked task: the mirror
                # reads neither again.
                self._advance(s, case, model, workflow, actor, now,
                              _Held(open_rows=[r for r in open_rows if r is not row], creator=creator, done=row))
            commits.commit(s)
            return case

    def claim(self, task_id: int, actor) -> None:
        with self.sessions() as s:
            case, row = self._lock_open_task(s, task_id, actor)
            if not access.can_work_task(actor, row):
                raise Conflict("task is assigned to someone else") if row.assignee_id else \
                    Forbidden("this task is not for your role")
            if row.assignee_id != actor.id:
                row.assignee_id = actor.id
                self._event(s, case, actor, "task_claimed", clock.now(), row)
            commits.commit(s)

    def unclaim(self, task_id: int, actor) -> None:
        with self.sessions() as s:
            case, row = self._lock_open_task(s, task_id, actor)
            if row.assignee_id != actor.id and not access.can_assign(actor, row):
                raise Forbidden("only the assignee or a supervisor may release a task")
            row.assignee_id = None
            self._event(s, case, actor, "task_unclaimed", clock.now(), row)
            commits.commit(s)

    def assign(self, task_id: int, actor, username: str) -> None:
        with self.sessions() as s:
            case, row = self._lock_open_task(s, task_id, actor)
            if not access.can_assign(actor, row):
                raise Forbidden("only a supervisor may assign tasks")
            # A name holding NUL or a lone surrogate names nobody (and PostgreSQL would refuse the query).
            target = None if has_bad_text(username) else \
                s.scalar(select(User).where(User.username == username, User.active.is_(True)))
            if target is None or not user_plays(target.role, row.role) or not access.can_see_task(target, row):
                raise InvalidInput("user cannot work this task", {"user": ["no such user for this task"]})
            row.assignee_id = target.id
            self._event(s, case, actor, "task_assigned", clock.now(), row, detail={"user": target.username})
            if target.id != actor.id:
                notify.task_assigned(s, row, clock.now())
            commits.commit(s)

    def set_follow_up(self, task_id: int, actor, when: datetime | None) -> None:
        """The follow-up date: when the assignee (or a supervisor) means to look at the task again."""
        with self.sessions() as s:
            case, row = self._lock_open_task(s, task_id, actor)
            if row.assignee_id != actor.id and not access.can_assign(actor, row):
                raise Forbidden("only the assignee or a supervisor may set the follow-up date")
            row.follow_up_at = when
            self._event(s, case, actor, "follow_up_set", clock.now(), row,
                        detail={"follow_up_at": when.isoformat() if when else None})
            commits.commit(s)

    def add_comment(self, case_id: int, actor, text: str, files: list[NewFile] = (),
                    now: datetime | None = None, visible_to_party: bool = False) -> int:
        """A comment on a case, with optional files, kept in its history. Returns the event id.
        ``visible_to_party``: shown to the case's enterprise where the model keeps the case internal."""
        now = now or clock.now()
        text = comment_text(text, len(files))
        with self.sessions() as s:
            self._lock_case(s, case_id)
            case = self._locked_case(s, case_id)
            if case is None or not access.can_see_case(actor, case):
                raise NotFound("no such case")
            if not has_right(actor, "cases.comment"):
                raise Forbidden("this account may not comment on cases")
            ids = []
            for f in files:
                att = new_attachment(f.filename, f.content_type, f.content, case_id=case.id,
                                     uploaded_by_id=actor.id, enterprise_id=case.enterprise_id)
                s.add(att)
                s.flush()
                ids.append(att.id)
            detail = {"text": text, "attachments": ids}
            if visible_to_party:
                detail["visible_to_party"] = True
            ev = CaseEvent(case_id=case.id, at=now, actor_id=actor.id, event="comment", detail=detail)
            s.add(ev)
            s.flush()
            event_id = ev.id
            commits.commit(s)
            return event_id

    def notify_overdue(self, now: datetime | None = None, limit: int = 1000) -> int:
        """Tell people once about each open task past its due date. The periodic job calls this."""
        now = now or clock.now()
        with self.sessions() as s:
            rows = s.scalars(select(Task).where(Task.status == TASK_OPEN, lateness.late(now),
                                                Task.overdue_notified_at.is_(None)).limit(limit)).all()
            for row in rows:
                notify.task_overdue(s, row, now)
            s.commit()
            return len(rows)

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
                case = self._locked_case(s, case_id)
                if case.status != CASE_ACTIVE or case.next_timer_at is None or case.next_timer_at > now:
                    s.rollback()  # another worker got there first: the lock is not held any longer
                    continue
                model = self.model(s, case.process_model_id)
                workflow = self._load(case, model)
                with held_rows.held(s):
                    self._event(s, case, None, "timer_fired", now, detail={"due": case.next_timer_at.isoformat()})
                    self._advance(s, case, model, workflow, None, now)
                s.commit()
                fired += 1
        return fired

    # ---- internals --------------------------------------------------------
    def _lock_case(self, s: Session, case_id: int) -> None:
        s.execute(update(Case).where(Case.id == case_id).values(revision=Case.revision + 1)
                  .execution_options(synchronize_session=False))

    def _locked_case(self, s: Session, case_id: int) -> Case | None:
        # populate_existing: the unit of work may have read the case before the lock; the row as it
        # stands now replaces that.
        return s.get(Case, case_id, populate_existing=True)

    def _lock_task(self, s: Session, task_id: int, actor) -> tuple[Case, Task]:
        case, row, _open_rows, _creator = self._lock_task_of_case(s, task_id, actor)
        return case, row

    def _lock_task_of_case(self, s: Session, task_id: int, actor) -> tuple[Case, Task, list[Task], "_Person | None"]:
        """The task and its case, locked and read, and what a completion then needs read by the same
        statement: the case's open tasks (the workflow is mirrored into them) and its creator's role
        (a new task of that role is his)."""
        # Taking the case's write lock first (through its task) serialises transitions of one case;
        # the tasks and case are then read in one statement, after the lock, so they are current. Two
        # statements on PostgreSQL too: an UPDATE in a WITH clause would lock the case row first, but the
        # tasks joined to it would be read in the snapshot the statement took before it waited for the
        # lock (READ COMMITTED), missing what the transaction it waited for did to them.
        # The UPDATE runs on the session's connection (flushed first, as Session.execute would): it
        # touches no object the session holds, and the ORM's bulk-UPDATE path cost more than the statement.
        s.flush()
        locked = s.connection().execute(_LOCK_CASE_OF_TASK, {"task_id": task_id})
        if locked.rowcount == 0:
            raise NotFound("no such task")
        rows = [row._mapping for row in s.connection().execute(_TASKS_AND_CASE, {"task_id": task_id})]
        if not rows:
            raise NotFound("no such task")
        first = rows[0]
        # Entities of the session as if a query had loaded them (over any it holds: they are read after the
        # lock), built from the Core rows: the ORM's loading of the joined rows cost more than the statement.
        case = loaded(s, Case, {key: first[label] for key, label in _CASE_LABELS})
        tasks = []
        for row in rows:
            task = loaded(s, Task, {key: row[key] for key in _TASK_KEYS})
            set_committed_value(task, "candidates", [
                loaded(s, TaskCandidate, {"task_id": task.id, "user_id": c.user_id})
                for c in _CANDIDATES.rows(row["candidates"])])
            tasks.append(task)
        task = next((t for t in tasks if t.id == task_id), None)
        if task is None or not access.can_see_task(actor, task):
            raise NotFound("no such task")
        reference_cache.seen(s, first["token"])
        role = first["creator_role"]
        creator = _Person(case.created_by_id, role) if role is not None else None
        return case, task, [t for t in tasks if t.status == TASK_OPEN], creator

    def _lock_open_task(self, s: Session, task_id: int, actor) -> tuple[Case, Task]:
        case, row = self._lock_task(s, task_id, actor)
        if row.status != TASK_OPEN:
            raise Conflict("task is no longer open")
        return case, row

    def _load(self, case: Case, model: "ModelFacts"):
        spec, subs = self.specs.get(model.id, lambda: model.spec)
        return load_state(case.state, spec, subs)

    def _run(self, s: Session, model: "ModelFacts", work: Callable[[], None], now: datetime) -> None:
        """Run ``work`` (engine steps, a task) at ``now`` with the transition's session for decisions."""
        spec, subs = self.specs.get(model.id, lambda: model.spec)
        bind_latest(spec, subs, model.meta.get("decisions") or {}, self._resolve_decision)
        token = _transition_session.set(s)
        try:
            with clock.frozen_at(now):
                work()
        except ModelRuntimeError:
            raise
        except Exception as exc:  # a model's expression failing must not become a 500
            raise _model_error(exc) from None
        finally:
            _transition_session.reset(token)

    def _advance(self, s: Session, case: Case, model: "ModelFacts", workflow, actor, now: datetime,
                 held: "_Held | None" = None) -> None:
        """Run engine steps at ``now``, then mirror the workflow into the case and task rows (with what
        the caller ``held`` of them, the rest read). The history it records is inserted at the end, in one
        statement (with the caller's, when the caller holds it too)."""
        with held_rows.held(s):
            self._advance_held(s, case, model, workflow, actor, now, held)

    def _advance_held(self, s: Session, case: Case, model: "ModelFacts", workflow, actor, now: datetime,
                      held: "_Held | None") -> None:
        budget = _StepBudget()

        self._run(s, model, lambda: run_engine_steps(workflow, budget), now)
        census = TaskCensus(workflow)  # what the mirror below asks of the tree, by one walk of it
        self._sync_tasks(s, case, model, workflow, actor, now, held or _Held(), census)
        # Handlers read the case as this step leaves it (a document quotes the deadline just set): its new
        # values are on the object before they run, and written after them by one UPDATE.
        changes = {"data": _json_safe(_current_data(workflow, model.meta.get("watch"), census))}
        events = workflow.get_events()
        passed = path_with(case.path, census.completed())  # before pruning cuts the finished past
        prune(workflow)
        changes.update(path=passed, state=dump_state(workflow), next_timer_at=_next_timer(workflow, census))
        # A case that ends is marked so before the handlers run too. Its history says so after what they recorded.
        completed = workflow.is_completed()
        if completed:
            changes.update(status=CASE_COMPLETED, completed_at=now, next_timer_at=None)
        set_committed(case, **changes)
        for event in events:
            self._deliver(s, case, event, actor, now)
        if completed:
            self._event(s, case, actor, "case_completed", now,
                        detail=_end_detail(census))
        # What the transition held (the tasks it ended, its documents, history and notices) rides in it on
        # PostgreSQL, and is written right after it elsewhere: either way it is in the database when the
        # step ends, for whatever runs next in the transaction (workflows/held_rows.py).
        rows = held_rows.take(s)
        s.connection().execute(held_rows.carried(_UPDATE_CASE, rows), {**changes, "case_id_": case.id, **rows})
        held_rows.write(s)

    def _sync_tasks(self, s, case, model, workflow, actor, now, held: "_Held", census: TaskCensus) -> None:
        ready = {str(t.id): t for t in census.ready_manual()}
        open_rows, creator = held.open_rows, held.creator
        if open_rows is None:
            open_rows = s.scalars(_OPEN_TASKS_OF_CASE, {"case_id": case.id},
                                  execution_options={"populate_existing": True}).all()
        known = {row.spiff_id for row in open_rows}
        ended = [held.done] if held.done is not None else []
        for row in open_rows:
            if row.spiff_id not in ready:
                set_committed(row, status=TASK_CANCELLED, completed_at=now)
                ended.append(row)
                self._event(s, case, actor, "task_cancelled", now, row)
        _write_ended(s, ended)
        task_meta = model.meta.get("tasks", {})
        new = []
        for sid, spiff_task in ready.items():
            if sid in known:
                continue
            if creator is _UNREAD:
                if actor is not None and actor.id == case.created_by_id:
                    creator = actor  # the inspector verifying the order he issued: no need to read him again
                else:
                    creator = s.get(User, case.created_by_id) if case.created_by_id else None
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
                follow_up_at=None, overdue_notified_at=None, completed_at=None, completed_by_id=None,
                delegated_by_id=None,
            )
            named = self._people(s, workflow, spiff_task, row, meta)  # who may take it is in its row
            new.append((row, named))
        if not new:
            return
        self._insert_tasks(s, new)
        # A case opened by this transition has had no rounds: nothing came back, nothing to say why.
        noticed = self.task_notice is not None and not held.new
        for row, _named in new:
            self._event(s, case, actor, "task_created", now, row)
        for row, named in new:
            notice = self.task_notice(s, case, row) if noticed else None
            notify.task_created(s, row, now, named, text=notice)

    def _people(self, s, workflow, spiff_task, row: Task, meta: dict) -> list[int]:
        """camunda:assignee and camunda:candidateUsers: usernames computed from case data.

        Names that are not active users able to work the task are skipped, not fatal: a plan may
        name an inspector who has since left, and the task then falls to the role's queue.
        """
        def users(expression) -> list[User]:
            if not expression:
                return []
            try:
                value = workflow.script_engine.evaluate(spiff_task, expression)
            except (SpiffWorkflowException, NameError, KeyError, TypeError) as exc:
                _reraise_limit(exc, spiff_task)
                log.warning("task %s: %r gave no users: %s", row.spec_name, expression, exc)
                return []
            names = [v.strip() for v in (value.split(",") if isinstance(value, str) else value or [])
                     if isinstance(v, str) and v.strip()]
            if not names:
                return []
            found = s.scalars(_ACTIVE_USERS_NAMED, {"names": names}).all()
            return [u for u in found if user_plays(u.role, row.role) and access.can_see_task(u, row)]

        assignee = users(meta.get("assignee"))
        if assignee:
            row.assignee_id = assignee[0].id
        return [user.id for user in users(meta.get("candidates"))]

    def _insert_tasks(self, s: Session, new: list) -> None:
        """Insert the new task rows (``(row, named candidates)``, rows not yet in the session) by one
        statement, in the order they were made, so their ids are in that order: their candidates, history
        and notifications need them. The rows then stand in the session as loaded."""
        s.flush()  # whatever the transition added before (a completion's files) goes first
        connection = s.connection()
        rows = [row for row, _named in new]
        params = [{c: getattr(row, c) for c in _TASK_COLUMNS} for row in rows]
        # One row alone by a plain INSERT (several take insertmanyvalues' ordered form, like the ORM's flush).
        ids = connection.execute(_INSERT_TASKS, params[0] if len(params) == 1 else params).scalars().all()
        for row, row_id in zip(rows, ids, strict=True):
            row.id = row_id
            persisted(s, Task, row)
        candidates = [{"task_id": row.id, "user_id": user_id} for row, named in new for user_id in named]
        if candidates:
            held_rows.execute_rows(s, _INSERT_CANDIDATES, candidates)

    def _deliver(self, s: Session, case: Case, event, actor, now: datetime) -> None:
        """A message the model threw that nothing in it catches: open linked cases, or a handler."""
        name = event.event_definition.name
        payload = event.payload.get("payload") if isinstance(event.payload, dict) else event.payload
        if name.startswith(START_PREFIX):
            self._spawn(s, case, name[len(START_PREFIX):], payload, actor, now)
            return
        handler = self.handlers.get(name)
        if handler is None:
            raise ModelRuntimeError(f"no handler for message '{name}'")
        handler(s, case, _json_safe(payload), actor, now)
        self._event(s, case, actor, "message_handled", now, detail={"message": name})

    def _owner(self, s: Session, parent: Case, actor) -> int | None:
        """Who a linked case belongs to: the inspector who acted (problems found in an inspection go
        with the inspector who found them); otherwise whoever owns the parent case (a supervisor's
        transfer or a timer keeps the penalty with the inspector who issued the order)."""
        if actor is not None and actor.role == ROLE_INSPECTOR:
            return actor.id
        owner = s.get(User, parent.created_by_id) if parent.created_by_id else None
        if owner is not None and not access.is_enterprise_user(owner):
            return owner.id
        return actor.id if actor is not None else None

    def _spawn(self, s: Session, parent: Case, process_key: str, payload, actor, now: datetime) -> None:
        """Open one linked case per payload item (a list opens several: one per problem found)."""
        depth, ancestor = 0, parent
        while ancestor.parent_id is not None and depth <= MAX_SPAWN_DEPTH:
            ancestor, depth = s.get(Case, ancestor.parent_id), depth + 1
        if depth >= MAX_SPAWN_DEPTH:
            raise ModelRuntimeError(f"cases opening cases deeper than {MAX_SPAWN_DEPTH} levels")
        try:
            model = self.latest_model(s, process_key)
        except NotFound:
            raise ModelRuntimeError(f"the model opens a '{process_key}' case, but no such process exists") from None
        items = payload if isinstance(payload, list) else [payload]
        for item in items:
            if not isinstance(item, dict):
                raise ModelRuntimeError(f"start:{process_key} payload items must be objects, got {item!r}")
            data = _json_safe(item)
            enterprise_id = data.pop("enterprise_id", parent.enterprise_id)
            if enterprise_id is not None:
                enterprise = s.get(Enterprise, enterprise_id) if isinstance(enterprise_id, int) else None
                if enterprise is None:
                    raise ModelRuntimeError(f"start:{process_key}: unknown enterprise {enterprise_id!r}")
                data["enterprise_id"] = enterprise_id
            title = str(data.pop("title", "") or "")
            if not title and model.meta.get("title"):  # the model names its cases
                title = case_title(model.meta["title"], data, model.name,
                                                enterprise.name if enterprise_id is not None else "")
            if not title:
                parts = [stored_name(model.name)] + ([enterprise.name] if enterprise_id is not None else [])
                title = " · ".join(parts)
            creator_id = self._owner(s, parent, actor)
            child = self._open(s, model, data, actor, creator_id, enterprise_id, title, now, parent=parent)
            self._event(s, parent, actor, "case_opened", now,
                        detail={"case": child.id, "process": process_key, "title": child.title})

    def _due(self, workflow, spiff_task, expression: str | None) -> datetime | None:
        if not expression:
            return None
        try:
            value = workflow.script_engine.evaluate(spiff_task, expression)
            return parse_instant(value)
        except (SpiffWorkflowException, ValueError, TypeError) as exc:
            _reraise_limit(exc, spiff_task)
            log.warning("due date expression %r gave no date", expression)
            return None

    def _store_attachments(self, s, case, row, actor, files, attachment_ids) -> dict[str, list[int]]:
        by_field: dict[str, list[int]] = {}
        for name, ids in attachment_ids.items():
            for att_id in ids:
                att = s.get(Attachment, att_id)
                if att is None or att.uploaded_by_id != actor.id or att.case_id is not None:
                    raise InvalidInput("unknown attachment", {name: [f"attachment {att_id} not found"]})
                att.case_id, att.task_id = case.id, row.id
                by_field.setdefault(name, []).append(att.id)
        for f in files:
            att = new_attachment(f.filename, f.content_type, f.content, case_id=case.id, task_id=row.id,
                                 uploaded_by_id=actor.id, enterprise_id=case.enterprise_id)
            s.add(att)
            s.flush()
            by_field.setdefault(f.field, []).append(att.id)
        return by_field

    def _event(self, s, case, actor, event, now, row: Task | None = None, detail=None) -> None:
        # Not an ORM object: the unit of work cost more than the INSERT, and nothing reads an entry back
        # as one. A transition holds its entries and inserts them at its end (workflows/history.py).
        history.record(s, case.id, event, now, actor.id if actor else None, row.id if row else None,
                       row.title if row else "", detail)


# The statements of every transition, built once: building a statement costs SQLAlchemy more than
# running it does on SQLite (`python -m bench engine`, profiled), and its compiled form is cached anyway.
_CASES, _TASKS = Case.__table__, Task.__table__
_LOCK_CASE_OF_TASK = (
    update(_CASES).where(_CASES.c.id == select(_TASKS.c.case_id).where(_TASKS.c.id == bindparam("task_id"))
                         .scalar_subquery())
    .values(revision=_CASES.c.revision + 1))
# The task, and the other open tasks of its case, each with its case (the same row), its creator's role and
# its candidates (the access check asks), joined in, not read by statements of their own.
# The reference revision rides along (workflows/reference_cache.py): the transition about to run checks it.
# Read by Core (``models.loaded`` makes the entities): the task's and the case's columns, the case's labelled.
_CANDIDATES = JsonRows("candidates", select(TaskCandidate.__table__.c.user_id)
                       .where(TaskCandidate.__table__.c.task_id == _TASKS.c.id))
_TASK_KEYS = tuple(c.key for c in _TASKS.c)
_CASE_LABELS = tuple((c.key, f"case__{c.key}") for c in _CASES.c)
_TASKS_AND_CASE = select(
    *_TASKS.c, *[c.label(label) for c, (_key, label) in zip(_CASES.c, _CASE_LABELS, strict=True)],
    select(User.role).where(User.id == _CASES.c.created_by_id).scalar_subquery().label("creator_role"),
    reference_cache.TOKEN_COLUMN.label("token"), _CANDIDATES.column) \
    .join_from(_TASKS, _CASES, _CASES.c.id == _TASKS.c.case_id) \
    .where(_TASKS.c.case_id == select(_TASKS.c.case_id).where(_TASKS.c.id == bindparam("task_id")).scalar_subquery(),
           or_(_TASKS.c.id == bindparam("task_id"), _TASKS.c.status == TASK_OPEN)) \
    .order_by(_TASKS.c.id)
# The newest version of each process: {key: id}.
_LATEST_MODELS = newest_versions(ProcessModel, ProcessModel.key, ProcessModel.id)
_ACTIVE_USERS_NAMED = select(User).where(User.username.in_(bindparam("names", expanding=True)),
                                          User.active.is_(True))
_OPEN_TASKS_OF_CASE = select(Task).where(Task.case_id == bindparam("case_id"), Task.status == TASK_OPEN)
# A transition writes its case and task rows by these, not through the ORM's unit of work (flushing them
# was a sixth of the web side's CPU per API completion: `prof_api.py` under py-spy). The objects are kept in
# step by ``set_committed`` and ``persisted`` (models/loaded.py), so what reads them after sees what was written.
_INSERT_CASE = insert(_CASES).returning(_CASES.c.id)
# The case's one UPDATE a transition: SET names the columns the parameters give (status when it ends).
_UPDATE_CASE = update(_CASES).where(_CASES.c.id == bindparam("case_id_"))
_TASK_COLUMNS = tuple(c.key for c in _TASKS.c if c.key != "id")
_INSERT_TASKS = insert(_TASKS).returning(_TASKS.c.id, sort_by_parameter_order=True)
_INSERT_CANDIDATES = insert(TaskCandidate.__table__)


@dataclass(frozen=True)
class ModelFacts:
    """What a transition needs of its process model version (its spec lives in the SpecCache)."""

    id: int
    key: str
    version: int
    name: str
    meta: dict


@lru_cache(maxsize=64)
def _read_bpmn_cached(content: bytes, forms: frozenset, decisions: tuple, messages: frozenset):
    # Every process start-up (and every test) deploys the same files again; parse each once.
    return read_bpmn(content, set(forms), dict(decisions), set(messages))


class _StepBudget:
    """Counts the engine steps of one transition (SpiffWorkflow calls it after each)."""

    def __init__(self):
        self.steps = 0

    def __call__(self, task) -> None:
        self.steps += 1
        if self.steps > MAX_ENGINE_STEPS:
            raise ModelRuntimeError(
                f"the process model failed at {_element(task) or '?'}: more than {MAX_ENGINE_STEPS} steps in one "
                "transition (a loop that never waits for a person or a timer)")


def _element(task) -> str | None:
    spec = getattr(task, "task_spec", None)
    return getattr(spec, "bpmn_id", None) or getattr(spec, "name", None)


def _limit_or_sandbox_error(exc: Exception) -> Exception | None:
    """What SpiffWorkflow wrapped, when it is a limit hit or a script's failure in the sandbox."""
    seen = exc
    while seen is not None:
        if isinstance(seen, ScriptLimitExceeded | SandboxError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _model_error(exc: Exception) -> ModelRuntimeError:
    """The error a failing model step answers with, naming the BPMN element whose code failed."""
    detail = _limit_or_sandbox_error(exc) or exc
    element = _element(getattr(exc, "task", None))
    log.warning("model error at %s: %s", element, detail)
    return ModelRuntimeError(f"the process model failed{f' at {element}' if element else ''}: {detail}")


def _reraise_limit(exc: Exception, task) -> None:
    """A due date or assignee expression that fails is skipped, but one stopped at its limits fails
    the transition like any other step."""
    cause = _limit_or_sandbox_error(exc)
    if isinstance(cause, ScriptLimitExceeded):
        raise ModelRuntimeError(f"the process model failed at {_element(task)}: {cause}") from None


def _current_data(workflow, watching, census: TaskCensus) -> dict:
    """The case's data as it stands: what the waiting user tasks received, else what the last task left.
    Tasks of a watching branch (``watching``: the model's ``gasflow.watch``) hold a copy made when the
    branch split off; they count only when no other task waits.

    With parallel branches, a branch that has reached its join holds data the open tasks of the other
    branches do not have yet (the accident's grade while the repair is still open): the data of each
    open task and of each branch waiting at a join are merged, the most recent last. Only the model's
    own joining gateways count: the process's implicit end join collects branches that have ended (the
    penalty's watch branch, done once the decision is made) with the data they copied when they split,
    which would undo what the main path settled since (the hearing held, the defence)."""
    ready = census.ready_manual()
    if watching:
        ready = [t for t in ready if t.task_spec.bpmn_id not in watching] or ready
    if ready:
        joined = [t.parent for t in census.waiting()
                  if isinstance(t.task_spec, Join) and t.task_spec.bpmn_id and t.parent is not None
                  and t.parent.task_spec.bpmn_id not in (watching or ())]
        merged: dict = {}
        for task in sorted([*ready, *joined], key=lambda t: t.last_state_change):
            merged.update(task.data)
        return merged
    last = workflow.last_task
    return dict(last.data) if last is not None else {}


def _end_detail(census: TaskCensus) -> dict:
    """Which end event the case reached (the last completed BPMN element that has an id)."""
    for task in sorted(census.completed_kept(), key=lambda t: t.last_state_change,
                       reverse=True):
        if task.task_spec.bpmn_id:
            return {"end": task.task_spec.bpmn_id, "end_name": task.task_spec.bpmn_name}
    return {}


def _next_timer(workflow, census: TaskCensus) -> datetime | None:
    """The earliest pending timer, so the periodic job only loads cases that are due."""
    instants = []
    for event in workflow.waiting_events():
        if event.event_type not in TIMER_EVENTS or not isinstance(event.value, str):
            continue
        try:
            instants.append(parse_instant(event.value))
        except (ValueError, TypeError):
            continue
    # An event-based gateway waits for its events as one (SpiffWorkflow's MultipleEventDefinition, whose
    # pending event has no value): a timer among them keeps its instant in the gateway task's data.
    for task in census.waiting():
        definition = getattr(task.task_spec, "event_definition", None)
        if isinstance(definition, MultipleEventDefinition) and isinstance(task.internal_data.get("event_value"), str) \
                and any(isinstance(d, TimerEventDefinition) for d in definition.event_definitions):
            try:
                instants.append(parse_instant(task.internal_data["event_value"]))
            except (ValueError, TypeError):
                continue
    return min(instants) if instants else None


def _write_ended(s: Session, rows: list) -> None:
    """The tasks a transition ends (completed, cancelled), as their objects now hold them: held for its
    end (workflows/held_rows.py), or written now outside a transition."""
    held_rows.held_or_written(s, "ended_tasks", [{"id": r.id, "status": r.status, "completed_at": r.completed_at,
                                                   "completed_by_id": r.completed_by_id,
                                                   "assignee_id": r.assignee_id} for r in rows])


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
