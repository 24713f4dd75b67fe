"""Rows a transition adds that nothing in it reads back: its history (``case_events``) and the
notifications it sends. Held while it runs, in the order they were made, then inserted at its end.

Inserted one statement a table, each was a round trip of its own, and a psycopg executemany (a pipeline
entered and synced) for several rows. On PostgreSQL the case's UPDATE, the last statement of every
transition, carries them instead: each table's rows go as one JSON parameter to an INSERT in a WITH
clause of that UPDATE (``carried``), so a transition's history and notices cost no statement of their
own. Rows are inserted in the order held (their ids, which order the history, follow it). SQLite has no
INSERT in a WITH clause: there, and for whatever is held after the UPDATE, ``held``'s end inserts them.

Whatever reads a held table inside the transition (a task's notice quotes why it came back) calls
``write(s)`` first.
"""
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache

from sqlalchemy import JSON, String, bindparam, cast, column, func, insert, literal_column, select

from models import CaseEvent, Notification

_HELD = "gasflow_rows_held"  # the key of the rows held, {table name: [row, ...]}, in Session.info
# The tables whose rows are held, with the columns every row gives, in the order ``write`` inserts them.
# The rest are NULL (none is left to a Python default), so a plain INSERT and the JSON one write the same row.
_COLUMNS = {"case_events": ("case_id", "at", "actor_id", "event", "task_id", "task_name", "detail"),
            "notifications": ("user_id", "kind", "case_id", "task_id", "text", "created_at", "mail")}
_TABLES = {t.name: t for t in (CaseEvent.__table__, Notification.__table__)}
_INSERTS = {name: insert(table) for name, table in _TABLES.items()}  # built once: building costs more than running


def holding(s) -> bool:
    return _HELD in s.info


def hold(s, table: str, rows: list[dict]) -> bool:
    """Hold ``rows`` of ``table`` for the end of the transition; False (nothing held) outside one."""
    pending = s.info.get(_HELD)
    if pending is None:
        return False
    columns = _COLUMNS[table]
    pending.setdefault(table, []).extend({c: row[c] for c in columns} for row in rows)
    return True


def insert_now(s, table: str, rows: list[dict]) -> None:
    """Insert ``rows`` of ``table`` by one statement (an executemany for several)."""
    if rows:
        s.connection().execute(_INSERTS[table], rows[0] if len(rows) == 1 else rows)


def write(s) -> None:
    """Insert the rows held so far (before something reads them)."""
    pending = s.info.get(_HELD)
    if not pending:
        return
    for table in _COLUMNS:
        insert_now(s, table, pending.pop(table, ()))


def take(s) -> dict[str, str]:
    """The rows held so far as ``carried``'s parameters, no longer held, on PostgreSQL; else nothing
    (``write`` inserts them)."""
    pending = s.info.get(_HELD)
    if not pending or s.get_bind().dialect.name != "postgresql":
        return {}
    return {_param(table): json.dumps(pending.pop(table), default=_json_value)
            for table in list(pending) if pending[table]}


def carried(statement, params: dict):
    """``statement`` (an UPDATE) with the INSERTs of the rows ``take`` gave in ``params`` in its WITH clause."""
    tables = tuple(t for t in _COLUMNS if _param(t) in params)
    return _carrying(statement, tables) if tables else statement


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


def _param(table: str) -> str:
    return f"held_{table}"


@cache
def _carrying(statement, tables: tuple[str, ...]):
    for table in tables:
        columns = _COLUMNS[table]
        # The rows as records of the table's row type, in the order given (WITH ORDINALITY): the INSERT
        # takes its ids in that order, as the ORM's ordered insertmanyvalues does.
        rows = func.json_populate_recordset(literal_column(f"NULL::{table}"),
                                            cast(bindparam(_param(table), type_=String), JSON)) \
            .table_valued(*[column(c) for c in columns], with_ordinality="ordinality").alias(f"held_{table}_rows")
        written = insert(_TABLES[table]).from_select(
            columns, select(*[rows.c[c] for c in columns]).order_by(rows.c.ordinality))
        statement = statement.add_cte(written.cte(f"written_{table}"))
    return statement


def _json_value(value):
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")  # as UTCDateTime refuses it
        return value.astimezone(UTC).isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
