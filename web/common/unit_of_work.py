"""The one unit of work: every database session of the platform is Flask-SQLAlchemy's ``db.session``.

In a request it is the request's session: the view's reads, the engine's transition, the document
numbers it issues, the reply, the idempotency answer and the audit entry all go through it, one pooled
connection at a time. Outside a request (an RQ job, a CLI command, the in-process ticker) each unit of
work gets a session of its own, in an app context pushed for it and popped (closing the session) when it
ends, so a long-lived worker never serves one transition from another's identity map.

Who commits (docs/engine.md, "Units of work"):

- Outside a request the engine's operations commit as they end (``workflows.commits``).
- In a request the request owns the commit. The engine's operations, and a view's ``writes_done()``, only
  flush (every ``commits.commit`` of the request's session does); the reply is read in
  the same transaction; at the request's end (the first after-request hook, when the response and its
  status are known) the steps registered with ``at_request_end`` write into that transaction (the
  idempotency answer, then the audit entry, whose append locks the chain's head and so comes last) and
  the request commits once. The head is locked from the append to that commit only.
- A unit of work that fails is rolled back (the engine refused: a 4xx), and the steps then write the
  request's entry in a transaction of their own, as for a request that wrote nothing (what a view left
  without ``writes_done()`` is rolled back). A server error (5xx) rolls the request's work back too.
- If the steps or the commit fail, the request's work is rolled back with them: nothing is committed
  without its audit entry, and the response becomes the error (503 when the database is unavailable,
  else 500), which the steps then record, each in a transaction of its own (so the key is given back
  even if the entry fails again). The client is never told 2xx for work that was not kept. Where no work
  waited (a refusal, a read, a step of signing in), a failed step costs only itself: the others settle
  alone.
- Exceptions: an engine operation whose documents render in this process at commit (inline, the
  embedded default) commits at once, so its reply lists the PDFs rendered, as documented; and a second
  unit of work in the same request first commits what the one before left, so that its failure never
  undoes the other's work. The steps of signing in and out (failed attempts, sign-in records), the API
  key's last use, an idempotency key's claim and a public page's view count commit as they happen: they
  must stand whatever the request then does (the count: a read's, never audited, not held while rendering).
"""
import copy
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from flask import Flask, Response, current_app, g, got_request_exception, has_request_context, session
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.exceptions import InternalServerError

from web.extensions import db
from workflows import commits
from workflows.services.documents import dispatch

log = logging.getLogger(__name__)
_OWNED = "gasflow_request_owns_commit"  # g: set before the view runs, for a request that is dispatched
_ENDED = "gasflow_request_ended"  # g: its last transaction is settled
_LEFT = "gasflow.left_for_the_request"  # session.info: a unit of work's writes wait for the request's commit
_STEPS = "gasflow.request_end"  # app.extensions: the steps of the request's last transaction
_SESSION_BEFORE = "gasflow_session_before"  # g: the browser's session when the request began
_FAILED_STEP = "gasflow_failed_step"  # on the exception _settle raises: the step it came from (None: the commit)

# A step writes into the request's last transaction, given the session and the response (None: an
# exception no handler answered, a 500). It returns what to do once that transaction is over (called with
# whether it committed), or None.
Step = Callable[[Session, Response | None], Callable[[bool], None] | None]
T = TypeVar("T")


@contextmanager
def unit_of_work(app: Flask) -> Iterator[Session]:
    if has_request_context():
        s = db.session()
        # The request's commit rule is the session's already (``_own_commit``): what an earlier unit of work
        # left for the request's end stays, whatever becomes of this one.
        if g.get(_OWNED) and s.info.get(_LEFT):
            s.commit()
        yield from _within(s)
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


def _left_for_the_request(s: Session) -> None:
    """The engine's commit in a request: flushed (errors surface inside the unit of work, which rolls
    back), committed at the request's end with its audit entry."""
    if dispatch.renders_at_commit(s):
        # Inline PDFs render right after the commit; the reply lists them rendered only if it is read
        # after it (docs/engine.md, "Official documents"). Queued or swept ones wait for the request.
        s.commit()
        return
    s.flush()
    s.info[_LEFT] = True


@event.listens_for(Session, "after_transaction_end")
def _transaction_ended(s: Session, transaction) -> None:
    if transaction.parent is None:  # committed or rolled back, by whoever: nothing is left waiting
        s.info.pop(_LEFT, None)


def factory(app: Flask):
    """``unit_of_work`` bound to ``app``: what the engine, the audit trail and the idempotency store are given."""
    return lambda: unit_of_work(app)


# ---- the request's end ------------------------------------------------------------------------------
def at_request_end(app: Flask, step: Step) -> None:
    """Have ``step`` write into every request's last transaction, after the steps registered before it."""
    app.extensions.setdefault(_STEPS, []).append(step)


def register(app: Flask) -> None:
    """Called last by the app factory: the request's end runs before every other after-request hook
    (Flask runs them in reverse order), so they see the response the commit leaves (an error, if it failed)."""
    app.before_request_funcs.setdefault(None, []).insert(0, _own_commit)
    app.after_request(_end)
    app.teardown_request(_teardown)


