"""Control of running cases: cancel, suspend and resume, delegate a task, transfer a case to another
county, and migrate cases to a newer version of their process model.

Each action is behind a right (``workflows.permissions``), takes a reason that the case's history keeps,
and notifies those concerned, in one transaction that begins with the case's lock, as every transition
of the engine does (``case_engine.py``). Migration uses SpiffWorkflow's own spec diff
(``SpiffWorkflow.bpmn.util.diff``): a case moves only when each step it stands at exists in the new
version; the others are refused with the step that is missing.
"""
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    CASE_ACTIVE,
    CASE_CANCELLED,
    CASE_OPEN_STATUSES,
    CASE_SUSPENDED,
    TASK_CANCELLED,
    TASK_OPEN,
    Case,
    ProcessModel,
    Region,
    Task,
    User,
)
from workflows import access, commits, notify
from workflows.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflows.permissions import has_right, may_work
from workflows.roles import user_plays
from workflows.text import has_bad_text

from . import clock, period_kinds, period_notes
from .serialization import SERIALIZER, dump_state, load_state
from .timer_values import parse_instant

MAX_REASON = 1000
RUNNING = CASE_OPEN_STATUSES  # suspended: still running
# Notification kinds (the web layer labels them).
CASE_CANCELLED_NOTE, CASE_SUSPENDED_NOTE, CASE_RESUMED_NOTE = "case_cancelled", "case_suspended", "case_resumed"
CASE_TRANSFERRED_NOTE, CASE_MIGRATED_NOTE, TASK_DELEGATED_NOTE = "case_transferred", "case_migrated", "task_delegated"
# The states of the steps a case stands at (not the predicted ones, nor those done).
_CURRENT = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR


