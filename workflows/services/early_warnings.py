"""Monitoring readings against threshold rules, and the early warnings (A7) they raise. No Flask.

A warning is an episode: the first reading beyond a threshold opens it, later readings beyond a
threshold keep it open (last seen, peak, reading count; a worse rule raises its level), the first
reading back within every threshold closes it. Per watched thing (enterprise, category, key) at
most one warning is open; the database enforces that with a partial unique index.

Readings may arrive late or out of order, within a batch and across batches. Within a batch they
are taken in time order. Across batches, a reading no newer than what a warning already saw
(``last_seen_at`` of the open warning, ``ended_at`` of the last closed one) can add to that
warning's peak and count but never opens or closes anything.

Every warning opens one "warning" case (``case_id``) in the same transaction, so the case and the
warning are committed together and the enterprise's task is in the queues at once. The case runs the
response ladder of the warning's level (the decision table ``warning_response``); a warning that grows
worse during its episode opens a case of the new level (``case_level``), and ``case_id`` names it.
"""
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from models import (
    WARNING_CLOSED,
    WARNING_OPEN,
    EarlyWarning,
    Enterprise,
    Reading,
    ThresholdRule,
)
from models.types import as_utc

STATION = "station"
WARNING_PROCESS = "warning"
KEY_CHUNK = 500  # keys per IN (...) list, well under SQLite's bound-parameter limit
QUANTITY_NAMES = {"temperature": "温度", "pressure": "压力", "level": "液位", "gas_concentration": "可燃气体浓度",
                  "flow": "流量", "leak": "泄漏"}
UNITS = {"temperature": "°C", "pressure": "MPa", "level": "%", "gas_concentration": "%LEL", "flow": "m³/h",
         "leak": ""}
LEVEL_NAMES = {1: "一级", 2: "二级", 3: "三级"}
CATEGORY_NAMES = {"station": "场站", "cylinder": "气瓶", "vehicle": "配送车辆", "user": "用户",
                  "timeliness": "数据上报"}


class ReadingIn(NamedTuple):
    """A reading that passed validation (the API's job); ``at`` is timezone-aware. A named tuple:
    a batch makes thousands, and a tuple is the cheapest immutable record to build."""

    site: str
    sensor: str
    quantity: str
    value: float
    at: datetime
    site_kind: str | None = None


def series_key(site: str, sensor: str, quantity: str) -> str:
    return f"{site}|{sensor}|{quantity}"


def lock_enterprise(s: Session, enterprise_id: int) -> None:
    """Serialize warning changes of one enterprise: batches of the same enterprise take turns, so two
    of them never both open a warning for one sensor. A row lock on PostgreSQL; on SQLite the batch's
    first write already holds the database's write lock."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(select(Enterprise.id).where(Enterprise.id == enterprise_id).with_for_update())


def store_readings(s: Session, enterprise_id: int, readings: list[ReadingIn], now: datetime) -> int:
    """Insert a batch in the caller's transaction: COPY on PostgreSQL, one multi-row INSERT elsewhere."""
    if not readings:
        return 0
    if s.get_bind().dialect.name == "postgresql":
        raw = s.connection().connection.driver_connection  # psycopg 3, inside the session's transaction
        with raw.cursor() as cur, cur.copy(
                "COPY readings (enterprise_id, site, site_kind, sensor, quantity, value, at, received_at) "
                "FROM STDIN") as copy:
            for r in readings:
                copy.write_row((enterprise_id, r.site, r.site_kind, r.sensor, r.quantity, r.value, r.at, now))
        return len(readings)
    s.execute(insert(Reading), [
        {"enterprise_id": enterprise_id, "site": r.site, "site_kind": r.site_kind, "sensor": r.sensor,
         "quantity": r.quantity, "value": r.value, "at": r.at, "received_at": now} for r in readings])
    return len(readings)


def active_rules(s: Session) -> dict[str, list[ThresholdRule]]:
    """Active rules per quantity, most severe first: the first that matches decides."""
    by_quantity: dict[str, list[ThresholdRule]] = defaultdict(list)
    for rule in s.scalars(select(ThresholdRule).where(ThresholdRule.active.is_(True))
                          .order_by(ThresholdRule.level, ThresholdRule.id)):
        by_quantity[rule.quantity].append(rule)
    return by_quantity


