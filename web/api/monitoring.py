"""REST API v1, monitoring (A1.8, A2.5, A3.5, A7): readings in, warnings and threshold rules out."""
import math
from datetime import UTC, datetime, timedelta

from flask import jsonify, request
from sqlalchemy import select

from models import (
    AUTHORITY_ROLES,
    COMPARISONS,
    LEVELS,
    QUANTITIES,
    ROLE_CITY_ADMIN,
    SITE_KINDS,
    WARNING_CATEGORIES,
    WARNING_CLOSED,
    WARNING_OPEN,
    EarlyWarning,
    Enterprise,
    Reading,
    ThresholdRule,
)
from web.api import area
from web.common import taskflow
from web.common.http_errors import json_error
from web.common.params import MAX_ID, json_id, range_message, whole_number
from web.common.rights import api_scope, check_right
from web.common.unit_of_work import writes_done
from web.extensions import case_engine, db
from workflows import access
from workflows.engine import clock
from workflows.errors import Forbidden, InvalidInput
from workflows.services import early_warnings as monitoring
from workflows.services import reading_series
from workflows.text import has_bad_text

from .authentication import me
from .inputs import body, int_arg, paged

bp = area("monitoring_api", __name__)

MAX_BATCH = 10_000
MAX_FUTURE = timedelta(minutes=5)  # sensor clocks drift; further ahead is a wrong clock, not a reading
READING_FIELDS = {"site", "site_kind", "sensor", "quantity", "value", "at"}
DEFAULT_LIMIT, MAX_LIMIT = 100, 5000


# ---- readings -----------------------------------------------------------------
def _text(item: dict, name: str, errors: dict, required: bool = True, max_len: int = 64) -> str | None:
    value = item.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        errors[name] = ["This field is required." if value in (None, "") else "Must be a string."]
        return None
    value = value.strip()
    if len(value) > max_len:
        errors[name] = [f"At most {max_len} characters."]
        return None
    return value


def validate_reading(item, now: datetime) -> tuple[monitoring.ReadingIn | None, dict]:
    """One reading of a batch: the reading, or the errors per field.

    Nearly every reading is valid, and a batch holds thousands: the first part accepts a plainly valid
    one with as few steps as Python allows (this was half the CPU of an ingest); anything it does not
    accept goes through the field-by-field checks that name what is wrong."""
    if type(item) is dict and item.keys() <= READING_FIELDS:
        site, sensor, value, raw_at = item.get("site"), item.get("sensor"), item.get("value"), item.get("at")
        quantity, site_kind = item.get("quantity"), item.get("site_kind")
        if type(site) is str and type(sensor) is str and type(raw_at) is str and type(value) in (int, float) \
                and quantity in QUANTITIES and (site_kind is None or site_kind in SITE_KINDS):
            site, sensor = site.strip(), sensor.strip()
            if 0 < len(site) <= 64 and 0 < len(sensor) <= 64 and math.isfinite(value):
                try:
                    at = datetime.fromisoformat(raw_at.strip())  # Python 3.11 reads a trailing Z too
                except ValueError:
                    at = None
                if at is not None and at.tzinfo is not None and at.year >= 2000 and at <= now + MAX_FUTURE:
                    return monitoring.ReadingIn(site, sensor, quantity, float(value), at.astimezone(UTC),
                                                site_kind), {}
    return _checked_reading(item, now)


