"""When a task is late: open, past its due time, and of a case that runs. A suspended case's tasks are not late:
their due dates move by the time suspended when it resumes (``engine/control.py``). One rule for every place
that says "overdue": a task's reply and page, the queues' filter and counts, the sign-in notice, the overdue
notices and the dashboard's late cases.

An open task belongs to a case that runs or is suspended: closing a case (completed, cancelled) ends its tasks.
So "not of a suspended case" and "of a running case" are the same condition on open tasks, and each statement
uses the form its plan needs (a subquery over the few suspended cases where it reads tasks, the case's own
status where it joins them).
"""
from datetime import datetime

from sqlalchemy import and_, select

from models import CASE_ACTIVE, CASE_SUSPENDED, TASK_OPEN, Case, Task
from workflows.engine import clock


def is_late(task: Task, now: datetime | None = None, case: Case | None = None) -> bool:
    """``task`` is late at ``now`` (else the platform's clock). ``case``: the task's, if the caller has it; else
    it is read, and only for a task past due (the case row, state and all, is a read of its own)."""
    return task.status == TASK_OPEN and task.due_at is not None and task.due_at < (now or clock.now()) \
        and (case or task.case).status != CASE_SUSPENDED


def late(now: datetime):
    """``is_late`` as a WHERE clause over open tasks."""
    return and_(Task.due_at < now, Task.case_id.not_in(select(Case.id).where(Case.status == CASE_SUSPENDED)))


def late_joined(now: datetime):
    """``is_late`` as a WHERE clause over open tasks joined to their case."""
    return and_(Task.due_at < now, Case.status == CASE_ACTIVE)
