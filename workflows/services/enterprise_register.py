"""The register of gas enterprises and of the city's county-level units (issue 15, A1.1/A2.1/A3.1).

The city admin keeps every enterprise; a county supervisor holding ``enterprises.manage`` keeps those of
the county. Every change is one ``EnterpriseChange`` row with each field's old and new value, written in
the same transaction as the change. Field syntax (credit code check digit, ranges) is the forms' job;
this module checks what needs the database: a credit code already registered, a county outside the
caller's area. Errors name the field with a code the web layer words (forms/enterprises.py).
"""
from datetime import datetime

from sqlalchemy import func, select

from models import (
    CITY,
    COUNTY,
    ENTERPRISE_KINDS,
    ROLE_CITY_ADMIN,
    Enterprise,
    EnterpriseChange,
    Region,
    User,
)
from models.uscc import uscc_error
from workflows.errors import Forbidden, InvalidInput, NotFound
from workflows.permissions import has_right
from workflows.services import sign_ins

FIELDS = ("name", "uscc", "kind", "county_id", "address", "lon", "lat", "licences")
DUPLICATE, OUT_OF_AREA, UNKNOWN_COUNTY, BAD_CODE = "duplicate", "out_of_area", "unknown_county", "bad_code"


def may_manage(user: User, county_id: int | None) -> bool:
    if not has_right(user, "enterprises.manage"):
        return False
    return user.role == ROLE_CITY_ADMIN or (county_id is not None and county_id == user.county_id)


def counties(s, user: User | None = None) -> list[Region]:
    """The county-level units, or those whose enterprises ``user`` keeps."""
    rows = s.scalars(select(Region).where(Region.level == COUNTY).order_by(Region.code)).all()
    return [r for r in rows if user is None or may_manage(user, r.id)]


def _check(s, user: User, values: dict, current: Enterprise | None) -> None:
    errors = {}
    county_id = values.get("county_id", current.county_id if current else None)
    county = s.get(Region, county_id) if county_id is not None else None
    if county is None or county.level != COUNTY:
        errors["county_id"] = UNKNOWN_COUNTY
    elif not may_manage(user, county_id):
        errors["county_id"] = OUT_OF_AREA
    if current is not None and not may_manage(user, current.county_id):
        raise Forbidden("the enterprise is outside the caller's area")
    uscc = values.get("uscc")
    if uscc is not None:
        if uscc_error(uscc):
            errors["uscc"] = BAD_CODE
        else:
            taken = s.scalar(select(Enterprise.id).where(func.upper(Enterprise.uscc) == uscc.upper()))
            if taken is not None and (current is None or taken != current.id):
                errors["uscc"] = DUPLICATE
    if values.get("kind") is not None and values["kind"] not in ENTERPRISE_KINDS:
        errors["kind"] = "unknown_kind"
    if errors:
        raise InvalidInput("invalid enterprise", errors)


def _plain(value):
    return value if value is None or isinstance(value, str | int | float | bool | list | dict) else str(value)


def _record(s, enterprise: Enterprise, actor: User | None, source: str, changes: dict, now: datetime) -> None:
    if changes:
        s.add(EnterpriseChange(enterprise_id=enterprise.id, at=now, actor_id=actor.id if actor else None,
                               source=source, changes=changes))


def create(s, actor: User, values: dict, now: datetime, source: str = "page") -> Enterprise:
    _check(s, actor, values, None)
    enterprise = Enterprise(**{k: values.get(k) for k in FIELDS if k in values}, active=True, created_at=now)
    enterprise.uscc = enterprise.uscc.upper()
    enterprise.address = enterprise.address or ""
    enterprise.licences = enterprise.licences or []
    s.add(enterprise)
    s.flush()
    _record(s, enterprise, actor, source, {k: [None, _plain(getattr(enterprise, k))] for k in FIELDS
                                          if getattr(enterprise, k) not in (None, "", [])}, now)
    return enterprise


def update(s, actor: User | None, enterprise: Enterprise, values: dict, now: datetime, source: str = "page") -> dict:
    """Change the fields given; returns what changed ({field: [old, new]})."""
    if actor is not None:
        _check(s, actor, values, enterprise)
    if values.get("uscc"):
        values = {**values, "uscc": values["uscc"].upper()}
    changes = {}
    for key in FIELDS:
        if key in values and values[key] != getattr(enterprise, key):
            changes[key] = [_plain(getattr(enterprise, key)), _plain(values[key])]
            setattr(enterprise, key, values[key])
    if changes:
        enterprise.updated_at = now
        _record(s, enterprise, actor, source, changes, now)
    return changes