def _checked_reading(item, now: datetime) -> tuple[monitoring.ReadingIn | None, dict]:
    if not isinstance(item, dict):
        return None, {"reading": ["Must be an object."]}
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(item) - READING_FIELDS)
    for name in unknown:
        errors[str(name)[:64]] = ["Unknown field."]
    site, sensor = _text(item, "site", errors), _text(item, "sensor", errors)
    site_kind = item.get("site_kind")
    if site_kind is not None and site_kind not in SITE_KINDS:
        errors["site_kind"] = [f"Must be one of: {', '.join(SITE_KINDS)}."]
    quantity = item.get("quantity")
    if quantity not in QUANTITIES:
        errors["quantity"] = [f"Must be one of: {', '.join(QUANTITIES)}."]
    value = item.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        errors["value"] = ["Must be a finite number."]
    at = None
    raw_at = item.get("at")
    if not isinstance(raw_at, str) or not raw_at.strip():
        errors["at"] = ["This field is required (ISO 8601 with a UTC offset)."]
    else:
        try:
            at = datetime.fromisoformat(raw_at.strip().replace("Z", "+00:00"))
        except ValueError:
            errors["at"] = ["Not a valid ISO 8601 date and time."]
        else:
            if at.tzinfo is None:
                errors["at"] = ["Needs a UTC offset (e.g. +08:00 or Z)."]
            elif at > now + MAX_FUTURE:
                errors["at"] = ["More than 5 minutes in the future."]
            elif at.year < 2000:
                errors["at"] = ["Before the year 2000."]
    if errors:
        return None, errors
    return monitoring.ReadingIn(site=site, sensor=sensor, quantity=quantity, value=float(value),
                                at=at.astimezone(UTC), site_kind=site_kind), {}


def _batch_enterprise(data: dict) -> int:
    """Whose readings these are: an enterprise user's own enterprise; an authority names one in its scope."""
    user = me()
    check_right(user, "readings.submit", "this account may not send readings")
    given = data.get("enterprise_id")
    if given is not None and json_id(given) is None:
        raise InvalidInput("enterprise_id must be an enterprise id",
                           {"enterprise_id": [f"Must be an id (an integer from 1 to {MAX_ID})."]})
    if access.is_enterprise_user(user):
        if given not in (None, user.enterprise_id):
            raise InvalidInput("readings of another enterprise",
                               {"enterprise_id": ["Enterprise accounts send their own enterprise's readings."]})
        return user.enterprise_id
    if user.role not in AUTHORITY_ROLES:
        raise Forbidden("this account may not send readings")
    if given is None:
        raise InvalidInput("enterprise_id is required", {"enterprise_id": ["This field is required."]})
    if db.session.scalar(select(Enterprise.id).where(Enterprise.id == given, access.enterprise_scope(user))) is None:
        raise InvalidInput("enterprise not found", {"enterprise_id": ["Unknown enterprise."]})
    return given


@bp.post("/readings")
@api_scope("readings:write")
def post_readings():
    """A batch of sensor readings (at most 10,000): 202 with the accepted count, the rejected readings
    (index and field errors) and the warnings the batch opened."""
    data = body()
    items = data.get("readings")
    if not isinstance(items, list) or not items:
        raise InvalidInput("readings must be a non-empty list", {"readings": ["Must be a non-empty list."]})
    if len(items) > MAX_BATCH:
        return json_error(413, "batch_too_large", f"at most {MAX_BATCH} readings per batch",
                          {"readings": [f"At most {MAX_BATCH} readings per batch; got {len(items)}."]})
    enterprise_id = _batch_enterprise(data)
    now = clock.now()
    accepted, rejected = [], []
    for index, item in enumerate(items):
        reading, errors = validate_reading(item, now)
        if reading is None:
            rejected.append({"index": index, "fields": errors})
        else:
            accepted.append(reading)
    if not accepted:
        body_ = {"error": {"code": "invalid_readings", "message": "no reading of the batch is valid",
                           "fields": {"readings": ["No valid reading."]}},
                 "accepted": 0, "rejected": rejected, "warnings_opened": []}
        return jsonify(body_), 422
    s = db.session
    monitoring.lock_enterprise(s, enterprise_id)
    monitoring.store_readings(s, enterprise_id, accepted, now)
    opened = monitoring.evaluate(s, enterprise_id, accepted, now, engine=case_engine())
    opened = [warning_dict(w) for w in opened]
    writes_done()
    return jsonify({"accepted": len(accepted), "rejected": rejected, "warnings_opened": opened}), 202


def reading_scope(user):
    if user.role == ROLE_CITY_ADMIN:
        return Reading.id.isnot(None)
    return Reading.enterprise_id.in_(select(Enterprise.id).where(access.enterprise_scope(user)))


