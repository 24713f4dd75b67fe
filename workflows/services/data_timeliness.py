"""Data timeliness (§7.1.2, issue 15 item 3): the reports of the periodic data kinds, per enterprise and period,
checked against their limit. No Flask.

Each data kind declares its update cycle and the field naming its period (``forms.data_kinds.DataKind``; the
caller hands the kinds in, workflows do not import forms). The limit of a cycle is in the decision table
``data_reporting_limits`` the city admin changes: so many days and hours after the period's end.

The daily round (``check``) looks at the latest periods whose limit has passed: a period nothing arrived for
is *missing* — recorded on a ``ReportPeriod``, one level-3 warning (with its warning case) and a notice to the
enterprise; a period whose first report came after the limit is *late*. A report arriving (``received``,
called as a batch is stored) turns a missing period late and closes its warning. Both are idempotent: a
period has one row and at most one warning, however often they run.
"""
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from models import (
    PERIOD_LATE,
    PERIOD_MISSING,
    REC_REJECTED,
    DataBatch,
    DataRecord,
    Enterprise,
    ReportPeriod,
)
from workflows import notify

from .decision_tables import decide
from .early_warnings import clear_warning, lock_enterprise, raise_warning
from .shanghai_time import SHANGHAI, add_months, instant

CATEGORY = "timeliness"
LEVEL = 3  # the mildest rung of the ladder: the enterprise acknowledges, the county sees it in its weekly digest
MONTHS = {"monthly": 1, "quarterly": 3, "yearly": 12}
# How many of the latest periods past their limit each round looks at: a round or two missed (a worker
# down over a weekend) is caught up; older gaps are the measures' business, not fresh warnings.
LOOKBACK = {"daily": 7, "monthly": 2, "quarterly": 1, "yearly": 1}
SHOWN_DAYS = 92  # the enterprise home lists the late and missing periods of about the last quarter


# ---- periods ---------------------------------------------------------------------------------------------
def limits(session) -> dict[str, tuple[int, int]]:
    """cycle → (days, hours) after the period's end, from the decision table."""
    out = {}
    for cycle in ("daily", *MONTHS):
        found = decide(session, "data_reporting_limits", {"cycle": cycle})
        got = found.rules[0]["outputs"] if found.rules else {}
        out[cycle] = (int(got.get("limit_days") or 0), int(got.get("limit_hours") or 0))
    return out


def period_of(cycle: str, value) -> str | None:
    """The period a record belongs to, from its period field (a date or a month)."""
    text = str(value or "")
    try:
        day = date.fromisoformat(text[:10]) if len(text) >= 10 else date.fromisoformat(text[:7] + "-01")
    except ValueError:
        return None
    return period_starting(cycle, day)


def period_starting(cycle: str, day: date) -> str:
    if cycle == "daily":
        return day.isoformat()
    if cycle == "monthly":
        return day.strftime("%Y-%m")
    if cycle == "quarterly":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return str(day.year)


def bounds(cycle: str, period: str) -> tuple[date, date]:
    """First day of the period and the day after its last."""
    if cycle == "daily":
        start = date.fromisoformat(period)
        return start, start + timedelta(days=1)
    if cycle == "monthly":
        start = date.fromisoformat(period + "-01")
    elif cycle == "quarterly":
        start = date(int(period[:4]), (int(period[-1]) - 1) * 3 + 1, 1)
    else:
        start = date(int(period), 1, 1)
    return start, add_months(start, MONTHS[cycle])


def due_at(cycle: str, period: str, limit: tuple[int, int]) -> datetime:
    days, hours = limit
    return instant(bounds(cycle, period)[1] + timedelta(days=days)) + timedelta(hours=hours)


def _start_of(cycle: str, day: date) -> date:
    return bounds(cycle, period_starting(cycle, day))[0]


def _step(cycle: str, start: date, n: int) -> date:
    return start + timedelta(days=n) if cycle == "daily" else add_months(start, n * MONTHS[cycle])


