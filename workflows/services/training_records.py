"""Enterprise services (A4.1, A4.2): training sessions and publicity activities an enterprise records for
itself, and the training statistics the authority reads.

An enterprise's accounts write for their own enterprise only (the enterprise is taken from the account,
never from the request); the authority reads within its area, as it reads cases: the city everything,
a county its county. A session's counts are computed from its roster, so the statistics add up to the
people listed.
"""
from datetime import date

from sqlalchemy import extract, func, select

from models import (
    TRAINEE_QUALIFIED,
    Enterprise,
    PublicityActivity,
    Region,
    Trainee,
    TrainingSession,
)
from workflows.access import area_of, is_enterprise_user
from workflows.errors import Forbidden, NotFound

GROUPS = ("enterprise", "county", "month")


def scope(user, model):
    """Rows of ``model`` (sessions or activities) ``user`` may read: the same rule as cases."""
    return area_of(user).clause(model.enterprise_id, model.county_id)


def reporting_enterprise(s, user) -> Enterprise:
    if not is_enterprise_user(user):
        raise Forbidden("training and publicity are recorded by the enterprise's own accounts")
    return s.get(Enterprise, user.enterprise_id)


def record_session(s, user, fields: dict, trainees: list[dict]) -> TrainingSession:
    """A session with its roster; the caller commits."""
    enterprise = reporting_enterprise(s, user)
    qualified = sum(1 for t in trainees if t["result"] == TRAINEE_QUALIFIED)
    session = TrainingSession(enterprise_id=enterprise.id, county_id=enterprise.county_id, created_by_id=user.id,
                              trainee_count=len(trainees), qualified_count=qualified, **fields)
    session.trainees = [Trainee(**t) for t in trainees]
    s.add(session)
    s.flush()
    return session


def record_publicity(s, user, fields: dict) -> PublicityActivity:
    enterprise = reporting_enterprise(s, user)
    activity = PublicityActivity(enterprise_id=enterprise.id, county_id=enterprise.county_id,
                                 created_by_id=user.id, **fields)
    s.add(activity)
    s.flush()
    return activity


def visible(s, user, model, row_id: int):
    row = s.scalar(select(model).where(model.id == row_id, scope(user, model)))
    if row is None:
        raise NotFound("no such record")
    return row


def sessions_stmt(user):
    return (select(TrainingSession).where(scope(user, TrainingSession))
            .order_by(TrainingSession.held_on.desc(), TrainingSession.id.desc()))


def publicity_stmt(user):
    return (select(PublicityActivity).where(scope(user, PublicityActivity))
            .order_by(PublicityActivity.held_on.desc(), PublicityActivity.id.desc()))


def statistics(s, user, group: str, date_from: date | None = None, date_to: date | None = None) -> list[dict]:
    """Sessions, trainees, qualified and the pass rate, by enterprise, county or month, in ``user``'s area."""
    if group not in GROUPS:
        raise ValueError(group)
    where = [scope(user, TrainingSession)]
    if date_from:
        where.append(TrainingSession.held_on >= date_from)
    if date_to:
        where.append(TrainingSession.held_on <= date_to)
    totals = (func.count(TrainingSession.id), func.coalesce(func.sum(TrainingSession.trainee_count), 0),
              func.coalesce(func.sum(TrainingSession.qualified_count), 0))
    if group == "enterprise":
        keys = (Enterprise.id, Enterprise.name)
        stmt = select(*keys, *totals).join(Enterprise, Enterprise.id == TrainingSession.enterprise_id)
        order = [Enterprise.name]
    elif group == "county":
        keys = (Region.id, Region.name)
        stmt = select(*keys, *totals).join(Region, Region.id == TrainingSession.county_id)
        order = [Region.code]
    else:
        year, month = extract("year", TrainingSession.held_on), extract("month", TrainingSession.held_on)
        keys = (year, month)
        stmt = select(*keys, *totals)
        order = [year.desc(), month.desc()]
    rows = s.execute(stmt.where(*where).group_by(*keys).order_by(*order)).all()
    out = []
    for a, b, sessions, trainees, qualified in rows:
        label = f"{int(a):04d}-{int(b):02d}" if group == "month" else b
        out.append({"key": label if group == "month" else a, "label": label, "sessions": sessions,
                    "trainees": int(trainees), "qualified": int(qualified),
                    "pass_rate": round(100.0 * int(qualified) / int(trainees), 1) if trainees else None})
    return out


def totals(rows: list[dict]) -> dict:
    trainees = sum(r["trainees"] for r in rows)
    qualified = sum(r["qualified"] for r in rows)
    return {"sessions": sum(r["sessions"] for r in rows), "trainees": trainees, "qualified": qualified,
            "pass_rate": round(100.0 * qualified / trainees, 1) if trainees else None}


def staff_records(s, enterprise_id: int, limit: int = 100) -> list[tuple[Trainee, TrainingSession]]:
    """The enterprise's people and the sessions they attended, latest first."""
    return s.execute(select(Trainee, TrainingSession).join(TrainingSession, TrainingSession.id == Trainee.session_id)
                     .where(TrainingSession.enterprise_id == enterprise_id)
                     .order_by(TrainingSession.held_on.desc(), Trainee.session_id.desc(), Trainee.id)
                     .limit(limit)).all()