def reading_dict(r: Reading) -> dict:
    return {"id": r.id, "enterprise_id": r.enterprise_id, "site": r.site, "site_kind": r.site_kind,
            "sensor": r.sensor, "quantity": r.quantity, "value": r.value, "at": taskflow.iso(r.at),
            "received_at": taskflow.iso(r.received_at)}


@bp.get("/readings")
@api_scope("read")
def get_readings():
    """Readings in the caller's scope, newest first: site, sensor, quantity, enterprise, since, until, limit."""
    stmt = select(Reading).where(reading_scope(me()))
    quantity = request.args.get("quantity")
    if quantity and quantity not in QUANTITIES:
        raise InvalidInput("unknown quantity", {"quantity": [f"Must be one of: {', '.join(QUANTITIES)}."]})
    for name, col in (("site", Reading.site), ("sensor", Reading.sensor), ("quantity", Reading.quantity)):
        if request.args.get(name):
            stmt = stmt.where(col == request.args[name])
    enterprise = int_arg("enterprise")
    if enterprise is not None:
        stmt = stmt.where(Reading.enterprise_id == enterprise)
    since, until = (taskflow.parse_instant(request.args.get(n), n) for n in ("since", "until"))
    if since is not None:
        stmt = stmt.where(Reading.at >= since)
    if until is not None:
        stmt = stmt.where(Reading.at < until)
    limit = int_arg("limit")
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be 1 to {MAX_LIMIT}", {"limit": [f"Must be 1 to {MAX_LIMIT}."]})
    rows = db.session.scalars(stmt.order_by(Reading.at.desc(), Reading.id.desc()).limit(limit or DEFAULT_LIMIT))
    items = [reading_dict(r) for r in rows]
    return jsonify({"items": items, "count": len(items)})


def series_args(args) -> tuple[reading_series.Series, str]:
    """The series (enterprise, site, sensor, quantity) and window named by query parameters; 422 naming a bad one."""
    errors: dict[str, list[str]] = {}
    enterprise = args.get("enterprise") or ""
    if whole_number(enterprise) is None:
        errors["enterprise"] = [range_message()]
    names = {}
    for name in ("site", "sensor"):
        value = args.get(name) or ""
        if not value.strip() or len(value) > 64:
            errors[name] = ["Required, at most 64 characters."]
        elif has_bad_text(value):
            errors[name] = ["Must not hold NUL or lone surrogates."]
        names[name] = value.strip()
    quantity = args.get("quantity") or ""
    if quantity not in QUANTITIES:
        errors["quantity"] = [f"Must be one of: {', '.join(QUANTITIES)}."]
    window = args.get("window") or reading_series.DEFAULT_WINDOW
    if window not in reading_series.WINDOWS:
        errors["window"] = [f"Must be one of: {', '.join(reading_series.WINDOWS)}."]
    if errors:
        raise InvalidInput("invalid series", errors)
    return reading_series.Series(int(enterprise), names["site"], names["sensor"], quantity), window


def series_dict(user, series: reading_series.Series, window: str, warning_url=None) -> dict | None:
    """The series over the window with its threshold lines and warnings; None when the caller may not see it."""
    s = db.session
    if not reading_series.visible(s, user, series):
        return None
    now = clock.now()
    found = reading_series.points(s, series, window, now)
    kind = reading_series.site_kind(s, series)
    warnings = []
    for w in reading_series.warnings(s, user, series, window, now):
        start, end = reading_series.warning_span(w, now)
        item = {"id": w.id, "level": w.level, "status": w.status, "description": w.description,
                "started_at": taskflow.iso(w.started_at), "ended_at": taskflow.iso(w.ended_at),
                "peak_value": w.peak_value, "span_ms": [start, end]}
        if warning_url is not None:
            item["url"] = warning_url(w.id)
        warnings.append(item)
    return {"enterprise_id": series.enterprise_id, "site": series.site, "sensor": series.sensor,
            "quantity": series.quantity, "site_kind": kind, "unit": monitoring.UNITS.get(series.quantity, ""),
            "window": window, "from": taskflow.iso(now - reading_series.WINDOWS[window]), "until": taskflow.iso(now),
            **found, "thresholds": reading_series.thresholds(s, series, kind), "warnings": warnings}


