"""The figures of the authorities' home dashboard, each one GROUP BY query over the caller's area.

Case figures read the case data the models write (inspection: ``qualified``, ``problem_counts``;
rectification: ``decision``, ``overdue_count``; penalty: ``penalty_type``, ``amount``,
``paid_amount``) through SQLAlchemy's JSON operators, which SQLite and PostgreSQL both answer.
"""
from datetime import datetime

from sqlalchemy import and_, case, func, select

from models import (
    CASE_COMPLETED,
    CASE_OPEN_STATUSES,
    CASE_SUSPENDED,
    ENTERPRISE_KINDS,
    ROLE_CITY_ADMIN,
    TASK_OPEN,
    Case,
    EarlyWarning,
    Enterprise,
    Region,
    Task,
)
from models.monitoring import WARNING_OPEN
from workflows import access, lateness

PROBLEM_CLASSES = ("I", "II", "III")


def _count_if(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def open_cases(session, user, now: datetime) -> list[dict]:
    """Open cases by process and county: every case not yet closed, the suspended ones among them (paused by a
    supervisor: still open, their periods stopped), and how many of the running ones have a task past its due
    time (a suspended case's tasks are not late: their due dates move when it resumes)."""
    where = (access.case_scope(user), Case.status.in_(CASE_OPEN_STATUSES))
    counts = session.execute(select(Case.process_key, Case.county_id, func.count(Case.id),
                                    _count_if(Case.status == CASE_SUSPENDED))
                             .where(*where).group_by(Case.process_key, Case.county_id)).all()
    # Late cases counted from their open tasks, joined to the case by its key: a plain join whatever the
    # planner's statistics say (an EXISTS or DISTINCT subquery per case took seconds on a freshly
    # loaded PostgreSQL).
    late = dict(((p, c), n) for p, c, n in session.execute(
        select(Case.process_key, Case.county_id, func.count(func.distinct(Case.id)))
        .join(Task, Task.case_id == Case.id)
        .where(access.case_scope(user), Task.status == TASK_OPEN, lateness.late_joined(now))
        .group_by(Case.process_key, Case.county_id)))
    names = dict(session.execute(select(Region.id, Region.name).where(Region.level == "county")).all())
    rows = [{"process": p, "county_id": c, "county": names.get(c, ""), "open": int(n), "suspended": int(paused),
             "overdue": int(late.get((p, c), 0))} for p, c, n, paused in counts]
    return sorted(rows, key=lambda r: (r["process"], r["county_id"] or 0))


def warnings_by_level(session, user) -> dict[int, int]:
    stmt = (select(EarlyWarning.level, func.count(EarlyWarning.id))
            .where(access.warning_scope(user), EarlyWarning.status == WARNING_OPEN).group_by(EarlyWarning.level))
    found = {int(level): int(n) for level, n in session.execute(stmt)}
    return {level: found.get(level, 0) for level in sorted({1, 2, 3} | set(found))}


def enterprises_by_kind(session, user) -> dict[str, int]:
    stmt = select(Enterprise.kind, func.count(Enterprise.id)).where(access.enterprise_scope(user)) \
        .group_by(Enterprise.kind)
    found = dict(session.execute(stmt).all())
    return {kind: int(found.get(kind, 0)) for kind in ENTERPRISE_KINDS}


def inspection_summary(session, user) -> dict[str, dict]:
    """A5.2: per enterprise kind, the enterprises in the area, those inspected, and of those, by their
    latest completed inspection, the qualified ones and the ones with class I / II / III problems."""
    latest = (select(Case.enterprise_id, func.max(Case.id).label("case_id"))
              .where(access.case_scope(user), Case.process_key == "inspection", Case.status == CASE_COMPLETED,
                     Case.enterprise_id.isnot(None))
              .group_by(Case.enterprise_id).subquery())
    inspection = Case.__table__.alias("inspection")
    data = inspection.c.data
    columns = [Enterprise.kind, func.count(Enterprise.id), func.count(latest.c.case_id),
               _count_if(data["qualified"].as_boolean().is_(True))]
    columns += [_count_if(data[("problem_counts", cls)].as_integer() > 0) for cls in PROBLEM_CLASSES]
    stmt = (select(*columns)
            .outerjoin(latest, latest.c.enterprise_id == Enterprise.id)
            .outerjoin(inspection, inspection.c.id == latest.c.case_id)
            .where(access.enterprise_scope(user)).group_by(Enterprise.kind))
    rows = {row[0]: row[1:] for row in session.execute(stmt)}
    out = {}
    for kind in ENTERPRISE_KINDS:
        total, inspected, qualified, *classes = rows.get(kind, (0, 0, 0, 0, 0, 0))
        out[kind] = {"enterprises": int(total), "inspected": int(inspected), "qualified": int(qualified),
                     **{f"class_{c}": int(n) for c, n in zip(PROBLEM_CLASSES, classes, strict=True)}}
    out["total"] = {key: sum(v[key] for v in out.values()) for key in next(iter(out.values()))}
    return out


def rectification_on_time(session, user) -> dict:
    """Closed rectification orders, and those the enterprise rectified in time: accepted without the
    deadline ever passing (the model counts each passing in ``overdue_count``)."""
    data = Case.data
    on_time = and_(data["decision"].as_string() == "accept",
                   func.coalesce(data["overdue_count"].as_integer(), 0) == 0)
    closed, in_time = session.execute(
        select(func.count(Case.id), _count_if(on_time))
        .where(access.case_scope(user), Case.process_key == "rectification", Case.status == CASE_COMPLETED)).one()
    closed, in_time = int(closed), int(in_time)
    return {"closed": closed, "on_time": in_time, "rate": round(in_time / closed, 4) if closed else None}


def penalties_by_type(session, user) -> list[dict]:
    """Penalty cases with a proposed decision, by penalty type: how many, the amounts proposed, how
    many are closed and what was paid."""
    data = Case.data
    kind = data["penalty_type"].as_string()
    stmt = (select(kind, func.count(Case.id), func.coalesce(func.sum(data["amount"].as_float()), 0),
                   _count_if(Case.status == CASE_COMPLETED),
                   func.coalesce(func.sum(data["paid_amount"].as_float()), 0))
            .where(access.case_scope(user), Case.process_key == "penalty", kind.isnot(None))
            .group_by(kind).order_by(kind))
    return [{"penalty_type": t, "count": int(n), "amount": round(float(a), 2), "completed": int(c),
             "paid": round(float(p), 2)} for t, n, a, c, p in session.execute(stmt)]


def by_county(session, user) -> list[dict]:
    """Per county of the caller's area (GB/T 2260 code and name, for the county map): the open cases
    and the open warnings in it. A county user's area is his county; the city's, all six."""
    counties = session.execute(select(Region.id, Region.code, Region.name).where(Region.level == "county")
                               .order_by(Region.code)).all()
    cases = dict(session.execute(select(Case.county_id, func.count(Case.id))
                                 .where(access.case_scope(user), Case.status.in_(CASE_OPEN_STATUSES))
                                 .group_by(Case.county_id)).all())
    warnings = dict(session.execute(select(EarlyWarning.county_id, func.count(EarlyWarning.id))
                                    .where(access.warning_scope(user), EarlyWarning.status == WARNING_OPEN)
                                    .group_by(EarlyWarning.county_id)).all())
    city = user.role == ROLE_CITY_ADMIN
    return [{"code": code, "name": name, "open_cases": int(cases.get(cid, 0)), "warnings": int(warnings.get(cid, 0))}
            for cid, code, name in counties if city or cid == user.county_id]


def dashboard(session, user, now: datetime) -> dict:
    return {"open_cases": open_cases(session, user, now), "warnings": warnings_by_level(session, user),
            "enterprises": enterprises_by_kind(session, user), "inspections": inspection_summary(session, user),
            "rectification": rectification_on_time(session, user), "penalties": penalties_by_type(session, user),
            "counties": by_county(session, user)}