def periods_due(cycle: str, limit: tuple[int, int], now: datetime, count: int) -> list[tuple[str, datetime]]:
    """The ``count`` latest periods whose limit has passed by ``now``, newest first, with their limits."""
    start = _start_of(cycle, now.astimezone(SHANGHAI).date())
    out = []
    while len(out) < count:
        period = period_starting(cycle, start)
        due = due_at(cycle, period, limit)
        if due <= now:
            out.append((period, due))
        start = _step(cycle, start, -1)
    return out


def periods_in_month(cycle: str, limit: tuple[int, int], month: date, now: datetime) -> list[tuple[str, datetime]]:
    """The periods of ``cycle`` that end in the month (for a daily cycle: its days) and whose limit has
    passed by ``now``: what the data-timeliness measure of the month counts."""
    out, start, end = [], _start_of(cycle, month), add_months(month, 1)
    while start < end:
        period = period_starting(cycle, start)
        last = bounds(cycle, period)[1] - timedelta(days=1)
        due = due_at(cycle, period, limit)
        if month <= last < end and due <= now:
            out.append((period, due))
        start = _step(cycle, start, 1)
    return out


def first_received(session, kind, enterprise_ids: list[int], since: datetime) -> dict[tuple[int, str], datetime]:
    """(enterprise, period) → when its first report not rejected arrived, of batches from ``since`` on."""
    if not enterprise_ids:
        return {}
    seen: dict[tuple[int, str], datetime] = {}
    rows = session.execute(
        select(DataRecord.enterprise_id, DataRecord.data, DataBatch.submitted_at)
        .join(DataBatch, DataBatch.id == DataRecord.batch_id)
        .where(DataRecord.kind == kind.key, DataRecord.enterprise_id.in_(enterprise_ids),
               DataRecord.status != REC_REJECTED, DataBatch.submitted_at >= since)).all()
    for ent, data, at in rows:
        period = period_of(kind.cycle, (data or {}).get(kind.period_field))
        if period is not None and at is not None and ((ent, period) not in seen or at < seen[(ent, period)]):
            seen[(ent, period)] = at
    return seen


# ---- the daily round and the arrival of a report -----------------------------------------------------------
def warning_key(kind_key: str, period: str) -> str:
    return f"{CATEGORY}:{kind_key}:{period}"


def check(s, kinds, names: dict[str, str], now: datetime, engine=None) -> int:
    """Record the missing and late periods of the latest limits passed; warn and tell the enterprise of each
    missing one once. ``names``: kind → its name for people. Returns the periods newly found missing."""
    found = 0
    table = limits(s)
    enterprises = s.scalars(select(Enterprise).where(Enterprise.active.is_(True)).order_by(Enterprise.id)).all()
    for kind in kinds:
        periods = periods_due(kind.cycle, table[kind.cycle], now, LOOKBACK[kind.cycle])
        applies = [e for e in enterprises if e.kind in kind.enterprise_kinds]
        if not periods or not applies:
            continue
        oldest = instant(bounds(kind.cycle, periods[-1][0])[0])
        seen = first_received(s, kind, [e.id for e in applies], oldest)
        known = {(r.enterprise_id, r.period): r for r in s.scalars(select(ReportPeriod).where(
            ReportPeriod.kind == kind.key, ReportPeriod.period.in_([p for p, _d in periods])))}
        for e in applies:
            registered = (e.created_at or now).astimezone(SHANGHAI).date()
            for period, due in periods:
                if bounds(kind.cycle, period)[0] < registered:
                    continue  # not asked of an enterprise for a period before it was on the platform
                row, at = known.get((e.id, period)), seen.get((e.id, period))
                if at is not None and at <= due:
                    continue
                if row is None:
                    lock_enterprise(s, e.id)  # a report stored meanwhile may have recorded the period: read again
                    row = s.scalar(select(ReportPeriod).where(ReportPeriod.enterprise_id == e.id,
                                                              ReportPeriod.kind == kind.key,
                                                              ReportPeriod.period == period))
                if row is None:
                    row = ReportPeriod(enterprise_id=e.id, county_id=e.county_id, kind=kind.key, period=period,
                                       due_at=due, detected_at=now, status=PERIOD_MISSING)
                    s.add(row)
                    if at is None:
                        _warn(s, e, kind, names.get(kind.key, kind.key), row, now, engine)
                        found += 1
                if at is not None and row.status == PERIOD_MISSING:
                    _arrived(s, row, at, now)
    s.flush()
    return found