@bp.get("/readings/series")
@api_scope("read")
def get_series():
    """One sensor's readings over ?window=24h|7d|30d (enterprise, site, sensor, quantity): raw points [ms, value],
    or for 30 d (and any window over 3000 readings) time buckets [ms, mean, min, max]; the active threshold rules
    of the series and the warnings raised on it in the window. 404 for a series outside the caller's scope."""
    series, window = series_args(request.args)
    found = series_dict(me(), series, window)
    if found is None:
        return json_error(404, "not_found", "no such series in your scope")
    return jsonify(found)


# ---- warnings -------------------------------------------------------------------
def warning_dict(w: EarlyWarning) -> dict:
    return {"id": w.id, "enterprise_id": w.enterprise_id, "county_id": w.county_id, "category": w.category,
            "key": w.key, "site": w.site, "sensor": w.sensor, "quantity": w.quantity, "rule_id": w.rule_id,
            "level": w.level, "description": w.description, "status": w.status,
            "started_at": taskflow.iso(w.started_at), "last_seen_at": taskflow.iso(w.last_seen_at),
            "ended_at": taskflow.iso(w.ended_at), "peak_value": w.peak_value, "reading_count": w.reading_count,
            "case_id": w.case_id}


def warnings_stmt(user, args):
    """Warnings in ``user``'s scope filtered by status, level, category, county, enterprise; bad filters are 422."""
    stmt = select(EarlyWarning).where(access.warning_scope(user))
    status = args.get("status") or ""
    if status:
        if status not in (WARNING_OPEN, WARNING_CLOSED):
            raise InvalidInput("status must be open or closed", {"status": ["Must be open or closed."]})
        stmt = stmt.where(EarlyWarning.status == status)
    category = args.get("category") or ""
    if category:
        if category not in WARNING_CATEGORIES:
            raise InvalidInput("unknown category", {"category": [f"Must be one of: {', '.join(WARNING_CATEGORIES)}."]})
        stmt = stmt.where(EarlyWarning.category == category)
    for name, col, allowed in (("level", EarlyWarning.level, LEVELS), ("county", EarlyWarning.county_id, None),
                               ("enterprise", EarlyWarning.enterprise_id, None)):
        value = args.get(name) or ""
        if not value:
            continue
        if whole_number(value) is None or (allowed and int(value) not in allowed):
            raise InvalidInput(f"{name} is not valid", {name: ["Must be 1, 2 or 3." if allowed else
                                                               range_message()]})
        stmt = stmt.where(col == int(value))
    return stmt.order_by(EarlyWarning.level, EarlyWarning.started_at.desc(), EarlyWarning.id.desc())


@bp.get("/warnings")
@api_scope("read")
def get_warnings():
    """Warnings in the caller's scope (county, own enterprise, all for the city admin): status, level,
    category, county, enterprise filters; paged."""
    return paged(warnings_stmt(me(), request.args), warning_dict)


# ---- threshold rules ----------------------------------------------------------------
def rule_dict(r: ThresholdRule) -> dict:
    return {"id": r.id, "quantity": r.quantity, "site_kind": r.site_kind, "comparison": r.comparison,
            "threshold": r.threshold, "level": r.level, "active": r.active, "updated_by_id": r.updated_by_id,
            "updated_at": taskflow.iso(r.updated_at)}


def rules_list() -> list[dict]:
    rows = db.session.scalars(select(ThresholdRule).order_by(ThresholdRule.quantity, ThresholdRule.level,
                                                             ThresholdRule.id))
    return [rule_dict(r) for r in rows]


