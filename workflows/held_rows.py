"""What a transition writes that nothing in it reads back from the database: the tasks it ends, the
documents it issues, its history (``case_events``) and the notifications it sends. Held while it runs,
in the order they were made, then written at its end.

Written one statement a table, each was a round trip of its own, and a psycopg executemany (a pipeline
entered and synced) for several rows. On PostgreSQL the case's UPDATE, the last statement of every
transition, carries them instead: each kind's rows go as one JSON parameter to an INSERT or UPDATE in a
WITH clause of that UPDATE (``carried``), so they cost no statement of their own. Rows are inserted in
the order held (their ids, which order the history, follow it). SQLite has no INSERT or UPDATE in a WITH
clause: there the engine writes them right after that UPDATE, by a statement a kind; so on both, what a
step held is in the database when the step ends. ``held``'s end writes whatever is held after it.

Whatever reads a held table inside the transition (a task's notice quotes why it came back) calls
``write(s)`` first. The engine's objects hold what is written (``set_committed_value``), so what the
transition reads of them is current.
"""
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from sqlalchemy import JSON, String, Table, bindparam, cast, column, func, insert, literal_column, select, update

from models import CaseEvent, IssuedDocument, Notification, Task

_HELD = "gasflow_rows_held"  # the key of the rows held, {kind: [row, ...]}, in Session.info


@dataclass(frozen=True)
class _Kind:
    """What is held of a table: rows to insert, or (``key``) the new values of rows by their key. ``columns``
    are those every row gives; the rest are NULL or left as they are, none to a Python default, so the
    statement of its own and the JSON records write the same."""
    table: Table
    columns: tuple[str, ...]
    key: str | None = None

    def statement(self):
        if self.key is None:
            return insert(self.table)
        return update(self.table).where(self.table.c[self.key] == bindparam(f"{self.key}_")) \
            .values({c: bindparam(c) for c in self.columns})

    def params(self, row: dict) -> dict:
        return row if self.key is None else {**row, f"{self.key}_": row[self.key]}


# In the order ``write`` writes them. A document comes with its id (taken from its sequence with its number).
_KINDS = {
    "issued_documents": _Kind(IssuedDocument.__table__, ("id", "case_id", "kind", "occurrence", "year", "serial",
                                                           "number", "attachment_id", "issued_at", "fields",
                                                           "rendered_at")),
    "ended_tasks": _Kind(Task.__table__, ("status", "completed_at", "completed_by_id", "assignee_id"), key="id"),
    "case_events": _Kind(CaseEvent.__table__, ("case_id", "at", "actor_id", "event", "task_id", "task_name", "detail")),
    "notifications": _Kind(Notification.__table__, ("user_id", "kind", "case_id", "task_id", "text", "created_at",
                                                     "mail")),
}
_STATEMENTS = {name: kind.statement() for name, kind in _KINDS.items()}  # built once: building costs more than running


def columns(kind: str) -> tuple:
    """The columns a row of ``kind`` is held and written with (its key first, for an update)."""
    spec = _KINDS[kind]
    return spec.columns if spec.key is None else (spec.key, *spec.columns)


def hold(s, kind: str, rows: list[dict]) -> bool:
    """Hold ``rows`` of ``kind`` (one of ``_KINDS``) for the end of the transition; False (nothing held)
    outside one."""
    pending = s.info.get(_HELD)
    if pending is None:
        return False
    kept = columns(kind)
    pending.setdefault(kind, []).extend({c: row[c] for c in kept} for row in rows)
    return True


def write_now(s, kind: str, rows: list[dict]) -> None:
    """Write ``rows`` of ``kind`` by one statement (an executemany for several)."""
    if rows:
        spec = _KINDS[kind]
        execute_rows(s, _STATEMENTS[kind], [spec.params(row) for row in rows])


def execute_rows(s, statement, params: list[dict]) -> None:
    """Run ``statement`` (no RETURNING) for each parameter set: one set alone is a plain execute, which costs
    psycopg less than its executemany (a pipeline entered and synced)."""
    s.connection().execute(statement, params[0] if len(params) == 1 else params)


def held_or_written(s, kind: str, rows: list[dict]) -> None:
    if rows and not hold(s, kind, rows):
        write_now(s, kind, rows)


def write(s, kinds: tuple[str, ...] | None = None) -> None:
    """Write the rows held so far (of ``kinds``, else all), before something reads them."""
    pending = s.info.get(_HELD)
    if not pending:
        return
    for kind in kinds or _KINDS:
        write_now(s, kind, pending.pop(kind, ()))


def take(s) -> dict[str, str]:
    """The rows held so far as ``carried``'s parameters, no longer held, on PostgreSQL; else nothing
    (``write`` inserts them)."""
    pending = s.info.get(_HELD)
    if not pending or s.get_bind().dialect.name != "postgresql":
        return {}
    return {_param(kind): json.dumps(pending.pop(kind), default=_json_value)
            for kind in list(pending) if pending[kind]}


def carried(statement, params: dict):
    """``statement`` (an UPDATE) with the writes of the rows ``take`` gave in ``params`` in its WITH clause."""
    kinds = tuple(k for k in _KINDS if _param(k) in params)
    return _carrying(statement, kinds) if kinds else statement


@contextmanager
def held(s) -> Iterator[None]:
    """Hold the rows made inside, and insert what is still held when it ends. Inside another ``held``
    (a case opened by a transition) the outer one holds them. A failure drops them: the transaction
    is rolled back."""
    if _HELD in s.info:
        yield
        return
    s.info[_HELD] = {}
    try:
        yield
        write(s)
    finally:
        del s.info[_HELD]


def _param(kind: str) -> str:
    return f"held_{kind}"


@cache
def _carrying(statement, kinds: tuple[str, ...]):
    for kind in kinds:
        spec = _KINDS[kind]
        table = spec.table
        columns = spec.columns if spec.key is None else (spec.key, *spec.columns)
        # The rows as records of the table's row type, in the order given (WITH ORDINALITY): an INSERT
        # takes its ids in that order, as the ORM's ordered insertmanyvalues does.
        rows = func.json_populate_recordset(literal_column(f"NULL::{table.name}"),
                                            cast(bindparam(_param(kind), type_=String), JSON)) \
            .table_valued(*[column(c) for c in columns], with_ordinality="ordinality").alias(f"held_{kind}")
        if spec.key is None:
            written = insert(table).from_select(
                columns, select(*[rows.c[c] for c in columns]).order_by(rows.c.ordinality))
        else:
            written = update(table).where(table.c[spec.key] == rows.c[spec.key]) \
                .values({c: rows.c[c] for c in spec.columns})
        statement = statement.add_cte(written.cte(f"written_{kind}"))
    return statement


def _json_value(value):
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")  # as UTCDateTime refuses it
        return value.astimezone(UTC).isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