def _warn(s, enterprise, kind, name: str, row: ReportPeriod, now: datetime, engine) -> None:
    limit = row.due_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    text = f"{name}（{row.period}）未在上报时限 {limit} 前上报"
    warning = raise_warning(s, enterprise.id, CATEGORY, LEVEL, text, warning_key(kind.key, row.period), now, engine)
    row.warning_id = warning.id
    notify.add(s, notify.enterprise_users(s, enterprise.id), notify.MESSAGE, now, case_id=warning.case_id,
               text=f"{text}，请尽快补报。")


def _arrived(s, row: ReportPeriod, at: datetime, now: datetime) -> None:
    row.status, row.received_at = PERIOD_LATE, at
    clear_warning(s, row.enterprise_id, CATEGORY, warning_key(row.kind, row.period), now)


def received(s, kind, enterprise: Enterprise, records: list[dict], now: datetime) -> None:
    """A batch of a periodic kind was stored at ``now``: its periods past their limit are late (a missing one
    found by the round is closed with its warning). The caller commits."""
    if not kind.periodic:
        return
    periods = {p for p in (period_of(kind.cycle, (r or {}).get(kind.period_field)) for r in records) if p}
    if not periods:
        return
    limit = limits(s)[kind.cycle]
    late = {p for p in periods if due_at(kind.cycle, p, limit) < now}
    if not late:
        return
    lock_enterprise(s, enterprise.id)
    rows = {r.period: r for r in s.scalars(select(ReportPeriod).where(
        ReportPeriod.enterprise_id == enterprise.id, ReportPeriod.kind == kind.key, ReportPeriod.period.in_(late)))}
    # This batch is stored already: the first report of each period is this one or an earlier one.
    seen = first_received(s, kind, [enterprise.id], instant(min(bounds(kind.cycle, p)[0] for p in late)))
    for period in sorted(late):
        row, first, due = rows.get(period), seen.get((enterprise.id, period), now), due_at(kind.cycle, period, limit)
        if row is None and first > due:
            s.add(ReportPeriod(enterprise_id=enterprise.id, county_id=enterprise.county_id, kind=kind.key,
                               period=period, due_at=due, received_at=first, detected_at=now, status=PERIOD_LATE))
        elif row is not None and row.status == PERIOD_MISSING:
            _arrived(s, row, first, now)
        # else: a correction of a period reported in time, or one already recorded late
    s.flush()


def outstanding(s, enterprise_id: int, now: datetime) -> list[dict]:
    """The enterprise's missing and late periods of about the last quarter, newest limit first, with how late
    (hours past the limit: to the report, or to now for a missing one)."""
    rows = s.scalars(select(ReportPeriod).where(
        ReportPeriod.enterprise_id == enterprise_id, ReportPeriod.due_at >= now - timedelta(days=SHOWN_DAYS))
        .order_by(ReportPeriod.status.desc(), ReportPeriod.due_at.desc(), ReportPeriod.id.desc())).all()
    return [{"kind": r.kind, "period": r.period, "due_at": r.due_at, "status": r.status,
             "received_at": r.received_at,
             "hours_late": max(0, int(((r.received_at or now) - r.due_at).total_seconds() // 3600))}
            for r in rows]


def open_count(s, enterprise_id: int) -> int:
    return s.scalar(select(func.count(ReportPeriod.id)).where(ReportPeriod.enterprise_id == enterprise_id,
                                                               ReportPeriod.status == PERIOD_MISSING)) or 0
