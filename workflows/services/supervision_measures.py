"""Supervision measures (issue 15 item 4) per enterprise, county and month, from the data already in the platform:

- household inspection coverage: official ``gas_user`` records inspected (an official ``household_inspection``
  with a result other than "nobody at home") in the inspection cycle ending with the month ÷ the users registered
  by the month's end, with the users never inspected in the cycle;
- patrol completion: official ``patrol_record`` records of the month ÷ the plan;
- on-time rectification: rectification orders closed in the month, accepted without the deadline passing
  (as ``dashboard_figures.rectification_on_time`` counts them) ÷ closed;
- data timeliness: reports received by their limit ÷ expected, per the update cycle each data kind declares
  (``kinds``, handed in by the caller: ``forms.data_kinds.PERIODIC``) and the limit the decision table
  ``data_reporting_limits`` gives the cycle (``data_timeliness``);
- warning disposal time: median and mean hours from a warning's start to its close, of those closed in the month.

The plan (patrols a month, the household inspection cycle) is per enterprise kind in the DMN table
``supervision_plan`` the city admin changes. Records are read per enterprise; the month is a Shanghai month.
"""
import statistics
from datetime import date, datetime

from sqlalchemy import and_, case, func, select

from models import (
    CASE_COMPLETED,
    REC_OFFICIAL,
    Case,
    DataRecord,
    EarlyWarning,
    Enterprise,
    Region,
)
from models.monitoring import WARNING_CLOSED
from workflows import access
from workflows.errors import InvalidInput

from . import data_timeliness
from .decision_tables import decide
from .shanghai_time import SHANGHAI, add_months, instant


def plan_for(session, enterprise_kind: str) -> dict:
    found = decide(session, "supervision_plan", {"enterprise_kind": enterprise_kind})
    out = found.rules[0]["outputs"] if found.rules else {}
    return {"patrols_per_month": int(out.get("patrols_per_month") or 0),
            "household_cycle_months": int(out.get("household_cycle_months") or 0), "version": found.version}


# ---- time --------------------------------------------------------------------------------------------
def parse_month(text: str | None, today: date) -> date:
    """'YYYY-MM' → its first day; empty → this month. A bad month is InvalidInput naming ``month``."""
    if not text:
        return today.replace(day=1)
    try:
        if len(text) != 7 or text[4] != "-":
            raise ValueError
        first = date(int(text[:4]), int(text[5:]), 1)
    except ValueError:
        raise InvalidInput("month: write it as YYYY-MM", {"month": ["Write the month as YYYY-MM."]}) from None
    if not 2000 <= first.year <= 2100:
        raise InvalidInput("month: out of range", {"month": ["Between 2000-01 and 2100-12."]})
    return first


def _when(value) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        found = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return found if found.tzinfo else found.replace(tzinfo=SHANGHAI)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


# ---- the measures ------------------------------------------------------------------------------------
def _records(session, kind: str, enterprise_ids: list[int], since: datetime | None = None):
    """The official records of ``kind``; with ``since``, only those received from then on (a record of
    something done in a period is received after the period began)."""
    if not enterprise_ids:
        return []
    stmt = (select(DataRecord.enterprise_id, DataRecord.external_id, DataRecord.data, DataRecord.created_at)
            .where(DataRecord.kind == kind, DataRecord.enterprise_id.in_(enterprise_ids),
                   DataRecord.status == REC_OFFICIAL))
    if since is not None:
        stmt = stmt.where(DataRecord.created_at >= since)
    return session.execute(stmt).all()