def rule_matcher(rules: dict[str, list[ThresholdRule]]):
    """The most severe active rule a reading breaks, or None (``ThresholdRule.matches``, first match
    wins). The rules' fields are read once per batch into plain tuples, not from the ORM objects once
    per reading: that attribute access was a fifth of evaluating a batch."""
    plain = {quantity: [(r.site_kind, r.comparison == ">", r.threshold, r) for r in found]
             for quantity, found in rules.items()}

    def match(reading: ReadingIn) -> ThresholdRule | None:
        value, site_kind = reading.value, reading.site_kind
        for kind, above, threshold, rule in plain.get(reading.quantity, ()):
            if (kind is None or kind == site_kind) and (value > threshold if above else value < threshold):
                return rule
        return None
    return match


def evaluate(s: Session, enterprise_id: int, readings: Iterable[ReadingIn], now: datetime,
             engine=None) -> list[EarlyWarning]:
    """Check a batch against the active rules; open, update and close station warnings. Returns the
    warnings this batch opened. The caller holds the enterprise lock and commits."""
    match = rule_matcher(active_rules(s))
    # Each reading is matched against the rules once; (reading, rule or None) per watched thing.
    series: dict[str, list[tuple[ReadingIn, ThresholdRule | None]]] = defaultdict(list)
    for r in readings:
        series[series_key(r.site, r.sensor, r.quantity)].append((r, match(r)))
    if not series:
        return []
    open_now, closed_until = _known(s, enterprise_id, series)
    enterprise = s.get(Enterprise, enterprise_id)
    opened, touched = [], {}
    for key, items in series.items():
        items.sort(key=lambda pair: pair[0].at)
        warning = open_now.get(key)
        floor = closed_until.get(key)
        for r, rule in items:
            if warning is not None:
                if r.at <= warning.last_seen_at:
                    # Late news about the episode: may deepen it, but its end is decided by newer readings.
                    if rule is not None and r.at >= warning.started_at:
                        _absorb(warning, r, rule, move_last_seen=False)
                        touched[id(warning)] = (warning, r.site_kind)
                    continue
                if rule is not None:
                    _absorb(warning, r, rule, move_last_seen=True)
                    touched[id(warning)] = (warning, r.site_kind)
                else:
                    warning.status, warning.ended_at = WARNING_CLOSED, r.at
                    floor, warning = r.at, None
                continue
            if rule is None or (floor is not None and r.at <= floor):
                continue  # normal, or a late reading from a time an episode has already been judged
            warning = EarlyWarning(
                enterprise_id=enterprise_id, county_id=enterprise.county_id, category=STATION, key=key,
                site=r.site, sensor=r.sensor, quantity=r.quantity, rule_id=rule.id, level=rule.level,
                description=_describe(r, rule), started_at=r.at, last_seen_at=r.at, status=WARNING_OPEN,
                peak_value=r.value, reading_count=1)
            s.add(warning)
            opened.append(warning)
            touched[id(warning)] = (warning, r.site_kind)
    s.flush()
    # After the loop: an episode gets its case (at its worst level) even if it also ended in this batch.
    for warning, site_kind in touched.values():
        _open_case(s, warning, enterprise, now, engine, site_kind)
    s.flush()
    return opened


def _known(s: Session, enterprise_id: int, series: dict[str, list]):
    """The open warning of each key, and when the last closed one of each key ended.

    Open station warnings of one enterprise are few (what is abnormal right now): they are read in one
    statement on the partial unique index, not looked up key by key. When the last episode ended is
    needed only for a key with no open warning and a reading beyond a threshold (only those may open
    one), so a normal batch asks nothing more; `python -m bench readings` measured the IN lists of every
    key of a batch as the largest cost of ingest.
    """
    base = (EarlyWarning.enterprise_id == enterprise_id, EarlyWarning.category == STATION)
    open_now = {w.key: w for w in s.scalars(select(EarlyWarning).where(*base, EarlyWarning.status == WARNING_OPEN))
                if w.key in series}
    suspects = [k for k, items in series.items() if k not in open_now and any(rule for _r, rule in items)]
    closed_until = {}
    for i in range(0, len(suspects), KEY_CHUNK):
        rows = s.execute(select(EarlyWarning.key, func.max(EarlyWarning.ended_at))
                         .where(*base, EarlyWarning.status == WARNING_CLOSED,
                                EarlyWarning.key.in_(suspects[i:i + KEY_CHUNK]))
                         .group_by(EarlyWarning.key))
        closed_until.update({k: _aware(v) for k, v in rows if v is not None})
    return open_now, closed_until


def _aware(value: datetime) -> datetime:
    # func.max() bypasses the column type, so SQLite hands back naive (UTC) datetimes or even text.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return as_utc(value)


