"""Document numbers (文号): 绍燃整〔2026〕第0001号, counted per kind of document and year.

The counter row is bumped in the transaction that issues the document: a rolled-back transition
gives its number back, and concurrent issuers queue on the row (PostgreSQL's row lock; SQLite's
write lock, which the transition already holds), so no number is given twice or skipped.
"""
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from models import DocumentCounter
from workflows.upsert import insert_for

# The year on a document is the regulator's year: 1 January starts at midnight in Shaoxing.
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def document_year(now: datetime) -> int:
    return now.astimezone(LOCAL_TZ).year


def next_serial(s: Session, kind: str, year: int) -> int:
    """The next number of ``kind`` in ``year``, taken in ``s``'s transaction: one upsert, which makes
    the year's row with 1 or adds one to it, and returns the number."""
    stmt = insert_for(s)(DocumentCounter).values(kind=kind, year=year, last=1)
    stmt = stmt.on_conflict_do_update(index_elements=[DocumentCounter.kind, DocumentCounter.year],
                                      set_={"last": DocumentCounter.last + 1})
    return s.scalar(stmt.returning(DocumentCounter.last))


def format_number(prefix: str, year: int, serial: int) -> str:
    return f"{prefix}〔{year}〕第{serial:04d}号"
