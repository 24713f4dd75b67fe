"""A case's history (``case_events``) as a transition writes it: held, then inserted by one statement.

A transition records several entries (the task completed, the tasks it opens, the messages handled,
the case completed). Written one by one, each was a statement of its own and a flush of the session
before it (Session.execute flushes first), for rows nothing in the transition reads back. Inside
``held(s)`` the entries wait in the session's ``info``, in the order they were recorded, and are
inserted by one executemany when it ends: their ids, which order the history, follow that order.

Whatever reads the history before then (a task's notice quotes why it came back) calls ``write(s)``
first. Code run inside a transition (a message handler) records through ``record`` too: a ``CaseEvent``
added to the session would be flushed ahead of the entries held, out of order.
"""
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import insert

from models import CaseEvent

_HELD = "gasflow_history_held"  # the key of the entries held in Session.info
_INSERT = insert(CaseEvent.__table__)  # built once: building a statement costs more than running it


def record(s, case_id: int, event: str, at: datetime, actor_id: int | None = None, task_id: int | None = None,
           task_name: str = "", detail: dict | None = None) -> None:
    """An entry of the case's history: held when a transition holds them, else written now."""
    entry = {"case_id": case_id, "at": at, "actor_id": actor_id, "event": event, "task_id": task_id,
             "task_name": task_name, "detail": detail or {}}
    pending = s.info.get(_HELD)
    if pending is None:
        s.execute(_INSERT, entry)
    else:
        pending.append(entry)


def write(s) -> None:
    """Insert the entries held so far (before something reads the history)."""
    pending = s.info.get(_HELD)
    if pending:
        s.execute(_INSERT, pending)
        pending.clear()


@contextmanager
def held(s) -> Iterator[None]:
    """Hold the entries recorded inside, and insert them when it ends. Inside another ``held`` (a case
    opened by a transition) the outer one holds them. A failure drops them: the transaction is rolled back."""
    if _HELD in s.info:
        yield
        return
    s.info[_HELD] = []
    try:
        yield
        write(s)
    finally:
        del s.info[_HELD]
