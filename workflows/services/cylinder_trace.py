"""A cylinder's trace (A1.4 气瓶追溯): where it has been and whether its inspection is valid, assembled from
the enterprise's *official* data records (cylinder, cylinder_movement, cylinder_inspection, delivery_order,
gas_user, station), never from pending or rejected ones.

A cylinder is named by its code within its enterprise: two enterprises may mark cylinders alike, so a code
can name one cylinder per enterprise. Callers pass the scope (a WHERE clause on ``Enterprise``) the
user may see; what is outside it is simply not found.

Personal fields (phone, ID number) are never read here: a user appears by name, type and address only.
"""
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select

from models import REC_OFFICIAL, DataRecord, Enterprise

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_CODE = 64  # as the data kinds declare the code (forms/data_kinds.py)
# Validity of a cylinder's inspection, as the public label page and the trace show it.
VALID, OVERDUE, UNKNOWN, FAILED, SCRAPPED = "valid", "overdue", "unknown", "failed", "scrapped"
# A delivery order lists its cylinders in one text field; these separate them.
_CODE_SEPARATORS = re.compile(r"[\s,，;；、]+")


@dataclass(frozen=True)
class Validity:
    state: str  # one of VALID, OVERDUE, UNKNOWN, FAILED, SCRAPPED
    valid_until: date | None = None
    last_inspected_on: date | None = None


@dataclass(frozen=True)
class Event:
    """One step of the timeline. ``kind``: in, out, return (movements), delivered (an order), inspection."""

    kind: str
    at: datetime | date | None
    station: str | None = None
    user_ref: str | None = None
    user_name: str | None = None
    address: str | None = None
    result: str | None = None
    unit: str | None = None
    next_due_on: date | None = None
    staff: str | None = None
    order_no: str | None = None


@dataclass
class Trace:
    enterprise_id: int
    enterprise_name: str
    code: str
    external_id: str
    details: dict  # manufacturer, spec, weight_kg, volume_l, made_on, status: as reported
    validity: Validity
    events: list[Event] = field(default_factory=list)  # newest first
    users: list[dict] = field(default_factory=list)  # {ref, name, user_type, address}
    places: list[dict] = field(default_factory=list)  # {name, address, lon, lat, kind: station | user}
    location: str | None = None  # where the latest movement left it: in, out or return


def valid_code(code) -> bool:
    """A code this module can look up: text of 1 to MAX_CODE characters, without NUL or lone surrogates,
    whose "/" (SX/LPG/0001) only joins parts: an address cannot carry an empty part."""
    from workflows import text

    return (isinstance(code, str) and 0 < len(code) <= MAX_CODE and not text.has_bad_text(code)
            and "" not in code.split("/"))


def _date(value) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _instant(value) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _official(s, enterprise_id: int, kind: str, *where) -> list[DataRecord]:
    return list(s.scalars(select(DataRecord).where(
        DataRecord.enterprise_id == enterprise_id, DataRecord.kind == kind, DataRecord.status == REC_OFFICIAL,
        *where).order_by(DataRecord.id)))


def cylinders(s, scope, code: str, enterprise_id: int | None = None) -> list[DataRecord]:
    """The official cylinder records of ``code`` whose enterprise is in ``scope``."""
    stmt = select(DataRecord).join(Enterprise, Enterprise.id == DataRecord.enterprise_id).where(
        DataRecord.kind == "cylinder", DataRecord.status == REC_OFFICIAL, scope,
        DataRecord.data["code"].as_string() == code)
    if enterprise_id is not None:
        stmt = stmt.where(DataRecord.enterprise_id == enterprise_id)
    return list(s.scalars(stmt.order_by(DataRecord.enterprise_id, DataRecord.external_id)))


