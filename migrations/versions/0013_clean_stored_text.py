"""clean text stored before NUL and lone surrogates were refused

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 08:00:00

Until this release, NUL and lone surrogates (U+D800..U+DFFF unpaired, from a JSON "\\ud800" escape)
were stored: in JSON columns on both databases (as escapes), and NUL in text columns on SQLite. On
PostgreSQL the JSON functions then fail on the row (the authority dashboard, the map), and no page can
show a lone surrogate. Every text and JSON column of every table is searched, and each such string is
cleaned as the platform now cleans what it keeps: NUL dropped, a lone surrogate replaced by U+FFFD.

The audit trail is left as written: its entries are hash-chained evidence, and its writer never stored
a lone surrogate (nothing in a URL or form decodes to one). Encrypted personal fields are ciphertext and
need no cleaning. Self-contained on purpose: a migration must not change with the code of later releases.
"""
import json
import re
import warnings

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
LEFT_ALONE = {"alembic_version", "audit_entries", "audit_chain_head", "audit_anchors"}
# The JSON escapes that can stand for NUL or a surrogate (U+D800..U+DFFF), as LIKE patterns.
ESCAPES = ["\\u0000", *(f"\\ud{c}" for c in "89abcdef")]


def clean_text(value: str) -> str:
    return BAD_TEXT.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", value)


def clean_json(value):
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_json(v) for v in value]
    return value


def _is_json(column_type) -> bool:
    return isinstance(column_type, sa.JSON) or type(column_type).__name__.upper() in ("JSON", "JSONB")


def _suspects(dialect: str, column: str, is_json: bool):
    """Rows that may hold bad text in ``column`` (some may not: they are checked in Python)."""
    quoted = f'"{column}"'
    if dialect == "postgresql":
        if not is_json:
            return None  # PostgreSQL text holds neither NUL nor a lone surrogate
        return sa.text(f"CAST({quoted} AS text) ~* '\\\\u(0000|d[89a-f])'")
    raw_nul = f"instr(CAST({quoted} AS BLOB), X'00') > 0"
    if not is_json:
        return sa.text(raw_nul)
    likes = " OR ".join(f"{quoted} LIKE '%{e}%'" for e in ESCAPES)  # LIKE ignores ASCII case in SQLite
    return sa.text(f"({likes} OR {raw_nul})")


def clean_stored_text(conn) -> dict[str, int]:
    """Clean every text and JSON column of every table on ``conn``; returns rows changed per table.column."""
    dialect = conn.dialect.name
    inspector = sa.inspect(conn)
    changed = {}
    for table in inspector.get_table_names():
        if table in LEFT_ALONE:
            continue
        keys = inspector.get_pk_constraint(table).get("constrained_columns") or []
        if not keys:
            continue
        with warnings.catch_warnings():  # PostGIS types are unknown to SQLAlchemy, and not text anyway
            warnings.simplefilter("ignore", sa.exc.SAWarning)
            columns = inspector.get_columns(table)
        for column in columns:
            col_type, name = column["type"], column["name"]
            is_json = _is_json(col_type)
            if not is_json and not isinstance(col_type, sa.String):
                continue
            where = _suspects(dialect, name, is_json)
            if where is None:
                continue
            read = f'CAST("{name}" AS text)' if dialect == "postgresql" else f'"{name}"'
            pk = ", ".join(f'"{k}"' for k in keys)
            rows = conn.execute(sa.text(f'SELECT {pk}, {read} FROM "{table}" WHERE {where}')).all()
            count = 0
            for row in rows:
                ids, stored = row[:-1], row[-1]
                if stored is None:
                    continue
                if is_json:
                    value = json.loads(stored)
                    fixed = clean_json(value)
                    if fixed == value:
                        continue  # an escaped backslash before "u0000", say: no bad text after all
                    new = json.dumps(fixed)  # ASCII escapes: what SQLAlchemy's JSON type writes too
                    cast = "jsonb" if type(col_type).__name__.upper() == "JSONB" else "json"
                    assign = f"CAST(:v AS {cast})" if dialect == "postgresql" else ":v"
                else:
                    new = clean_text(stored)
                    if new == stored:
                        continue
                    assign = ":v"
                match = " AND ".join(f'"{k}" = :k{i}' for i, k in enumerate(keys))
                conn.execute(sa.text(f'UPDATE "{table}" SET "{name}" = {assign} WHERE {match}'),
                             {"v": new, **{f"k{i}": v for i, v in enumerate(ids)}})
                count += 1
            if count:
                changed[f"{table}.{name}"] = count
    return changed


def upgrade():
    clean_stored_text(op.get_bind())


def downgrade():
    pass  # what was removed was never valid text
