"""A case's history (``case_events``) as a transition writes it: held, then inserted by one statement.

A transition records several entries (the task completed, the tasks it opens, the messages handled,
the case completed). Written one by one, each was a statement of its own and a flush of the session
before it (Session.execute flushes first), for rows nothing in the transition reads back. Inside
``held(s)`` the entries wait in the session's ``info``, in the order they were recorded, and are
inserted when it ends (by the case's UPDATE on PostgreSQL, workflows/held_rows.py): their ids, which
order the history, follow that order.

Whatever reads the history before then (a task's notice quotes why it came back) calls ``write(s)``
first. Code run inside a transition (a message handler) records through ``record`` too: a ``CaseEvent``
added to the session would be flushed ahead of the entries held, out of order.
"""
from datetime import datetime

from . import held_rows

_TABLE = "case_events"


def record(s, case_id: int, event: str, at: datetime, actor_id: int | None = None, task_id: int | None = None,
           task_name: str = "", detail: dict | None = None) -> None:
    """An entry of the case's history: held when a transition holds them, else written now."""
    entry = {"case_id": case_id, "at": at, "actor_id": actor_id, "event": event, "task_id": task_id,
             "task_name": task_name, "detail": detail or {}}
    held_rows.held_or_written(s, _TABLE, [entry])


def write(s) -> None:
    """Insert the entries held so far, before something reads the history."""
    held_rows.write(s, (_TABLE,))