def validity(cylinder: dict, inspections: list[dict], today: date) -> Validity:
    """The newest inspection decides: passed, valid until its next due date (else the cylinder's own
    next inspection date); failed or scrapped, not valid. Without one, the cylinder's reported date."""
    if cylinder.get("status") == "scrapped":
        return Validity(SCRAPPED)
    dated = sorted((i for i in inspections if _date(i.get("inspected_on"))), key=lambda i: _date(i["inspected_on"]))
    last = dated[-1] if dated else None
    inspected = _date(last.get("inspected_on")) if last else None
    if last is not None and last.get("result") == "scrap":
        return Validity(SCRAPPED, None, inspected)
    if last is not None and last.get("result") == "fail":
        return Validity(FAILED, None, inspected)
    due = (_date(last.get("next_due_on")) if last else None) or _date(cylinder.get("next_inspection_on"))
    if due is None:
        return Validity(UNKNOWN, None, inspected)
    return Validity(VALID if due >= today else OVERDUE, due, inspected)


def _codes_of(order: dict) -> set[str]:
    return {c for c in _CODE_SEPARATORS.split(str(order.get("cylinder_codes") or "")) if c}


def _inspections(s, enterprise_id: int, code: str) -> list[DataRecord]:
    return _official(s, enterprise_id, "cylinder_inspection", DataRecord.data["cylinder_code"].as_string() == code)


def trace(s, record: DataRecord, today: date) -> Trace:
    """The whole trace of one official cylinder record."""
    eid, code = record.enterprise_id, record.data.get("code")
    moves = _official(s, eid, "cylinder_movement", DataRecord.data["cylinder_code"].as_string() == code)
    inspections = _inspections(s, eid, code)
    # Orders name their cylinders inside a text field: matched here, after a coarse filter in the database.
    orders = [o for o in _official(s, eid, "delivery_order", DataRecord.data["cylinder_codes"].as_string()
                                   .contains(code, autoescape=True)) if code in _codes_of(o.data)]
    refs = {m.data.get("user_ref") for m in moves + orders if m.data.get("user_ref")}
    users = {u.external_id: u.data for u in _official(s, eid, "gas_user", DataRecord.external_id.in_(refs))} \
        if refs else {}
    stations = {r.data.get("name"): r for r in _official(s, eid, "station")}

    def user_fields(ref):
        u = users.get(ref) or {}
        return {"user_ref": ref, "user_name": u.get("name"), "address": u.get("address")}

    events = []
    for m in moves:
        d = m.data
        events.append(Event(d.get("movement"), _instant(d.get("at")), station=d.get("station") or None,
                            **(user_fields(d.get("user_ref")) if d.get("user_ref") else {})))
    for o in orders:
        d = o.data
        events.append(Event("delivered", _instant(d.get("delivered_at") or d.get("ordered_at")),
                            staff=d.get("staff") or None, order_no=d.get("order_no"),
                            **(user_fields(d.get("user_ref")) if d.get("user_ref") else {})))
    for i in inspections:
        d = i.data
        events.append(Event("inspection", _date(d.get("inspected_on")), result=d.get("result"),
                            unit=d.get("inspection_unit") or None, next_due_on=_date(d.get("next_due_on"))))
    events.sort(key=_sort_key, reverse=True)

    places, seen = [], set()
    for e in events:
        if e.station and ("station", e.station) not in seen:
            seen.add(("station", e.station))
            st = stations.get(e.station)
            places.append({"kind": "station", "name": e.station, "address": st.data.get("address") if st else None,
                           "lon": st.lon if st else None, "lat": st.lat if st else None})
        if e.user_ref and e.address and ("user", e.user_ref) not in seen:
            seen.add(("user", e.user_ref))
            places.append({"kind": "user", "name": e.user_name or e.user_ref, "address": e.address,
                           "lon": None, "lat": None})
    user_list = [{"ref": ref, "name": (users.get(ref) or {}).get("name"),
                  "user_type": (users.get(ref) or {}).get("user_type"),
                  "address": (users.get(ref) or {}).get("address"), "registered": ref in users}
                 for ref in sorted(refs)]
    last_move = max(moves, key=lambda m: _sort_key(Event("", _instant(m.data.get("at")))), default=None)
    details = {k: record.data.get(k) for k in ("manufacturer", "spec", "weight_kg", "volume_l", "made_on",
                                               "next_inspection_on", "status")}
    return Trace(eid, record.enterprise.name, code, record.external_id, details,
                 validity(record.data, [i.data for i in inspections], today), events, user_list, places,
                 last_move.data.get("movement") if last_move else None)


