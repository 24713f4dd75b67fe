"""The enforcement ledgers (A8.1–A8.4): inspections, rectification orders, penalties and accidents,
read from the cases themselves (nothing is typed twice), searchable and paged by the database.

Each ledger is one process; its columns are the case's own columns plus fields of the case data the
process's forms and scripts write, read with SQLAlchemy's JSON operators (SQLite and PostgreSQL).
"""
from dataclasses import dataclass

from sqlalchemy import func, or_, select

from models import Case, Enterprise, Region
from workflows import access
from workflows.errors import NotFound

from .report_filters import ReportFilters

MAX_EXPORT_ROWS = 50_000


@dataclass(frozen=True)
class Column:
    key: str
    type: str = "str"  # str, int, float, bool
    searched: bool = False  # matched by the ledger's text search

    @property
    def name(self) -> str:
        """The row key: a nested field ("problem_counts.I") as one word."""
        return self.key.replace(".", "_")


@dataclass(frozen=True)
class Ledger:
    key: str
    process: str
    item: str  # the standard's item
    columns: tuple


LEDGERS = {ledger.key: ledger for ledger in (
    Ledger("inspections", "inspection", "A8.1", (
        Column("name", searched=True), Column("level"), Column("department", searched=True),
        Column("planned_on"), Column("score", "float"), Column("qualified", "bool"), Column("problem_count", "int"),
        Column("problem_counts.I", "int"), Column("problem_counts.II", "int"), Column("problem_counts.III", "int"))),
    Ledger("rectifications", "rectification", "A8.2", (
        Column("hazard_class"), Column("hazard_description", searched=True), Column("deadline_at"),
        Column("response", searched=True), Column("decision"), Column("overdue_count", "int"),
        Column("send_back_count", "int"))),
    Ledger("penalties", "penalty", "A8.3", (
        Column("source"), Column("facts", searched=True), Column("penalty_type"), Column("amount", "float"),
        Column("listed", "bool"), Column("document_no", searched=True), Column("served_at"), Column("outcome"),
        Column("paid_amount", "float"),
        # The procedure of the Administrative Penalty Law (the penalty model's second version).
        Column("decided_at"), Column("service_method"), Column("payment"), Column("surcharge", "float"),
        Column("enforcement"))),
    Ledger("accidents", "accident", "A8.4", (
        Column("source"), Column("accident_type"), Column("title", searched=True), Column("occurred_at"),
        Column("address", searched=True), Column("casualties", "int"), Column("economic_loss", "float"))),
)}


def ledger(key: str) -> Ledger:
    if key not in LEDGERS:
        raise NotFound("no such ledger")
    return LEDGERS[key]


def _field(column: Column):
    path = tuple(column.key.split(".")) if "." in column.key else column.key
    value = Case.data[path]
    return {"int": value.as_integer, "float": value.as_float, "bool": value.as_boolean}.get(
        column.type, value.as_string)().label(column.name)


def _statement(user, book: Ledger, f: ReportFilters):
    stmt = (select(Case.id, Case.title, Case.status, Case.created_at, Case.completed_at,
                   Enterprise.name.label("enterprise"), Region.name.label("county"),
                   *(_field(c) for c in book.columns))
            .outerjoin(Enterprise, Enterprise.id == Case.enterprise_id)
            .outerjoin(Region, Region.id == Case.county_id)
            .where(access.case_scope(user), Case.process_key == book.process))
    if f.county_id is not None:
        stmt = stmt.where(Case.county_id == f.county_id)
    if f.enterprise_id is not None:
        stmt = stmt.where(Case.enterprise_id == f.enterprise_id)
    if f.status:
        stmt = stmt.where(Case.status == f.status)
    if f.start is not None:
        stmt = stmt.where(Case.created_at >= f.start)
    if f.end is not None:
        stmt = stmt.where(Case.created_at < f.end)
    if f.q:
        texts = [Case.title, Enterprise.name] + [Case.data[c.key].as_string() for c in book.columns if c.searched]
        stmt = stmt.where(or_(*(t.contains(f.q, autoescape=True) for t in texts)))
    return stmt


def _row(row) -> dict:
    out = dict(row._mapping)
    for key in ("created_at", "completed_at"):
        out[key] = out[key].isoformat() if out[key] is not None else None
    return out


def page(session, user, key: str, f: ReportFilters, number: int, per_page: int) -> dict:
    book = ledger(key)
    stmt = _statement(user, book, f)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = session.execute(stmt.order_by(Case.created_at.desc(), Case.id.desc())
                           .limit(per_page).offset((number - 1) * per_page))
    return {"ledger": key, "total": int(total), "page": number, "per_page": per_page,
            "items": [_row(r) for r in rows]}


def all_rows(session, user, key: str, f: ReportFilters) -> list[dict]:
    """Every matching row, for an export (at most ``MAX_EXPORT_ROWS``)."""
    stmt = _statement(user, ledger(key), f).order_by(Case.created_at.desc(), Case.id.desc()).limit(MAX_EXPORT_ROWS)
    return [_row(r) for r in session.execute(stmt)]