def _coverage(session, enterprises, plans, month: date, now: datetime) -> dict[int, dict]:
    ids = [e.id for e in enterprises]
    end = min(instant(add_months(month, 1)), now)
    users: dict[int, dict[str, str]] = {i: {} for i in ids}
    for ent, ref, data, created in _records(session, "gas_user", ids):
        if created is not None and created < end:
            users[ent][ref] = (data or {}).get("name") or ref
    inspected: dict[int, set] = {i: set() for i in ids}
    starts = {e.id: instant(add_months(month, 1 - plans[e.kind]["household_cycle_months"])) for e in enterprises}
    for ent, _ref, data, _created in _records(session, "household_inspection", ids, min(starts.values(), default=None)):
        data = data or {}
        at = _when(data.get("inspected_at"))
        if at is not None and starts[ent] <= at < end and data.get("result") != "not_home":
            inspected[ent].add(data.get("user_ref"))
    # Users ever inspected (before the cycle too), to tell "not in this cycle" from "never".
    ref, result = DataRecord.data["user_ref"].as_string(), DataRecord.data["result"].as_string()
    ever: dict[int, set] = {i: set() for i in ids}
    if ids:
        for ent, user_ref in session.execute(
                select(DataRecord.enterprise_id, ref).distinct()
                .where(DataRecord.kind == "household_inspection", DataRecord.enterprise_id.in_(ids),
                       DataRecord.status == REC_OFFICIAL, result != "not_home", DataRecord.created_at < end)):
            ever[ent].add(user_ref)
    out = {}
    for e in enterprises:
        if not plans[e.kind]["household_cycle_months"]:
            out[e.id] = {"registered": len(users[e.id]), "inspected": 0, "rate": None, "never_inspected": 0,
                         "not_inspected": []}
            continue
        done = [ref for ref in users[e.id] if ref in inspected[e.id]]
        never = sorted((ref, name) for ref, name in users[e.id].items() if ref not in inspected[e.id])
        out[e.id] = {"registered": len(users[e.id]), "inspected": len(done),
                     "rate": _rate(len(done), len(users[e.id])),
                     "cycle_months": plans[e.kind]["household_cycle_months"],
                     "never_inspected": sum(1 for r, _n in never if r not in ever[e.id]),
                     "not_inspected": [{"user_ref": r, "name": n, "never": r not in ever[e.id]} for r, n in never]}
    return out


def _patrols(session, enterprises, plans, month: date) -> dict[int, dict]:
    ids = [e.id for e in enterprises]
    start, end = instant(month), instant(add_months(month, 1))
    done = {i: 0 for i in ids}
    for ent, _ref, data, _created in _records(session, "patrol_record", ids, start):
        at = _when((data or {}).get("patrolled_at"))
        if at is not None and start <= at < end:
            done[ent] += 1
    out = {}
    for e in enterprises:
        planned = plans[e.kind]["patrols_per_month"]
        out[e.id] = {"done": done[e.id], "planned": planned,
                     "rate": min(1.0, round(done[e.id] / planned, 4)) if planned else None}
    return out


def _rectification(session, ids: list[int], month: date) -> dict[int, dict]:
    data = Case.data
    on_time = and_(data["decision"].as_string() == "accept", func.coalesce(data["overdue_count"].as_integer(), 0) == 0)
    rows = session.execute(
        select(Case.enterprise_id, func.count(Case.id), func.coalesce(func.sum(case((on_time, 1), else_=0)), 0))
        .where(Case.process_key == "rectification", Case.status == CASE_COMPLETED, Case.enterprise_id.in_(ids),
               Case.completed_at >= instant(month), Case.completed_at < instant(add_months(month, 1)))
        .group_by(Case.enterprise_id)).all() if ids else []
    found = {ent: (int(n), int(k)) for ent, n, k in rows}
    return {i: {"closed": found.get(i, (0, 0))[0], "on_time": found.get(i, (0, 0))[1],
                "rate": _rate(found.get(i, (0, 0))[1], found.get(i, (0, 0))[0])} for i in ids}


def _timeliness(session, enterprises, kinds, month: date, now: datetime) -> dict[int, dict]:
    ids = [e.id for e in enterprises]
    out = {i: {"expected": 0, "on_time": 0, "late": 0, "missing": 0, "by_kind": {}} for i in ids}
    limits = data_timeliness.limits(session) if kinds else {}
    for kind in kinds:
        periods = data_timeliness.periods_in_month(kind.cycle, limits[kind.cycle], month, now)
        if not periods:
            continue
        since = instant(data_timeliness.bounds(kind.cycle, periods[0][0])[0])
        first_seen = data_timeliness.first_received(session, kind, ids, since)
        for e in enterprises:
            if e.kind not in kind.enterprise_kinds:
                continue
            counts = {"expected": len(periods), "on_time": 0, "late": 0, "missing": 0}
            for period, due in periods:
                seen = first_seen.get((e.id, period))
                counts["missing" if seen is None else "on_time" if seen <= due else "late"] += 1
            out[e.id]["by_kind"][kind.key] = counts
            for k in ("expected", "on_time", "late", "missing"):
                out[e.id][k] += counts[k]
    for v in out.values():
        v["rate"] = _rate(v["on_time"], v["expected"])
    return out


