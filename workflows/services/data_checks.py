"""Warnings from reported data (A7.2–A7.4): cylinders, delivery vehicles and users.

The checks read an enterprise's *official* records (what the authority accepted) and keep one
warning per condition through ``workflows.services.early_warnings``: a condition found opens (or refreshes) its
warning, a condition gone closes it. They run when a review makes records official, and once a
day for what time alone changes (an inspection falling due).
"""
import math
from datetime import datetime

from sqlalchemy import select

from models import REC_OFFICIAL, WARNING_OPEN, DataRecord, EarlyWarning, Enterprise

from . import cylinder_trace
from .early_warnings import clear_warning, raise_warning

# Cylinders a user may hold before it is a warning (A1.5 气瓶保有量预警), by user type.
HOLDING_NORMS = {"residential": 2, "commercial": 6, "public_welfare": 6, "industrial": 20, "vehicle": 0}
KINDS_CHECKED = {"cylinder", "cylinder_movement", "cylinder_inspection", "gas_user", "delivery_vehicle",
                 "delivery_staff", "station"}
LEVEL_INSPECTION, LEVEL_UNREGISTERED, LEVEL_HOLDING, LEVEL_DRIVER, LEVEL_OFF_ROUTE = 2, 2, 3, 2, 2
# A delivery vehicle farther than this from every station of its enterprise is off its delivery area.
DELIVERY_RADIUS_KM = 30.0


def _official(s, enterprise_id: int, kind: str) -> list[DataRecord]:
    return list(s.scalars(select(DataRecord).where(DataRecord.enterprise_id == enterprise_id, DataRecord.kind == kind,
                                                  DataRecord.status == REC_OFFICIAL)))


def _open_keys(s, enterprise_id: int, category: str, prefix: str) -> set[str]:
    return set(s.scalars(select(EarlyWarning.key).where(
        EarlyWarning.enterprise_id == enterprise_id, EarlyWarning.category == category,
        EarlyWarning.status == WARNING_OPEN, EarlyWarning.key.startswith(prefix))))


def _settle(s, enterprise_id, category, prefix, found: dict[str, tuple[int, str]], now, engine) -> int:
    """Raise a warning for each condition found; close those of the prefix no longer found."""
    for key, (level, text) in found.items():
        raise_warning(s, enterprise_id, category, level, text, key, now, engine)
    for key in _open_keys(s, enterprise_id, category, prefix) - set(found):
        clear_warning(s, enterprise_id, category, key, now)
    return len(found)


def _km(lon1, lat1, lon2, lat2) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


def _off_route(track, bases) -> list | None:
    """The first track point farther than DELIVERY_RADIUS_KM from every base (station or enterprise)."""
    for point in track or []:
        if all(_km(point[0], point[1], lon, lat) > DELIVERY_RADIUS_KM for lon, lat in bases):
            return point
    return None


def check_enterprise(s, enterprise_id: int, now: datetime, engine=None) -> dict:
    """Run every data check for one enterprise; the caller commits. Returns counts per condition."""
    today = now.date()
    cylinders = _official(s, enterprise_id, "cylinder")
    users = {r.external_id: r for r in _official(s, enterprise_id, "gas_user")}
    movements = sorted(_official(s, enterprise_id, "cylinder_movement"), key=lambda r: str(r.data.get("at")))
    staff = _official(s, enterprise_id, "delivery_staff")
    vehicles = _official(s, enterprise_id, "delivery_vehicle")

    inspections = {}
    for i in _official(s, enterprise_id, "cylinder_inspection"):
        inspections.setdefault(i.data.get("cylinder_code"), []).append(i.data)
    overdue = {}
    for c in cylinders:
        # The trace's rule: the newest inspection's next due date, else the cylinder's own.
        valid = cylinder_trace.validity(c.data, inspections.get(c.data.get("code"), []), today)
        if valid.state == cylinder_trace.OVERDUE:
            overdue[f"cylinder:{c.external_id}:inspection"] = (
                LEVEL_INSPECTION,
                f"钢瓶 {c.data.get('code', c.external_id)} 已超过检验期限 ({valid.valid_until.isoformat()})")

    where = {}  # each cylinder's latest movement decides where it is
    for m in movements:
        where[m.data.get("cylinder_code")] = m.data
    unregistered, held = {}, {}
    for code, move in where.items():
        if move.get("movement") != "out":
            continue
        ref = move.get("user_ref")
        if not ref or ref not in users:
            unregistered[f"cylinder:{code}:unregistered_user"] = (
                LEVEL_UNREGISTERED, f"钢瓶 {code} 出库给未实名登记的用户 ({ref or '未填写'})")
        else:
            held.setdefault(ref, []).append(code)
    holding = {}
    for ref, codes in held.items():
        norm = HOLDING_NORMS.get(users[ref].data.get("user_type"), 2)
        if len(codes) > norm:
            name = users[ref].data.get("name", ref)
            text = f"用户 {name} 持有 {len(codes)} 只气瓶, 超过 {norm} 只的限额"
            holding[f"user:{ref}:holding"] = (LEVEL_HOLDING, text)

    stations = _official(s, enterprise_id, "station")
    enterprise = s.get(Enterprise, enterprise_id)
    bases = [(r.lon, r.lat) for r in stations if r.lon is not None] or \
        ([(enterprise.lon, enterprise.lat)] if enterprise.lon is not None else [])
    qualified = {r.data.get("name") for r in staff if r.data.get("qualification_no")}
    drivers = {}
    for v in vehicles:
        driver = v.data.get("driver")
        if driver and driver not in qualified:
            drivers[f"vehicle:{v.external_id}:driver"] = (
                LEVEL_DRIVER, f"配送车辆 {v.data.get('plate', v.external_id)} 的驾驶员 {driver} 无从业资格登记")

    _settle(s, enterprise_id, "cylinder", "cylinder:", {**overdue, **unregistered}, now, engine)
    _settle(s, enterprise_id, "user", "user:", holding, now, engine)
    off_route = {}
    for v in vehicles:
        point = _off_route(v.data.get("track"), bases) if bases else None
        if point is not None:
            off_route[f"vehicle:{v.external_id}:off_route"] = (
                LEVEL_OFF_ROUTE, f"配送车辆 {v.data.get('plate', v.external_id)} 驶出配送区域 "
                                 f"(距各站点均超过 {DELIVERY_RADIUS_KM:g} 公里, 位置 {point[0]:.4f},{point[1]:.4f})")
    _settle(s, enterprise_id, "vehicle", "vehicle:", {**drivers, **off_route}, now, engine)
    return {"inspection_overdue": len(overdue), "unregistered_user": len(unregistered), "holding": len(holding),
            "unqualified_driver": len(drivers), "off_route": len(off_route)}


def check_all(s, now: datetime, engine=None) -> int:
    """The daily round: every enterprise that reports bottled-gas data. Returns warnings open after it."""
    total = 0
    ids = s.scalars(select(Enterprise.id).where(Enterprise.id.in_(
        select(DataRecord.enterprise_id).where(DataRecord.kind.in_(KINDS_CHECKED),
                                               DataRecord.status == REC_OFFICIAL)))).all()
    for enterprise_id in ids:
        found = check_enterprise(s, enterprise_id, now, engine)
        s.commit()
        total += sum(found.values())
    return total