def _absorb(warning: EarlyWarning, r: ReadingIn, rule: ThresholdRule, move_last_seen: bool) -> None:
    warning.reading_count = (warning.reading_count or 0) + 1
    if move_last_seen:
        warning.last_seen_at = r.at
    below = rule.comparison == "<"
    if warning.peak_value is None or (r.value < warning.peak_value if below else r.value > warning.peak_value):
        warning.peak_value = r.value
    if rule.level < warning.level:  # escalate, never de-escalate within an episode
        warning.level, warning.rule_id, warning.description = rule.level, rule.id, _describe(r, rule)


def _describe(r: ReadingIn, rule: ThresholdRule) -> str:
    name, unit = QUANTITY_NAMES.get(r.quantity, r.quantity), UNITS.get(r.quantity, "")
    side = "高于" if rule.comparison == ">" else "低于"
    return (f"{LEVEL_NAMES.get(rule.level, rule.level)}预警：站点 {r.site} 传感器 {r.sensor} {name} "
            f"{r.value:g}{unit}，{side}阈值 {rule.threshold:g}{unit}")[:512]


def _open_case(s: Session, warning: EarlyWarning, enterprise: Enterprise, now: datetime, engine,
               site_kind: str | None = None) -> None:
    """A case for the warning's level, unless it has one of that level (or a worse one) already."""
    if engine is None or (warning.case_id is not None and (warning.case_level or 1) <= warning.level):
        return
    data = {
        "warning_id": warning.id, "category": warning.category, "level": warning.level,
        "site": warning.site, "site_kind": site_kind, "sensor": warning.sensor, "quantity": warning.quantity,
        "peak_value": warning.peak_value, "started_at": warning.started_at.isoformat(),
        "description": warning.description,
        "address": " ".join(p for p in (enterprise.address, warning.site) if p),
        # What an accident opened from this warning is about (accident_type of the accident report).
        "accident_type": "leak" if warning.quantity in ("gas_concentration", "leak") else "other",
    }
    where = warning.site or CATEGORY_NAMES.get(warning.category, warning.category)
    title = f"{LEVEL_NAMES.get(warning.level, warning.level)}预警 · {enterprise.name} · {where}"
    if warning.quantity:
        title += f" {QUANTITY_NAMES.get(warning.quantity, warning.quantity)}"
    warning.case_id = engine.open_system_case(s, WARNING_PROCESS, data, enterprise.id, title, now=now)
    warning.case_level = warning.level


def raise_warning(s: Session, enterprise_id: int, category: str, level: int, description: str, key: str,
                  now: datetime, engine=None) -> EarlyWarning:
    """A warning from another check (cylinders held too long, a vehicle off its route, a user not
    inspected): opens one for ``key`` or refreshes the open one (escalating its level if worse).
    It opens a warning case at its level (again when its level grows worse). The caller commits."""
    key = key[:200]  # the column's width: a longer key must still find the warning it opened
    lock_enterprise(s, enterprise_id)
    warning = s.scalar(select(EarlyWarning).where(
        EarlyWarning.enterprise_id == enterprise_id, EarlyWarning.category == category,
        EarlyWarning.key == key, EarlyWarning.status == WARNING_OPEN))
    enterprise = s.get(Enterprise, enterprise_id)
    if warning is None:
        warning = EarlyWarning(enterprise_id=enterprise_id, county_id=enterprise.county_id, category=category,
                               key=key, level=level, description=description[:512], started_at=now,
                               last_seen_at=now, status=WARNING_OPEN, reading_count=1)
        s.add(warning)
    else:
        warning.last_seen_at = max(warning.last_seen_at, now)
        warning.reading_count = (warning.reading_count or 0) + 1
        if level < warning.level:
            warning.level, warning.description = level, description[:512]
    s.flush()
    _open_case(s, warning, enterprise, now, engine)
    return warning


def clear_warning(s: Session, enterprise_id: int, category: str, key: str, now: datetime) -> EarlyWarning | None:
    """The condition behind ``key`` is over: close its open warning, if any. The caller commits."""
    key = key[:200]
    lock_enterprise(s, enterprise_id)
    warning = s.scalar(select(EarlyWarning).where(
        EarlyWarning.enterprise_id == enterprise_id, EarlyWarning.category == category,
        EarlyWarning.key == key, EarlyWarning.status == WARNING_OPEN))
    if warning is not None:
        warning.status, warning.ended_at = WARNING_CLOSED, max(now, warning.last_seen_at)
        s.flush()
    return warning