def _own_commit() -> None:
    # Only a dispatched request ends in ``_end``: a bare test_request_context leaves commits to the engine.
    g.setdefault(_OWNED, True)
    # The browser's session as the request found it: if its work is rolled back, so is what it told the
    # browser (a password change's new sign-in key would name a record that was never kept). Set for each
    # request, never kept from another (a test's app context serves several).
    setattr(g, _SESSION_BEFORE, copy.deepcopy(dict(session)))
    # Every ``commits.commit`` of the request (a view's ``writes_done``, a service's) leaves its writes for
    # the request's end, as the engine's do.
    commits.commit_with(db.session(), _left_for_the_request)


def writes_done() -> None:
    """A view's writes are complete. In a request they are flushed now (a constraint they break is raised
    here, in the view, which may answer it) and committed at the request's end, in one transaction with
    its audit entry: nothing a request changes is kept without its entry, and an entry that cannot be
    written takes the change with it. Outside a request (a command, a job) they are committed now."""
    commits.commit(db.session())


def written_again_on_conflict(write: Callable[[], T], attempts: int = 2) -> T:
    """``write()`` done and ``writes_done``. Two submissions at once (a double click, two admins) may both find
    a row new, or a number free: the second's write then breaks the row's key, and it is written again from
    the rows as they now are (``write`` reads them itself), up to ``attempts`` times in all.

    It must be the view's only write: a conflict rolls the request's transaction back (SQLite has no savepoint
    that leaves the request one transaction), and any change made before it would go with it. Changes still
    pending in the session are refused for that reason."""
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    session = db.session()
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("written_again_on_conflict must be the view's only write: a conflict would undo the rest")
    for attempt in range(attempts):
        try:
            done = write()
            writes_done()
            return done
        except IntegrityError:
            session.rollback()
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")


def _end(response: Response) -> Response:
    # Once: a later after-request hook that fails makes Flask run them all again for its 500, after this
    # one has committed (the entry then records the status answered before that hook failed).
    if g.get(_ENDED):
        return response
    g.setdefault(_ENDED, True)
    s = db.session()
    left = bool(s.info.get(_LEFT))
    if response.status_code >= 500:
        # A server error keeps no work of the request (rolled back here, or by the error handler already):
        # nor what the request told the browser along with it.
        _forget_session_changes()
    try:
        if left and response.status_code >= 500:
            left = False
            s.rollback()  # a server error keeps nothing (the error handler has usually rolled back already)
        if not left and s.in_transaction():
            s.rollback()  # what the view read (or left uncommitted) is not the request's to keep
        _settle(s, response)
        return response
    except Exception as exc:
        if not left:
            # Nothing of the request's own was lost: the steps the failure did not come from settle alone
            # (the key of a refused request is given back though its entry could not be written).
            log.exception("the request's audit entry or idempotency answer could not be written")
            _settle_each(s, response, skip=getattr(exc, _FAILED_STEP, None))
            return response
        log.exception("the request's work was rolled back: its last transaction failed")
        failed = _failure(exc)
    _settle_each(s, failed)
    return failed


def _teardown(exc) -> None:
    """The request that ended without a response (an exception no handler answered, when exceptions
    propagate): its work is rolled back and its entry written in a transaction of its own."""
    owned, ended = g.pop(_OWNED, False), g.pop(_ENDED, False)
    g.pop(_SESSION_BEFORE, None)
    if not db.session.registry.has():
        return
    s = db.session()
    if owned and not ended:
        s.rollback()
        _settle_each(s, None)
    commits.commit_with(s, None)  # the session may outlive the request (a test's app context)
    s.info.pop(_LEFT, None)


def _settle(s: Session, response: Response | None, steps: list[Step] | None = None) -> None:
    """The steps' writes (``steps``: else every registered one) and one commit; each step is told afterwards
    whether it was kept. A step that raises is named on the exception (``_FAILED_STEP``; None: the commit)."""
    after, step = [], None
    try:
        for step in current_app.extensions.get(_STEPS, ()) if steps is None else steps:
            done = step(s, response)
            if done is not None:
                after.append(done)
        step = None
        if s.in_transaction():  # nothing begun: a read nobody records, whose reads were ended above
            s.commit()
    except Exception as exc:
        setattr(exc, _FAILED_STEP, step)
        s.rollback()
        for done in after:
            done(False)
        raise
    for done in after:
        done(True)


def _settle_each(s: Session, response: Response | None, skip: Step | None = None) -> None:
    """After a failure, the steps (but ``skip``, the one that failed) each in a transaction of its own, so
    that one failing again (the audit trail still refusing) costs the others nothing."""
    for step in current_app.extensions.get(_STEPS, ()):
        if step is skip:
            continue
        try:
            _settle(s, response, [step])
        except Exception:
            log.exception("the request's end could not write %s", getattr(step, "__qualname__", step))


def _forget_session_changes() -> None:
    g.pop("csrf_token", None)  # Flask-WTF's copy of a token the request may have added to the session
    before = g.get(_SESSION_BEFORE)
    if before is None:
        session.pop("_flashes", None)
        return
    session.clear()
    session.update(before)


def _failure(exc: Exception) -> Response:
    """The error that replaces a response whose work was rolled back: what the error handlers answer for
    ``exc`` (503 for a database that is unavailable), else a 500."""
    _forget_session_changes()  # a page's "done" must not greet the next page, nor its new keys stand
    app = current_app._get_current_object()
    got_request_exception.send(app, exception=exc)  # as for any exception no handler answered (the audit notes it)
    try:
        answer = app.handle_user_exception(exc)
    except Exception:
        answer = app.handle_http_exception(InternalServerError(original_exception=exc))
    return app.make_response(answer)
