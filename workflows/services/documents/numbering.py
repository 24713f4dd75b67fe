"""Document numbers (文号): 绍燃整〔2026〕第0001号, counted per kind of document and year.

The counter row is bumped in the transaction that issues the document: a rolled-back transition
gives its number back, and concurrent issuers queue on the row (PostgreSQL's row lock; SQLite's
write lock, which the transition already holds), so no number is given twice or skipped.
"""
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models import DocumentCounter

# The year on a document is the regulator's year: 1 January starts at midnight in Shaoxing.
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def document_year(now: datetime) -> int:
    return now.astimezone(LOCAL_TZ).year


def next_serial(s: Session, kind: str, year: int) -> int:
    """The next number of ``kind`` in ``year``, taken in ``s``'s transaction: one upsert, which makes
    the year's row with 1 or adds one to it, and returns the number."""
    return s.execute(_BUMP[s.get_bind().dialect.name == "postgresql"], {"kind": kind, "year": year}).scalar_one()


def _bump(insert):
    # Core, on the table, built once: the ORM's bulk-insert path cost more than the statement.
    table = DocumentCounter.__table__
    stmt = insert(table).values(kind=bindparam("kind"), year=bindparam("year"), last=1)
    return stmt.on_conflict_do_update(index_elements=[table.c.kind, table.c.year],
                                      set_={"last": table.c.last + 1}).returning(table.c.last)


_BUMP = {False: _bump(sqlite.insert), True: _bump(postgresql.insert)}


def format_number(prefix: str, year: int, serial: int) -> str:
    return f"{prefix}〔{year}〕第{serial:04d}号"