def set_active(s, actor: User, enterprise: Enterprise, active: bool, now: datetime) -> int:
    """Deactivating also deactivates the enterprise's accounts and ends their sessions (reactivating
    the enterprise leaves them to be reactivated one by one). Returns the accounts switched off."""
    if not may_manage(actor, enterprise.county_id):
        raise Forbidden("the enterprise is outside the caller's area")
    if enterprise.active == active:
        return 0
    enterprise.active, enterprise.updated_at = active, now
    _record(s, enterprise, actor, "page", {"active": [not active, active]}, now)
    if active:
        return 0
    users = s.scalars(select(User).where(User.enterprise_id == enterprise.id, User.active.is_(True))).all()
    for user in users:
        user.active = False
        sign_ins.end_all(s, user.id)
    return len(users)


def get(s, user: User, enterprise_id: int) -> Enterprise:
    from workflows import access

    enterprise = s.get(Enterprise, enterprise_id)
    if enterprise is None or not access.can_see_enterprise(user, enterprise):
        raise NotFound("no such enterprise")
    return enterprise


def history(s, enterprise_id: int) -> list[EnterpriseChange]:
    return list(s.scalars(select(EnterpriseChange).where(EnterpriseChange.enterprise_id == enterprise_id)
                          .order_by(EnterpriseChange.at.desc(), EnterpriseChange.id.desc())))


def apply_profile(s, enterprise_id: int, data: dict, now: datetime) -> dict:
    """An accepted ``enterprise_profile`` record updates the register: name, address, location and the
    licence number; the credit code only when no other enterprise holds it (else it is left as is)."""
    enterprise = s.get(Enterprise, enterprise_id)
    if enterprise is None:
        return {}
    values = {k: data[k] for k in ("name", "address", "lon", "lat") if data.get(k) not in (None, "")}
    code = (data.get("uscc") or "").upper()
    if code and not uscc_error(code) and not s.scalar(
            select(Enterprise.id).where(Enterprise.uscc == code, Enterprise.id != enterprise.id)):
        values["uscc"] = code
    if data.get("licence_no"):
        others = [x for x in (enterprise.licences or []) if x.get("kind") != "gas_business"]
        mine = next((x for x in (enterprise.licences or []) if x.get("kind") == "gas_business"), {})
        values["licences"] = [*others, {**mine, "kind": "gas_business", "number": data["licence_no"]}]
    return update(s, None, enterprise, values, now, source="profile")


def add_region(s, city_code: str, code: str, name: str) -> Region:
    """A new county-level unit (GB/T 2260: six digits, the city's first four)."""
    city = s.scalar(select(Region).where(Region.level == CITY, Region.code == city_code)) or s.scalar(
        select(Region).where(Region.level == CITY))
    if city is None:
        raise InvalidInput("no city", {"code": "no_city"})
    if not (len(code) == 6 and code.isdigit()) or code[:4] != city.code[:4] or code[4:] == "00":
        raise InvalidInput("bad code", {"code": "bad_region_code"})
    if s.scalar(select(Region.id).where(Region.code == code)):
        raise InvalidInput("duplicate code", {"code": DUPLICATE})
    if s.scalar(select(Region.id).where(Region.name == name)):
        raise InvalidInput("duplicate name", {"name": DUPLICATE})
    region = Region(code=code, name=name, level=COUNTY, parent_id=city.id)
    s.add(region)
    s.flush()
    return region


def check_rows(s, actor: User, rows: list[tuple[int, dict]], earlier: dict[str, int] | None = None) -> dict:
    """What the register refuses among rows of a file: {row: {field: code}} (against the register and
    the rows above; ``earlier``: credit codes of rows refused before this check, by row)."""
    errors, seen = {}, dict(earlier or {})
    for number, values in rows:
        try:
            _check(s, actor, values, None)
        except InvalidInput as exc:
            errors[number] = dict(exc.fields)
        code = (values.get("uscc") or "").upper()
        if code in seen:
            errors.setdefault(number, {})["uscc"] = DUPLICATE
        seen.setdefault(code, number)
    return errors


def import_rows(s, actor: User, rows: list[tuple[int, dict]], now: datetime) -> tuple[int, dict]:
    """Enterprises from a file, all or none: any error leaves the register as it was.
    Returns (created, {row: {field: code}})."""
    errors = check_rows(s, actor, rows)
    if errors:
        return 0, errors
    for _number, values in rows:
        create(s, actor, values, now, source="import")
    return len(rows), {}
