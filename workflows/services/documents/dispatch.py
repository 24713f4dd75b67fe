"""When the PDFs of the documents a transaction issued are rendered: after it commits.

A transition numbers its documents and fixes their wording; laying out the PDF (fpdf2 subsetting the
CJK font, tens of milliseconds) waits until the transaction has committed, so it neither holds the
case's locks nor lengthens the step. Who renders is chosen per database engine by the application:
by default the committing process itself, right after the commit (the embedded default); in
production a queue (RQ workers). Whatever is still pending after that (a queue that was down, a
worker that died, a rendering that failed) the periodic sweep renders.
"""
import logging
import weakref
from collections.abc import Callable, Iterable

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

_PENDING = "gasflow.documents_to_render"
Dispatcher = Callable[[list[int]], None]
_dispatchers: "weakref.WeakKeyDictionary[Engine, Dispatcher]" = weakref.WeakKeyDictionary()
# The engines whose dispatcher renders in the committing process, right after the commit (inline).
_in_process: "weakref.WeakSet[Engine]" = weakref.WeakSet()


def to_render(s: Session, doc_id: int) -> None:
    """Have the document's PDF rendered once ``s`` commits; a rollback forgets it (``_after_rollback``)."""
    s.info.setdefault(_PENDING, []).append(doc_id)


def dispatch_with(bind: Engine, dispatcher: Dispatcher | None, in_process: bool = False) -> None:
    """Hand the documents committed on ``bind`` to ``dispatcher`` (None: render in this process);
    ``in_process``: the dispatcher renders them itself, before the commit returns."""
    if dispatcher is None:
        _dispatchers.pop(bind, None)
    else:
        _dispatchers[bind] = dispatcher
    if in_process:
        _in_process.add(bind)
    else:
        _in_process.discard(bind)


def renders_at_commit(s: Session) -> bool:
    """Whether ``s`` holds documents whose PDFs its commit renders before it returns (inline): what is
    read after that commit lists them rendered, what is read before it, pending."""
    if not s.info.get(_PENDING):
        return False
    bind = s.get_bind()
    bind = bind.engine if isinstance(bind, Connection) else bind
    return bind not in _dispatchers or bind in _in_process


# What renders in the committing process: issue.render_pending, which registers itself on import
# (issuing needs this module's to_render; this module must not import issue back).
_renderer: list[Callable[[Session, Iterable[int]], int]] = []


def render_with(renderer: Callable[[Session, Iterable[int]], int]) -> None:
    _renderer[:] = [renderer]


def render_in_process(bind: Engine, ids: Iterable[int]) -> int:
    with Session(bind) as s:
        return _renderer[0](s, ids)


@event.listens_for(Session, "after_commit")
def _after_commit(s: Session) -> None:
    ids = s.info.pop(_PENDING, None)
    if not ids:
        return
    bind = s.get_bind()
    if isinstance(bind, Connection):
        bind = bind.engine
    dispatcher = _dispatchers.get(bind)
    try:
        if dispatcher is None:
            render_in_process(bind, ids)
        else:
            dispatcher(list(ids))
    except Exception:  # the transition has committed; the sweep renders what is left pending
        log.exception("documents %s were not rendered after the commit; the periodic sweep will", ids)


@event.listens_for(Session, "after_rollback")
def _after_rollback(s: Session) -> None:
    # The documents went with the transaction: the session's next commit (a refused request's audit entry)
    # must not send them to be rendered.
    s.info.pop(_PENDING, None)
