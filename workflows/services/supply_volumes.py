"""Supply and delivery volumes (A1.9 bottled deliveries, A2.3 pipeline supply, A3.3 vehicle refuelling)
from the enterprises' reported data, summed by the database.

Two data kinds carry volumes (``forms/data_kinds.py``): ``daily_volume`` (a station's day: inbound,
supplied, delivered, in m³, kg or cylinders) and ``monthly_supply`` (a pipeline enterprise's month by
user category, piped and non-piped, in m³), which is what the standard's tables ask for. Only
accepted data counts: a record is ``official`` once the county's review accepted it; pending and
rejected versions, and versions an accepted correction replaced, are left out.
"""
from sqlalchemy import and_, func, select

from models import REC_OFFICIAL, DataRecord, Enterprise
from workflows import access

from .report_filters import ReportFilters

DAILY_KIND, MONTHLY_KIND = "daily_volume", "monthly_supply"
DAILY_MEASURES = ("inbound", "supplied", "delivered")
CATEGORIES = ("residential", "industrial", "commercial", "public_welfare", "vehicle", "piped", "non_piped")
PERIODS = ("day", "month")


def _records(user, kind: str, f: ReportFilters):
    where = [DataRecord.kind == kind, DataRecord.status == REC_OFFICIAL, access.enterprise_scope(user)]
    if f.county_id is not None:
        where.append(Enterprise.county_id == f.county_id)
    if f.enterprise_id is not None:
        where.append(DataRecord.enterprise_id == f.enterprise_id)
    return and_(*where)


def _sum(field: str):
    return func.coalesce(func.sum(DataRecord.data[field].as_float()), 0)


def daily_volumes(session, user, f: ReportFilters, period: str = "day") -> list[dict]:
    """Sums of the stations' daily volumes per day (or month), enterprise kind and unit."""
    day = DataRecord.data["date"].as_string()
    bucket = day if period == "day" else func.substr(day, 1, 7)
    # One expression object each: PostgreSQL matches GROUP BY to SELECT by their bound parameters too.
    unit = DataRecord.data["unit"].as_string()
    where = [_records(user, DAILY_KIND, f)]
    if f.date_from:
        where.append(day >= f.date_from.isoformat())
    if f.date_to:
        where.append(day <= f.date_to.isoformat())
    stmt = (select(bucket.label("period"), Enterprise.kind, unit.label("unit"),
                   func.count(DataRecord.id), *(_sum(m) for m in DAILY_MEASURES))
            .join(Enterprise, Enterprise.id == DataRecord.enterprise_id)
            .where(*where).group_by(bucket, Enterprise.kind, unit).order_by(bucket, Enterprise.kind, unit))
    return [{"period": p, "enterprise_kind": k, "unit": u, "records": int(n),
             **{m: round(float(v), 3) for m, v in zip(DAILY_MEASURES, values, strict=True)}}
            for p, k, u, n, *values in session.execute(stmt)]


def monthly_categories(session, user, f: ReportFilters) -> list[dict]:
    """A2.3: pipeline supply per month by user category, piped and non-piped (m³)."""
    month = DataRecord.data["month"].as_string()
    where = [_records(user, MONTHLY_KIND, f)]
    if f.date_from:
        where.append(month >= f.date_from.isoformat()[:7])
    if f.date_to:
        where.append(month <= f.date_to.isoformat()[:7])
    stmt = (select(month, func.count(DataRecord.id), *(_sum(c) for c in CATEGORIES))
            .join(Enterprise, Enterprise.id == DataRecord.enterprise_id)
            .where(*where).group_by(month).order_by(month))
    return [{"period": m, "records": int(n), **{c: round(float(v), 3) for c, v in zip(CATEGORIES, values, strict=True)}}
            for m, n, *values in session.execute(stmt)]


def volumes(session, user, f: ReportFilters, period: str) -> dict:
    out = {"period": period, "daily": daily_volumes(session, user, f, period)}
    if period == "month":
        out["categories"] = monthly_categories(session, user, f)
    return out