def check_rule(item, known_ids: set[int]) -> tuple[dict | None, dict]:
    """One rule of a PUT: the clean values, or errors per field."""
    if not isinstance(item, dict):
        return None, {"rule": ["Must be an object."]}
    errors: dict[str, list[str]] = {}
    for name in sorted(set(item) - {"id", "quantity", "site_kind", "comparison", "threshold", "level", "active",
                                    "updated_by_id", "updated_at"}):
        errors[str(name)[:64]] = ["Unknown field."]
    rule_id = item.get("id")
    if rule_id is not None and (isinstance(rule_id, bool) or not isinstance(rule_id, int) or rule_id not in known_ids):
        errors["id"] = ["Unknown rule."]
    if item.get("quantity") not in QUANTITIES:
        errors["quantity"] = [f"Must be one of: {', '.join(QUANTITIES)}."]
    if item.get("site_kind") not in (None, *SITE_KINDS):
        errors["site_kind"] = [f"Must be null or one of: {', '.join(SITE_KINDS)}."]
    if item.get("comparison") not in COMPARISONS:
        errors["comparison"] = ['Must be ">" or "<".']
    threshold = item.get("threshold")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not math.isfinite(threshold) \
            or abs(threshold) > 1e6:
        errors["threshold"] = ["Must be a finite number."]
    level = item.get("level")
    if isinstance(level, bool) or level not in LEVELS:
        errors["level"] = ["Must be 1, 2 or 3."]
    active = item.get("active", True)
    if not isinstance(active, bool):
        errors["active"] = ["Must be true or false."]
    if errors:
        return None, errors
    return {"id": rule_id, "quantity": item["quantity"], "site_kind": item.get("site_kind"),
            "comparison": item["comparison"], "threshold": float(threshold), "level": level,
            "active": active}, {}


def save_rules(rules: list[dict], actor_id: int) -> None:
    """Make ``rules`` the rule set: listed ids are updated, rules without id added, unlisted rules
    switched off (kept, because warnings name the rule that raised them). The caller commits."""
    existing = {r.id: r for r in db.session.scalars(select(ThresholdRule))}
    now = clock.now()
    listed = set()
    for clean in rules:
        rule = existing.get(clean["id"]) if clean["id"] is not None else None
        if rule is None:
            rule = ThresholdRule()
            db.session.add(rule)
        else:
            listed.add(rule.id)
        changed = any(getattr(rule, k, None) != v for k, v in clean.items() if k != "id")
        for key, value in clean.items():
            if key != "id":
                setattr(rule, key, value)
        if changed or rule.id is None:
            rule.updated_by_id, rule.updated_at = actor_id, now
    for rule_id, rule in existing.items():
        if rule_id not in listed and rule.active:
            rule.active, rule.updated_by_id, rule.updated_at = False, actor_id, now


@bp.get("/threshold-rules")
@api_scope("read")
def get_threshold_rules():
    """The threshold rules readings are checked against (active and switched off)."""
    return jsonify({"items": rules_list()})


@bp.put("/threshold-rules")
@api_scope("thresholds:write")
def put_threshold_rules():
    """Replace the threshold rules (city admin): {"rules": [...]}; rules with an id are updated, without one
    added, unlisted ones switched off. The next batch of readings is checked against the new rules."""
    check_right(me(), "thresholds.manage", "only users with the right to edit threshold rules replace them")
    items = body().get("rules")
    if not isinstance(items, list):
        raise InvalidInput("rules must be a list", {"rules": ["Must be a list."]})
    known = set(db.session.scalars(select(ThresholdRule.id)))
    clean, errors = [], {}
    for index, item in enumerate(items):
        rule, problems = check_rule(item, known)
        for name, messages in problems.items():
            errors[f"rules[{index}].{name}"] = messages
        if rule is not None:
            clean.append(rule)
    ids = [r["id"] for r in clean if r["id"] is not None]
    if len(ids) != len(set(ids)):
        errors["rules"] = ["A rule id is listed twice."]
    if errors:
        raise InvalidInput("invalid threshold rules", errors)
    save_rules(clean, me().id)
    writes_done()
    return jsonify({"items": rules_list()})