def _sort_key(event: Event) -> datetime:
    """Instants and days on one line: a day sorts as its start in Beijing time, so an inspection comes before
    that day's moves; an instant without an offset is read as UTC, as the API stores them."""
    at = event.at
    if at is None:
        return datetime.min.replace(tzinfo=UTC)
    if isinstance(at, datetime):
        return at if at.tzinfo else at.replace(tzinfo=UTC)
    return datetime.combine(at, time.min, tzinfo=SHANGHAI)


def find(s, scope, code: str, today: date, enterprise_id: int | None = None) -> list[Trace]:
    """Every trace of ``code`` in ``scope`` (one per enterprise that registered it): [] when none."""
    return [trace(s, r, today) for r in cylinders(s, scope, code, enterprise_id)]


def public_validity(s, enterprise_id: int, code: str, today: date) -> tuple[str, Validity] | None:
    """What a label's public page shows: the enterprise's name and the inspection's validity; None when the
    enterprise has no such official cylinder (any more)."""
    found = cylinders(s, Enterprise.id == enterprise_id, code)
    if not found:
        return None
    record = found[0]
    inspections = [i.data for i in _inspections(s, enterprise_id, code)]
    return record.enterprise.name, validity(record.data, inspections, today)


def label_cylinders(s, enterprise_id: int, code: str | None = None, offset: int = 0, limit: int = 60):
    """The enterprise's official cylinders to print labels for, by code; (records, total)."""
    from sqlalchemy import func

    where = [DataRecord.enterprise_id == enterprise_id, DataRecord.kind == "cylinder",
             DataRecord.status == REC_OFFICIAL]
    if code:
        where.append(DataRecord.data["code"].as_string() == code)
    total = s.scalar(select(func.count()).select_from(DataRecord).where(*where))
    rows = s.scalars(select(DataRecord).where(*where).order_by(DataRecord.external_id).offset(offset).limit(limit))
    return list(rows), total


def validities(s, records: list[DataRecord], today: date) -> dict[int, Validity]:
    """The validity of each of a page of cylinder records, by record id, in one query for their inspections."""
    if not records:
        return {}
    codes = {r.data.get("code") for r in records}
    found: dict[tuple, list[dict]] = {}
    for i in s.scalars(select(DataRecord).where(
            DataRecord.kind == "cylinder_inspection", DataRecord.status == REC_OFFICIAL,
            DataRecord.enterprise_id.in_({r.enterprise_id for r in records}),
            DataRecord.data["cylinder_code"].as_string().in_(codes))):
        found.setdefault((i.enterprise_id, i.data.get("cylinder_code")), []).append(i.data)
    return {r.id: validity(r.data, found.get((r.enterprise_id, r.data.get("code")), []), today) for r in records}


def listing(s, scope, q: str | None = None, enterprise_id: int | None = None):
    """The official cylinders in ``scope`` (a code prefix ``q``, one enterprise), as a statement to page."""
    stmt = select(DataRecord).join(Enterprise, Enterprise.id == DataRecord.enterprise_id).where(
        DataRecord.kind == "cylinder", DataRecord.status == REC_OFFICIAL, scope)
    if q:
        stmt = stmt.where(DataRecord.data["code"].as_string().startswith(q, autoescape=True))
    if enterprise_id is not None:
        stmt = stmt.where(DataRecord.enterprise_id == enterprise_id)
    return stmt.order_by(DataRecord.enterprise_id, DataRecord.external_id)
