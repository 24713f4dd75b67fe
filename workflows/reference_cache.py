"""Reference data a transition reads every time and people change rarely, kept by each process.

Every transition works out periods on the working calendar (the city's ``calendar_adjustments``) and asks
for the newest version of its decision tables (``decision_models``); every start, for the newest version
of its process (``process_models``). Other processes (the web's workers,
the job runners) may change either at any time: the city admin edits the calendar or uploads a table. So
a process keeps what it read under the token of ``reference_revision``, a row whose token is new in the
same transaction as any write to those tables (``changed``, called by the listeners below for every ORM
write), and a transaction checks that one row, once, instead of reading the tables: the first transition
after a change committed anywhere reads a new token, and the tables again.

A writer that bypasses the ORM (raw SQL) calls ``changed(session)`` itself. A restored backup brings its
own token with its own rows.
"""
import uuid
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import event, select, update
from sqlalchemy.orm import ORMExecuteState, Session

from models import AuditRule, CalendarAdjustment, DecisionModel, ProcessModel, ReferenceRevision
from workflows import transaction_memo

T = TypeVar("T")
# The audit's alert rules too: every writing request's entry checks them (workflows/services/audit_rules.py);
# and the process models, whose newest version every start opens.
WATCHED = (CalendarAdjustment, DecisionModel, AuditRule, ProcessModel)
_WATCHED_TABLES = frozenset(m.__table__ for m in WATCHED)
_TOKEN = select(ReferenceRevision.token).where(ReferenceRevision.id == 1)
_MEMO = "reference revision"


# For a statement the transaction runs anyway (the case's tasks a completion locks, the API key a request
# comes with): its rows carry the token, and ``seen`` saves the transaction the statement of its own.
TOKEN_COLUMN = _TOKEN.scalar_subquery()


def seen(s: Session, value: str | None) -> None:
    """``value`` is the token as ``s``'s transaction read it with ``TOKEN_COLUMN``."""
    if value is not None:
        transaction_memo.once(s, _MEMO, lambda: value)


def token(s: Session) -> str | None:
    """The token of what ``calendar_adjustments`` and ``decision_models`` hold, read once a transaction
    (None in a database without the row: nothing is kept then)."""
    return transaction_memo.once(s, _MEMO, lambda: s.scalar(_TOKEN))


class Kept:
    """One value read from the reference tables, kept with the token it was read under. Threads share it:
    the (token, value) pair is swapped as one reference, and a value is never changed once kept."""

    def __init__(self):
        self._kept: tuple[str, object] | None = None

    def get(self, s: Session, read: Callable[[], T]) -> T:
        return self.under(token(s), read)

    def under(self, current: str | None, read: Callable[[], T]) -> T:
        """The value kept under ``current``, a token read in the transaction ``read`` reads in; else read."""
        kept = self._kept
        if current is not None and kept is not None and kept[0] == current:
            return kept[1]
        value = read()
        if current is not None:
            # Read after the token, so at least as new as it: a change committed in between is kept under the
            # old token, which no transaction starting later will read.
            self._kept = (current, value)
        return value


def changed(s: Session) -> None:
    """The reference tables change in ``s``'s transaction: a new token, written with the change (so it
    commits or rolls back with it), and what this transaction memoized is forgotten."""
    s.connection().execute(update(ReferenceRevision).where(ReferenceRevision.id == 1).values(token=uuid.uuid4().hex))
    transaction_memo.forget(s)


@event.listens_for(Session, "before_flush")
def _flushing(s: Session, _flush_context, _instances) -> None:
    if any(isinstance(o, WATCHED) for o in (*s.new, *s.dirty, *s.deleted)):
        changed(s)


@event.listens_for(Session, "do_orm_execute")
def _executing(state: ORMExecuteState) -> None:
    # insert(...), update(...) and delete(...) run through the session write without a flush.
    if (state.is_insert or state.is_update or state.is_delete) \
            and getattr(state.statement, "table", None) in _WATCHED_TABLES:
        changed(state.session)
