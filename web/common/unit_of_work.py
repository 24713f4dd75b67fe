"""The one unit of work: every database session of the platform is Flask-SQLAlchemy's ``db.session``.

In a request it is the request's session: the view's reads, the engine's transition, the document
numbers it issues and, after it, the audit entry and the idempotency answer all go through it, one
pooled connection at a time. Outside a request (an RQ job, a CLI command, the in-process ticker) each
unit of work gets a session of its own, in an app context pushed for it and popped (closing the
session) when it ends, so a long-lived worker never serves one transition from another's identity map.

Who commits: the engine's public operations commit the session they are given (and a refused one is
rolled back here); a view that writes without the engine commits ``db.session`` itself. See
docs/engine.md, "Units of work".
"""
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, has_request_context
from sqlalchemy.orm import Session

from web.extensions import db


@contextmanager
def unit_of_work(app: Flask) -> Iterator[Session]:
    if has_request_context():
        yield from _within(db.session())
        return
    with app.app_context():
        yield from _within(db.session())


def _within(s: Session) -> Iterator[Session]:
    try:
        yield s
    except BaseException:
        # What the unit of work wrote is undone, and the session is usable again (by the error page,
        # the audit entry) instead of failing on a half-flushed transaction.
        s.rollback()
        raise


def factory(app: Flask):
    """``unit_of_work`` bound to ``app``: what the engine, the audit trail and the idempotency store are given."""
    return lambda: unit_of_work(app)
