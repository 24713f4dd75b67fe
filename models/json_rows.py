"""A list of rows read as one JSON column of a larger statement, alike on SQLite and PostgreSQL.

A reply made of several short lists (a case's history, its open tasks, its files) then costs one
statement: one round trip, and one pass through SQLAlchemy's execution and result layers, which cost a
small read more than the database does. The rows come back as named tuples with the columns' names, their
UTC datetimes as datetimes, so code written for the rows of a plain select reads them unchanged."""
from collections import namedtuple
from datetime import datetime
from operator import itemgetter

from sqlalchemy import JSON, Boolean, func
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ClauseList, Label
from sqlalchemy.sql.functions import FunctionElement

from .types import UTCDateTime, as_utc


class _json_rows(FunctionElement):
    """The aggregate of its arguments, one JSON array per row: NULL without rows on PostgreSQL, [] on SQLite."""

    type = JSON()  # decoded by psycopg on PostgreSQL, by SQLAlchemy's JSON type on SQLite
    name = "json_rows"
    inherit_cache = True


def _arguments(element, compiler, wrap_json: bool, **kw) -> str:
    columns = []
    for column in element.clauses:
        column = column.element if isinstance(column, Label) else column  # a name is for the Python side
        # SQLite keeps JSON as text: json() makes it a value in the array, not a string.
        columns.append(func.json(column) if wrap_json and isinstance(column.type, JSON) else column)
    return compiler.process(ClauseList(*columns), **kw)


@compiles(_json_rows, "postgresql")
def _postgresql(element, compiler, **kw):
    return f"json_agg(json_build_array({_arguments(element, compiler, False, **kw)}))"


@compiles(_json_rows, "sqlite")
def _sqlite(element, compiler, **kw):
    return f"json_group_array(json_array({_arguments(element, compiler, True, **kw)}))"


class JsonRows:
    """The rows of ``stmt`` as ``column`` (a scalar subquery labelled ``name``), for another statement to
    select; ``rows`` turns its value back into rows. ``stmt``'s first column orders the rows (an id):
    neither aggregate keeps an order on both databases (SQLite's takes no ORDER BY before 3.44)."""

    def __init__(self, name: str, stmt):
        columns = list(stmt.selected_columns)
        self.name = name
        self.row = namedtuple(f"{name}_row", [c.key for c in columns])
        # Datetimes arrive as ISO text: PostgreSQL writes the offset, SQLite stores naive UTC.
        self._instants = [i for i, c in enumerate(columns) if isinstance(c.type, UTCDateTime)]
        # Booleans arrive as 0/1 from SQLite, which has no JSON true/false for a column's value.
        self._flags = [i for i, c in enumerate(columns) if isinstance(c.type, Boolean)]
        self.column = stmt.with_only_columns(_json_rows(*columns)).order_by(None).scalar_subquery().label(name)

    def rows(self, value: list | None) -> list:
        out = []
        for values in sorted(value or (), key=itemgetter(0)):
            for i in self._instants:
                if values[i] is not None:
                    values[i] = as_utc(datetime.fromisoformat(values[i]))
            for i in self._flags:
                if values[i] is not None:
                    values[i] = bool(values[i])
            out.append(self.row._make(values))
        return out
