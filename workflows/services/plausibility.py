"""Plausibility checks of operational data (issue 15, "data that flows"): a record of a kind accepted
automatically (``DataKind.acceptance == "auto"``) becomes official at once when it passes every check of
its kind; one that fails goes to a reviewer with the failed checks named. Field syntax and ranges are the
forms' job; these checks look across fields and across records:

- a daily volume: the stock balances (yesterday's stock + inbound − supplied ≈ today's stock, within a
  tolerance), and nothing is supplied that was not there;
- a cylinder movement: consistent with the cylinder's last place (out of stock only from stock, back in
  only from out), after its last movement, and of a cylinder the enterprise registered;
- a delivery order delivered after it was ordered;
- nothing that happened is dated in the future.
"""
from datetime import date, datetime, timedelta

from sqlalchemy import select

from models import REC_OFFICIAL, DataRecord

# Stock balance: a difference up to this share of the day's throughput (or 1 unit) is rounding and losses.
BALANCE_TOLERANCE = 0.02
EVENT_FIELDS = ("date", "at", "ordered_at", "delivered_at", "inspected_on", "patrolled_at", "done_at", "scheduled_at")
LEAD_TIME = {"scheduled_at"}  # appointments are for the future


def _day(value) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except (TypeError, ValueError):
        return None


def _instant(value) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None


def _num(value) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class Context:
    """What the checks know beyond the record: the enterprise's official records of a kind, and the
    records of the same batch already checked (a batch may hold several days of one station)."""

    def __init__(self, s, enterprise_id: int):
        self.s, self.enterprise_id = s, enterprise_id
        self.batch: dict[str, list[dict]] = {}
        self._official: dict[str, list[dict]] = {}

    def official(self, kind: str) -> list[dict]:
        if kind not in self._official:
            self._official[kind] = [dict(r.data, external_id=r.external_id) for r in self.s.scalars(
                select(DataRecord).where(DataRecord.enterprise_id == self.enterprise_id, DataRecord.kind == kind,
                                         DataRecord.status == REC_OFFICIAL))]
        return self._official[kind]

    def known(self, kind: str) -> list[dict]:
        return self.official(kind) + self.batch.get(kind, [])

    def add(self, kind: str, data: dict) -> None:
        self.batch.setdefault(kind, []).append(data)


def _future(data: dict, today: date) -> list[str]:
    found = []
    for name in EVENT_FIELDS:
        if name in LEAD_TIME or data.get(name) in (None, ""):
            continue
        day = _day(data[name])
        if day is not None and day > today + timedelta(days=1):  # a day's slack for time zones
            found.append(f"日期在未来：{name} = {data[name]}")
    return found


def _daily_volume(data: dict, ctx: Context) -> list[str]:
    inbound, supplied, stock = _num(data.get("inbound")), _num(data.get("supplied")), _num(data.get("stock"))
    day = _day(data.get("date"))
    if day is None or None in (inbound, supplied, stock):
        return []
    station = data.get("station") or ""
    before = [r for r in ctx.known("daily_volume") if (r.get("station") or "") == station
              and r.get("unit") == data.get("unit") and _day(r.get("date")) == day - timedelta(days=1)
              and _num(r.get("stock")) is not None]
    if not before:
        return []  # the first day reported: nothing to balance against
    previous = _num(before[-1]["stock"])
    expected = previous + inbound - supplied
    tolerance = max(1.0, BALANCE_TOLERANCE * max(previous + inbound, supplied, 1.0))
    found = []
    if supplied > previous + inbound + tolerance:
        found.append(f"供出量超过可供量：昨日库存 {previous:g} + 进 {inbound:g} < 供出 {supplied:g}")
    if abs(expected - stock) > tolerance:
        found.append(f"库存不平：昨日库存 {previous:g} + 进 {inbound:g} − 供出 {supplied:g} = {expected:g}，"
                     f"报送库存 {stock:g}（允差 {tolerance:g}）")
    return found


_STATE_AFTER = {"in": "in", "return": "in", "out": "out"}


def _cylinder_movement(data: dict, ctx: Context) -> list[str]:
    code, movement, at = data.get("cylinder_code"), data.get("movement"), _instant(data.get("at"))
    found = []
    if code and not any(r.get("code") == code for r in ctx.official("cylinder")):
        found.append(f"气瓶 {code} 未在本企业气瓶档案中登记")
    earlier = [r for r in ctx.known("cylinder_movement") if r.get("cylinder_code") == code
               and _instant(r.get("at")) is not None]
    if earlier and at is not None:
        last = max(earlier, key=lambda r: _instant(r["at"]).timestamp())
        last_at = _instant(last["at"])
        if at.timestamp() <= last_at.timestamp():
            found.append(f"气瓶 {code} 的流转时间早于其上一次流转（{last['at']}）")
        elif movement == "out" and _STATE_AFTER.get(last.get("movement")) == "out":
            found.append(f"气瓶 {code} 已出库，未入库或回收又出库")
        elif movement == "return" and _STATE_AFTER.get(last.get("movement")) == "in":
            found.append(f"气瓶 {code} 在库，未出库却回收")
    return found


def _delivery_order(data: dict, ctx: Context) -> list[str]:
    ordered, delivered = _instant(data.get("ordered_at")), _instant(data.get("delivered_at"))
    if ordered is not None and delivered is not None and delivered.timestamp() < ordered.timestamp():
        return ["送达时间早于下单时间"]
    return []


CHECKS = {"daily_volume": _daily_volume, "cylinder_movement": _cylinder_movement, "delivery_order": _delivery_order}


def check(kind_key: str, data: dict, ctx: Context, today: date) -> list[str]:
    """The failed checks of one record, in words (empty: plausible). The record joins the batch's context
    either way, so the next record of the batch is checked against it."""
    found = _future(data, today)
    rule = CHECKS.get(kind_key)
    if rule is not None:
        found += rule(data, ctx)
    ctx.add(kind_key, data)
    return found
