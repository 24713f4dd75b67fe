"""Reads that one transaction may ask for several times, read once: a transition works out a
period with the working calendar five or six times, asks for the same decision table at every
business rule task, and names the same county in two places of a document. The answer is kept in
the session for the rest of its transaction and forgotten when the transaction ends (commit or
rollback), so the next one sees what others have changed meanwhile."""
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

T = TypeVar("T")
_KEY = "gasflow_transaction_memo"


def once(s: Session, key, read: Callable[[], T]) -> T:
    """``read()`` the first time ``key`` is asked for in ``s``'s transaction; the same answer after."""
    memo = s.info.get(_KEY)
    if memo is None:
        memo = s.info[_KEY] = {}
    if key not in memo:
        memo[key] = read()
    return memo[key]


def forget(s: Session) -> None:
    """Drop what was kept: for code that changes one of these rows and reads it again before committing."""
    s.info.pop(_KEY, None)


@event.listens_for(Session, "after_transaction_end")
def _transaction_ended(s: Session, transaction) -> None:
    if transaction.parent is None:  # the session's own transaction, not a flush's or a savepoint's
        s.info.pop(_KEY, None)