def _warnings(session, ids: list[int], month: date) -> dict[int, dict]:
    hours: dict[int, list[float]] = {i: [] for i in ids}
    rows = session.execute(select(EarlyWarning.enterprise_id, EarlyWarning.started_at, EarlyWarning.ended_at)
                           .where(EarlyWarning.enterprise_id.in_(ids), EarlyWarning.status == WARNING_CLOSED,
                                  EarlyWarning.ended_at >= instant(month),
                                  EarlyWarning.ended_at < instant(add_months(month, 1)))).all() if ids else []
    for ent, started, ended in rows:
        hours[ent].append(max(0.0, (ended - started).total_seconds() / 3600))
    return {i: _hours(h) for i, h in hours.items()}


def _hours(h: list[float]) -> dict:
    return {"closed": len(h), "median_hours": round(statistics.median(h), 2) if h else None,
            "mean_hours": round(statistics.fmean(h), 2) if h else None, "_hours": h}


def enterprises_in(session, user, county_id: int | None = None, enterprise_id: int | None = None) -> list:
    stmt = select(Enterprise).where(access.enterprise_scope(user), Enterprise.active.is_(True))
    if county_id:
        stmt = stmt.where(Enterprise.county_id == county_id)
    if enterprise_id:
        stmt = stmt.where(Enterprise.id == enterprise_id)
    return session.scalars(stmt.order_by(Enterprise.county_id, Enterprise.id)).all()


def per_enterprise(session, enterprises, kinds, month: date, now: datetime) -> list[dict]:
    plans = {kind: plan_for(session, kind) for kind in {e.kind for e in enterprises}}
    ids = [e.id for e in enterprises]
    coverage = _coverage(session, enterprises, plans, month, now)
    patrols = _patrols(session, enterprises, plans, month)
    rect = _rectification(session, ids, month)
    timely = _timeliness(session, enterprises, kinds, month, now)
    warn = _warnings(session, ids, month)
    return [{"enterprise": {"id": e.id, "name": e.name, "kind": e.kind, "county_id": e.county_id},
             "household_coverage": coverage[e.id], "patrol": patrols[e.id], "rectification": rect[e.id],
             "timeliness": timely[e.id], "warning_disposal": warn[e.id]} for e in enterprises]


def _sum(rows: list[dict]) -> dict:
    cov = {k: sum(r["household_coverage"][k] for r in rows) for k in ("registered", "inspected", "never_inspected")}
    pat = {"done": sum(r["patrol"]["done"] for r in rows if r["patrol"]["planned"]),
           "planned": sum(r["patrol"]["planned"] for r in rows)}
    rect = {k: sum(r["rectification"][k] for r in rows) for k in ("closed", "on_time")}
    tim = {k: sum(r["timeliness"][k] for r in rows) for k in ("expected", "on_time", "late", "missing")}
    hours = [h for r in rows for h in r["warning_disposal"]["_hours"]]
    return {"enterprises": len(rows),
            "household_coverage": {**cov, "rate": _rate(cov["inspected"], cov["registered"])},
            "patrol": {**pat, "rate": min(1.0, _rate(pat["done"], pat["planned"])) if pat["planned"] else None},
            "rectification": {**rect, "rate": _rate(rect["on_time"], rect["closed"])},
            "timeliness": {**tim, "rate": _rate(tim["on_time"], tim["expected"])},
            "warning_disposal": {k: v for k, v in _hours(hours).items() if k != "_hours"}}


def indicators(session, user, kinds, month: date, now: datetime, county_id: int | None = None,
               enterprise_id: int | None = None) -> dict:
    """The measures of the month over the caller's area (narrowed to a county or an enterprise): per enterprise,
    per county and for the whole area."""
    enterprises = enterprises_in(session, user, county_id, enterprise_id)
    rows = per_enterprise(session, enterprises, kinds, month, now)
    names = dict(session.execute(select(Region.id, Region.name)).all())
    counties = []
    for cid in sorted({r["enterprise"]["county_id"] for r in rows}):
        counties.append({"county": {"id": cid, "name": names.get(cid, "")},
                         **_sum([r for r in rows if r["enterprise"]["county_id"] == cid])})
    total = _sum(rows)
    for r in rows:
        r["enterprise"]["county"] = names.get(r["enterprise"]["county_id"], "")
        r["warning_disposal"].pop("_hours")
    return {"month": month.strftime("%Y-%m"), "area": total, "counties": counties, "enterprises": rows}
