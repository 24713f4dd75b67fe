"""Who commits what a unit of work wrote: the unit of work says, the engine asks.

The engine's public operations end with ``commit(s)``. Outside a web request that is ``s.commit()``:
a job, a command or the ticker commits each transition. The web's unit of work hands the session a
commit of its own (``commit_with``): within a request the request owns the commit, so the engine's
writes are only flushed, the reply is read in the same transaction and the request commits once, with
its audit entry (web/common/unit_of_work.py, docs/engine.md "Units of work"). The engine itself never
learns which: it knows sessions, not requests.
"""
from collections.abc import Callable

from sqlalchemy.orm import Session

_COMMIT = "gasflow.commit"


def commit_with(s: Session, commit: Callable[[Session], None] | None) -> None:
    """What ``commit(s)`` does for ``s`` from now on (None: commit it)."""
    if commit is None:
        s.info.pop(_COMMIT, None)
    else:
        s.info[_COMMIT] = commit


def commit(s: Session) -> None:
    """End a unit of work's writes the way its owner asked: commit, unless the owner commits later."""
    (s.info.get(_COMMIT) or Session.commit)(s)