def reason_text(value) -> str:
    """The reason every control action needs: text, not blank, at most MAX_REASON characters."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidInput("a reason is required", {"reason": ["This field is required."]})
    if not isinstance(value, str) or has_bad_text(value):
        raise InvalidInput("the reason must be text", {"reason": ["Must be text."]})
    if len(value.strip()) > MAX_REASON:
        raise InvalidInput(f"the reason is longer than {MAX_REASON} characters",
                           {"reason": [f"At most {MAX_REASON} characters."]})
    return value.strip()


@dataclass
class MigrationCheck:
    """Whether one running case can move to ``to_version`` of its process, and if not, why."""

    case_id: int
    title: str
    from_version: int
    to_version: int
    movable: bool
    reason: str = ""
    missing: tuple[str, ...] = ()  # names of the current steps the new version lacks


class CaseControl:
    """The actions on running cases, on top of a ``CaseEngine`` (its unit of work, specs and mirrors)."""

    def __init__(self, engine):
        self.engine = engine

    # ---- cancel, suspend, resume ------------------------------------------------------------
    def cancel(self, case_id: int, actor, reason, now: datetime | None = None) -> Case:
        """撤销: the case ends as cancelled; its timers and open tasks end with it."""
        now = now or clock.now()
        with self.engine.sessions() as s:
            case = self._lock(s, case_id, actor, "cases.control")
            reason = reason_text(reason)
            if case.status not in RUNNING:
                raise Conflict("only a running case can be cancelled", {"status": [case.status]})
            model = self.engine.model(s, case.process_model_id)
            workflow = self.engine._load(case, model)
            workflow.cancel()
            audience = self._concerned(s, case)
            for row in self._open_tasks(s, case):
                row.status, row.completed_at = TASK_CANCELLED, now
                self.engine._event(s, case, actor, "task_cancelled", now, row)
            case.state = dump_state(workflow)
            case.status, case.completed_at, case.next_timer_at, case.suspended_at = CASE_CANCELLED, now, None, None
            self.engine._event(s, case, actor, "case_cancelled", now, detail={"reason": reason})
            notify.add(s, _others(audience, actor), CASE_CANCELLED_NOTE, now, case.id, text=_note(case, reason))
            commits.commit(s)
            return case

    def suspend(self, case_id: int, actor, reason, now: datetime | None = None) -> Case:
        """The case pauses: its timers stop (the time left is kept) and its tasks cannot be completed."""
        now = now or clock.now()
        with self.engine.sessions() as s:
            case = self._lock(s, case_id, actor, "cases.control")
            reason = reason_text(reason)
            if case.status != CASE_ACTIVE:
                raise Conflict("only an active case can be suspended", {"status": [case.status]})
            case.status, case.suspended_at, case.next_timer_at = CASE_SUSPENDED, now, None
            self.engine._event(s, case, actor, "case_suspended", now, detail={"reason": reason})
            notify.add(s, _others(self._concerned(s, case), actor), CASE_SUSPENDED_NOTE, now, case.id,
                       text=_note(case, reason))
            commits.commit(s)
            return case

    def resume(self, case_id: int, actor, reason, now: datetime | None = None) -> Case:
        """The case goes on with the time that was left when it was suspended: a period in working days gets
        the working days it had left, counted again from today; a period in calendar days ends as many days
        later as the case was suspended, at the end of that day or of the first working day after it (Civil
        Code arts. 201-203); an appointment the model declares (``gasflow.appointments``: a hearing's time)
        stays; any other timer or due date (an hour deadline such as an inspector's, a date from a form) moves
        by the time suspended. Which is which: the model version's own scripts (``period_kinds``), and what
        they noted as they counted (``period_notes``)."""
        now = now or clock.now()
        with self.engine.sessions() as s:
            case = self._lock(s, case_id, actor, "cases.control")
            reason = reason_text(reason)
            if case.status != CASE_SUSPENDED:
                raise Conflict("only a suspended case can be resumed", {"status": [case.status]})
            suspended_at = case.suspended_at
            paused = max(now - suspended_at, timedelta(0)) if suspended_at else timedelta(0)
            model = self.engine.model(s, case.process_model_id)
            workflow = self.engine._load(case, model)
            if paused > timedelta(0):
                kinds = period_kinds.of_engine(self.engine, s, model.id)
                tasks = model.meta.get("tasks", {})
                # What the periods were counted from, as it stood when the case was suspended.
                data = {k: v for task in workflow.get_tasks(state=_CURRENT) for k, v in task.data.items()}

                def counts(pairs) -> list:
                    return [(data[start], data[amount] if isinstance(amount, str) else amount)
                            for start, amount in pairs if start in data and (not isinstance(amount, str)
                                                                              or amount in data)]

                # A date counted in a unit the script read at run time has no kind in the script's text; the
                # note made as it was counted has, and it is what was counted, so it is asked first.
                notes, moved = period_notes.notes_of(workflow), {}

                # A hearing's time, told to the party, is not a period: it stays, and the task of it is late
                # at resume if it passed while the case was suspended.
                appointments = set(model.meta.get("appointments", ()))

                def move(end: datetime, expression: str | None) -> datetime:
                    if isinstance(expression, str) and expression.strip() in appointments:
                        return end
                    note = period_notes.holding(notes, expression, end)
                    if note is None:
                        return _resume_rule(s, end, kinds.of_expression(expression), suspended_at, now,
                                            counts(kinds.counted_from(expression)))
                    key = (note.name, note.end)
                    if key not in moved:  # a timer, a due date and the data may name one date
                        moved[key] = (note, _resume_rule(s, end, note.unit, suspended_at, now,
                                                         [(note.start, note.amount)]))
                    return moved[key][1]
                shift_timers(workflow, move)
                for row in self._open_tasks(s, case):
                    if row.due_at is not None:
                        row.due_at = move(_aware(row.due_at), tasks.get(row.spec_name, {}).get("due"))
                # The periods the model computed move with them, so that what it reads of them later (the
                # payment's days late, the limit after an extension) and the case page agree with the timers.
                shift_periods(workflow, kinds, move, suspended_at, notes)
                if moved:
                    period_notes.renote(workflow, [(note, end, _restart_rule(note.start, note.unit, suspended_at, now))
                                                   for note, end in moved.values()])
            case.status, case.suspended_at = CASE_ACTIVE, None  # the state is stored by the advance below
            self.engine._event(s, case, actor, "case_resumed", now,
                               detail={"reason": reason, "paused_hours": round(paused.total_seconds() / 3600, 1)})
            # Timers, if any fell due exactly now, fire here; otherwise the mirrors are refreshed.
            self.engine._advance(s, case, model, workflow, actor, now)
            notify.add(s, _others(self._concerned(s, case), actor), CASE_RESUMED_NOTE, now, case.id,
                       text=_note(case, reason))
            commits.commit(s)
            return case

    # ---- delegate ------------------------------------------------------------------------------
    def delegate(self, task_id: int, actor, username, reason, now: datetime | None = None) -> Task:
        """委托: the one who works a task hands it to another user who may work it; the delegator keeps
        it in his "delegated by me" list."""
        now = now or clock.now()
        with self.engine.sessions() as s:
            case, row = self.engine._lock_task(s, task_id, actor)
            if not has_right(actor, "tasks.delegate"):
                raise Forbidden("this needs the right 'tasks.delegate'", {"right": ["tasks.delegate"]})
            if row.status != TASK_OPEN:
                raise Conflict("task is no longer open")
            if not access.can_work_task(actor, row):
                raise Forbidden("only the one who works this task may delegate it")
            if case.status != CASE_ACTIVE:
                raise Conflict("the case is not active", {"status": [case.status]})
            if not isinstance(username, str) or not username.strip():
                raise InvalidInput("user is required", {"user": ["This field is required."]})
            reason = reason_text(reason)
            target = None if has_bad_text(username) else s.scalar(
                select(User).where(User.username == username.strip(), User.active.is_(True)))
            if target is None or target.id == actor.id or not user_plays(target.role, row.role) \
                    or not access.can_see_task(target, row) or not may_work(target, row):
                raise InvalidInput("user cannot work this task", {"user": ["no such user for this task"]})
            row.assignee_id, row.delegated_by_id = target.id, actor.id
            self.engine._event(s, case, actor, "task_delegated", now, row,
                               detail={"reason": reason, "delegate": target.display_name})
            notify.add(s, [target.id], TASK_DELEGATED_NOTE, now, case.id, row.id, text=f"{row.title}：{reason}")
            commits.commit(s)
            return row

    # ---- transfer --------------------------------------------------------------------------------
    def transfer(self, case_id: int, actor, county_id, reason, now: datetime | None = None) -> Case:
        """The case moves to another county: its open tasks go with it to that county's queues (an
        assignee of the old county lets go of them); the old county no longer sees it."""
        now = now or clock.now()
        with self.engine.sessions() as s:
            case = self._lock(s, case_id, actor, "cases.transfer")
            county = s.get(Region, county_id) if isinstance(county_id, int) and not isinstance(county_id, bool) \
                and 0 < county_id < 2**31 else None
            if county is None or county.level != "county":
                raise InvalidInput("unknown county", {"county": ["unknown county"]})
            if county.id == case.county_id:
                raise InvalidInput("the case is in this county already", {"county": ["the case's own county"]})
            reason = reason_text(reason)
            if case.status not in RUNNING:
                raise Conflict("only a running case can be transferred", {"status": [case.status]})
            before = s.get(Region, case.county_id) if case.county_id else None
            told = self._concerned(s, case)
            case.county_id = county.id
            for row in self._open_tasks(s, case):
                row.county_id = county.id
                if row.assignee_id is not None:
                    holder = s.get(User, row.assignee_id)
                    if holder is None or not access.can_see_task(holder, row):
                        row.assignee_id, row.delegated_by_id = None, None
                for candidate in list(row.candidates):
                    person = s.get(User, candidate.user_id)
                    if person is None or not access.can_see_task(person, row):
                        s.delete(candidate)
            s.flush()
            self.engine._event(s, case, actor, "case_transferred", now, detail={
                "reason": reason, "from_county": before.name if before else "", "to_county": county.name})
            audience = told + [uid for row in self._open_tasks(s, case)
                               for uid in notify.task_audience(s, row)]
            notify.add(s, _others(audience, actor), CASE_TRANSFERRED_NOTE, now, case.id, text=_note(case, reason))
            commits.commit(s)
            return case

    # ---- migrate ---------------------------------------------------------------------------------
    def migration_preview(self, actor, process_key: str, to_version: int | None = None) -> list[MigrationCheck]:
        """Every running case of ``process_key`` on an older version than ``to_version`` (default: the
        latest), each with whether it can move and, if not, why."""
        if not has_right(actor, "cases.migrate"):
            raise Forbidden("this needs the right 'cases.migrate'", {"right": ["cases.migrate"]})
        with self.engine.sessions() as s:
            target = self._target(s, process_key, to_version)
            cases = s.scalars(select(Case).join(ProcessModel, ProcessModel.id == Case.process_model_id)
                              .where(Case.process_key == process_key, Case.status.in_(RUNNING),
                                     ProcessModel.version < target.version, access.case_scope(actor))
                              .order_by(Case.id)).all()
            return [self._check(s, case, target)[0] for case in cases]

    def migrate(self, case_id: int, actor, reason, to_version: int | None = None,
                now: datetime | None = None) -> Case:
        """Move one running case to ``to_version`` (default: the latest) of its process. Refused
        (Conflict, naming the missing steps) when a step it stands at is not in that version."""
        now = now or clock.now()
        with self.engine.sessions() as s:
            case = self._lock(s, case_id, actor, "cases.migrate")
            reason = reason_text(reason)
            if case.status not in RUNNING:
                raise Conflict("only a running case can be migrated", {"status": [case.status]})
            target = self._target(s, case.process_key, to_version)
            check, workflow, new = self._check(s, case, target)
            if not check.movable:
                raise Conflict(check.reason, {"version": [check.reason]})
            old_version = check.from_version
            model = self.engine.model(s, target.id)
            case.process_model_id = model.id
            case.state = dump_state(workflow)
            self.engine._event(s, case, actor, "case_migrated", now, detail={
                "reason": reason, "from_version": old_version, "to_version": model.version})
            tasks_meta = model.meta.get("tasks", {})
            for row in self._open_tasks(s, case):  # the same steps, as the new version words them
                meta = tasks_meta.get(row.spec_name) or {}
                row.title, row.form_key = meta.get("name") or row.title, meta.get("form") or row.form_key
            if case.status == CASE_ACTIVE:
                workflow = self.engine._load(case, model)
                self.engine._advance(s, case, model, workflow, actor, now)
            notify.add(s, _others(self._concerned(s, case), actor), CASE_MIGRATED_NOTE, now, case.id,
                       text=_note(case, reason))
            commits.commit(s)
            return case

    def migrate_all(self, actor, process_key: str, reason, to_version: int | None = None,
                    now: datetime | None = None) -> tuple[list[int], list[MigrationCheck]]:
        """Move every movable running case of ``process_key``; returns (moved ids, refused checks)."""
        reason = reason_text(reason)
        moved, refused = [], []
        for check in self.migration_preview(actor, process_key, to_version):
            if not check.movable:
                refused.append(check)
                continue
            try:
                self.migrate(check.case_id, actor, reason, check.to_version, now)
            except Conflict as exc:  # it moved on (or was moved) since the preview
                refused.append(MigrationCheck(check.case_id, check.title, check.from_version, check.to_version,
                                              False, exc.message))
            else:
                moved.append(check.case_id)
        return moved, refused

    def _target(self, s: Session, key: str, version: int | None) -> ProcessModel:
        stmt = select(ProcessModel).where(ProcessModel.key == key)
        if version is not None:
            if not isinstance(version, int) or isinstance(version, bool) or not 0 < version < 2**31:
                raise InvalidInput("version must be a positive integer", {"version": ["Must be a version number."]})
            stmt = stmt.where(ProcessModel.version == version)
        target = s.scalar(stmt.order_by(ProcessModel.version.desc()).limit(1))
        if target is None and version is None:
            raise NotFound("no such process")
        if target is None:
            raise InvalidInput("no such version", {"version": ["no such version of this process"]})
        return target

    def _check(self, s: Session, case: Case, target: ProcessModel):
        """(check, migrated workflow or None, new spec): the spec diff of SpiffWorkflow decides."""
        current = self.engine.model(s, case.process_model_id)
        check = MigrationCheck(case.id, case.title, current.version, target.version, False)
        if target.version <= current.version:
            check.reason = f"the case already runs version {current.version}"
            return check, None, None
        self.engine.model(s, target.id)
        new_spec, new_subs = self.engine.specs.get(target.id, lambda: target.spec)
        workflow = self.engine._load(case, current)
        try:
            top, subs = diff_workflow(SERIALIZER.registry, workflow, new_spec, new_subs)
        except Exception as exc:  # a spec SpiffWorkflow cannot compare: the case stays where it is
            check.reason = f"version {target.version} cannot be compared with version {current.version}: {exc}"
            return check, None, None
        # A step counts as existing when the new version has an element of the same id: SpiffWorkflow
        # would also align a step renamed in place, but the case's task rows and history name steps by id.
        missing = [t for t in workflow.get_tasks(state=_CURRENT, skip_subprocesses=True)
                   if t.task_spec.bpmn_id and (top.alignment.get(t) is None
                                                or top.alignment[t].name != t.task_spec.name)]
        if missing or any(d is None for d in subs.values()):
            names = tuple(dict.fromkeys(t.task_spec.bpmn_name or t.task_spec.bpmn_id or t.task_spec.name
                                        for t in missing))
            check.missing = names
            check.reason = (f"the step{'s' if len(names) > 1 else ''} {', '.join(names)} "
                            f"{'do' if len(names) > 1 else 'does'} not exist in version {target.version}")
            return check, None, None
        # Timers keep the instant they were set for (a migration is not a reason to start them again).
        kept = {t.id: dict(t.internal_data) for t in workflow.get_tasks(state=TaskState.WAITING)
                if "event_value" in t.internal_data}
        try:
            migrate_workflow(top, workflow, new_spec)
            for sp_id, diff in subs.items():
                migrate_workflow(diff, workflow.subprocesses[sp_id], new_subs[diff_spec_name(workflow, sp_id)])
            for task_id, internal in kept.items():
                task = workflow.tasks.get(task_id)
                if task is not None and "event_value" not in task.internal_data:
                    task.internal_data.update(internal)
            # What is stored must load against the new version.
            load_state(dump_state(workflow), new_spec, new_subs)
        except Exception as exc:  # the diff aligned the steps, but the state does not carry over
            check.reason = f"the case's state does not carry over to version {target.version}: {exc}"
            return check, None, None
        check.movable = True
        return check, workflow, new_spec

    # ---- shared -----------------------------------------------------------------------------------
    def _lock(self, s: Session, case_id: int, actor, right: str) -> Case:
        """The case, locked as a transition locks it; NotFound outside the actor's area (enterprise users
        included: these actions are the authority's), Forbidden without ``right``."""
        self.engine._lock_case(s, case_id)
        case = self.engine._locked_case(s, case_id)
        if case is None or access.is_enterprise_user(actor) or not access.can_see_case(actor, case):
            raise NotFound("no such case")
        if not has_right(actor, right):
            raise Forbidden(f"this needs the right '{right}'", {"right": [right]})
        return case

    def _open_tasks(self, s: Session, case: Case) -> list[Task]:
        return list(s.scalars(select(Task).where(Task.case_id == case.id, Task.status == TASK_OPEN)
                              .order_by(Task.id), execution_options={"populate_existing": True}))

    def _concerned(self, s: Session, case: Case) -> list[int]:
        """Who hears of a control action: whoever the open tasks are for, who handed them on, and the
        authority user who opened the case."""
        people = []
        for row in self._open_tasks(s, case):
            people += notify.task_audience(s, row)
            if row.delegated_by_id:
                people.append(row.delegated_by_id)
        if case.created_by_id:
            people.append(case.created_by_id)
        return list(dict.fromkeys(people))


def refuse_if_suspended(case: Case) -> None:
    """The tasks of a suspended case wait for it to be resumed."""
    if case.status == CASE_SUSPENDED:
        raise Conflict("the case is suspended: its tasks cannot be completed until it is resumed",
                       {"status": [CASE_SUSPENDED]})


def path_with(path: list | None, completed: list) -> list:
    """``path`` (a case's, the BPMN elements passed) with those of ``completed`` (the workflow's completed
    tasks, before the task tree is pruned: ``census.TaskCensus.completed``) added, for the diagram."""
    path = list(path or [])
    known = set(path)
    for task in completed:
        element = task.task_spec.bpmn_id
        if element and element not in known:
            known.add(element)
            path.append(element)
    return path


def diff_spec_name(workflow, sp_id) -> str:
    return workflow.subprocesses[sp_id].spec.name


def clock_shift(session, end: datetime, kind: str | None, suspended_at: datetime, resumed_at: datetime,
                counted_from=()) -> datetime:
    """Where a timer or due date ``end`` moves when its case resumes: by the time it was suspended. The rule of
    a bare engine; the working-day calendar installs the law's (``set_resume_rule``)."""
    return end + max(resumed_at - suspended_at, timedelta(0))


def clock_restart(start: str, unit: str, suspended_at: datetime, resumed_at: datetime) -> str:
    """Where the start a period was counted from moves when its case resumes, so that the period counted again
    from it ends where its end was moved to (a second suspension counts on from there): by the time suspended."""
    return (_aware(parse_instant(start)) + max(resumed_at - suspended_at, timedelta(0))).isoformat()


# (session, end, kind, suspended_at, resumed_at, counted_from) -> the new end. ``kind``: period_kinds' kind of the
# date, or None; ``counted_from``: the (start, amount) values a date in calendar days may have been counted from.
_resume_rule = clock_shift
# (start, unit, suspended_at, resumed_at) -> the start, moved to match.
_restart_rule = clock_restart


def set_resume_rule(rule, restart=clock_restart) -> None:
    global _resume_rule, _restart_rule
    _resume_rule, _restart_rule = rule, restart


def shift_timers(workflow, move) -> int:
    """Move every pending timer of ``workflow`` to ``move(instant, expression)`` (the timer's expression names
    what kind of date it is); returns how many moved."""
    moved = 0
    for task in workflow.get_tasks(state=TaskState.WAITING):
        value = task.internal_data.get("event_value")
        if value is None or task.internal_data.get("event_fired"):
            continue
        expression = getattr(getattr(task.task_spec, "event_definition", None), "expression", None)
        if isinstance(value, dict) and "next" in value:  # a cycle timer: its next round moves with the clock
            value = dict(value, next=_later(value["next"], move, None))
        else:
            value = _later(value, move, expression)
        if value is not None:
            task.internal_data["event_value"] = value
            moved += 1
    return moved


def shift_periods(workflow, kinds: "period_kinds.PeriodKinds", move, since: datetime, noted=()) -> int:
    """Move the ends of the periods the model computed (``kinds.dates``, and the variables ``noted`` as set to
    one) that were still running at ``since``, in the data of every current task, to ``move(end, name)``;
    returns how many values moved."""
    moved, done = 0, {}
    names = list(dict.fromkeys([*kinds.dates, *noted]))
    for task in workflow.get_tasks(state=_CURRENT):
        for name in names:
            value = task.data.get(name)
            if not isinstance(value, str):
                continue
            if (name, value) not in done:
                try:
                    end = _aware(datetime.fromisoformat(value))
                except ValueError:
                    end = None
                done[(name, value)] = (None if end is None or end <= since
                                       else move(end, name).astimezone(end.tzinfo).isoformat())
            if done[(name, value)] is not None:
                task.data[name] = done[(name, value)]
                moved += 1
    return moved


def _later(value, move, expression):
    try:
        instant = parse_instant(value)
    except (ValueError, TypeError):
        return None
    return move(instant, expression).isoformat()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _others(user_ids, actor) -> list[int]:
    return [u for u in dict.fromkeys(user_ids) if u is not None and u != getattr(actor, "id", None)]


def _note(case: Case, reason: str) -> str:
    return f"#{case.id} {case.title}：{reason}"


__all__ = ["CaseControl", "MigrationCheck", "clock_shift", "reason_text", "set_resume_rule", "shift_periods",
           "shift_timers"]
