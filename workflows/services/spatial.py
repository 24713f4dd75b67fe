"""Locations on the map and distance queries (O5), free of Flask.

Enterprises and data records keep WGS84 lon/lat beside their attributes; on PostgreSQL a generated
``geom geography(Point, 4326)`` column with a GiST index sits next to them, so "what is within 2 km"
is answered by PostGIS through the index. SQLite (the embedded default) has no spatial index: a
bounding box narrows the rows in SQL and the exact distance is computed here.

Every query is limited to what the caller may see (``workflows.access``).
"""
import math
import re
from dataclasses import dataclass

from geoalchemy2 import Geography
from sqlalchemy import and_, cast, false, func, literal_column, or_, select

from models import (
    CASE_OPEN_STATUSES,
    CASE_SUSPENDED,
    ENTERPRISE_KINDS,
    REC_OFFICIAL,
    ROLE_CITY_ADMIN,
    WARNING_OPEN,
    Case,
    DataRecord,
    EarlyWarning,
    Enterprise,
    Region,
)
from workflows import access
from workflows.errors import InvalidInput

# Mean Earth radius (IUGG); PostGIS measures on the WGS84 spheroid, which differs by well under 1%.
EARTH_RADIUS_M = 6371008.8
METRES_PER_DEGREE = math.pi * EARTH_RADIUS_M / 180
MAX_RADIUS_M = 50_000
# The same box the accident form accepts: a point outside it is a typo (swapped or zero lon/lat).
CHINA_LON, CHINA_LAT = (73.0, 136.0), (3.0, 54.0)
STATION_KIND, CAMERA_KIND = "station", "camera"
FEATURE_LAYERS = ("enterprises", "stations", "cameras", "warnings", "cases", "checkins")
NEARBY_LAYERS = ("stations", "enterprises")


@dataclass(frozen=True)
class Filters:
    county_id: int | None = None
    kind: str | None = None  # enterprise kind: bottled, pipeline, vehicle


# ---- parameters --------------------------------------------------------------------------------
def _number(name: str, raw) -> float:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise InvalidInput(f"{name} is required", {name: ["This parameter is required."]})
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise InvalidInput(f"{name} must be a number", {name: ["Must be a number."]}) from None
    if not math.isfinite(value):
        raise InvalidInput(f"{name} must be a number", {name: ["Must be a number."]})
    return value


def parse_point(lon_raw, lat_raw) -> tuple[float, float]:
    lon, lat = _number("lon", lon_raw), _number("lat", lat_raw)
    if not CHINA_LON[0] <= lon <= CHINA_LON[1]:
        raise InvalidInput("lon is outside China", {"lon": [f"Must be {CHINA_LON[0]:g} to {CHINA_LON[1]:g}."]})
    if not CHINA_LAT[0] <= lat <= CHINA_LAT[1]:
        raise InvalidInput("lat is outside China", {"lat": [f"Must be {CHINA_LAT[0]:g} to {CHINA_LAT[1]:g}."]})
    return lon, lat


def parse_radius(raw, default: float = 2000) -> float:
    radius = default if raw is None or (isinstance(raw, str) and not raw.strip()) else _number("radius_m", raw)
    if not 0 < radius <= MAX_RADIUS_M:
        raise InvalidInput(f"radius_m must be above 0 and at most {MAX_RADIUS_M}",
                           {"radius_m": [f"Must be above 0 and at most {MAX_RADIUS_M} metres."]})
    return radius


def parse_layers(raw, allowed: tuple[str, ...]) -> list[str]:
    if raw is None or not raw.strip():
        return list(allowed)
    layers = [p.strip() for p in raw.split(",") if p.strip()]
    unknown = [p for p in layers if p not in allowed]
    if unknown or not layers:
        raise InvalidInput("unknown layer", {"layers": [f"Comma-separated, of: {', '.join(allowed)}."]})
    return list(dict.fromkeys(layers))


def parse_filters(county_raw, kind_raw) -> Filters:
    county_id = None
    if county_raw not in (None, ""):
        # ASCII digits naming a row: from 1 to the end of PostgreSQL's integer.
        if not re.fullmatch(r"[0-9]{1,10}", str(county_raw)) or not 1 <= int(county_raw) <= 2**31 - 1:
            raise InvalidInput("county must be a whole number from 1 to 2147483647",
                               {"county": ["Must be a whole number from 1 to 2147483647."]})
        county_id = int(county_raw)
    kind = kind_raw or None
    if kind is not None and kind not in ENTERPRISE_KINDS:
        raise InvalidInput("unknown enterprise kind", {"kind": [f"One of: {', '.join(ENTERPRISE_KINDS)}."]})
    return Filters(county_id, kind)


# ---- distance ------------------------------------------------------------------------------------
def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def bounding_box(lon: float, lat: float, radius_m: float) -> tuple[float, float, float, float]:
    """A lon/lat box that contains the circle (with a margin for the sphere's curvature)."""
    dlat = radius_m / METRES_PER_DEGREE * 1.01
    dlon = radius_m / (METRES_PER_DEGREE * max(math.cos(math.radians(abs(lat) + dlat)), 0.01)) * 1.01
    return lon - dlon, lat - dlat, lon + dlon, lat + dlat


def _point(lon: float, lat: float):
    return cast(func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326), Geography(geometry_type="POINT", srid=4326))


# The generated geography columns exist on PostgreSQL only, so the ORM models do not map them.
_GEOM = {"enterprises": literal_column("enterprises.geom"), "stations": literal_column("data_records.geom")}


def _layer_select(layer: str, user, filters: Filters):
    """The rows of a nearby layer in the caller's scope: (select, lon column, lat column)."""
    if layer == "stations":
        stmt = (select(DataRecord.id, DataRecord.external_id, DataRecord.data, DataRecord.lon, DataRecord.lat,
                       Enterprise.id.label("enterprise_id"), Enterprise.name.label("enterprise_name"),
                       Enterprise.county_id)
                .join(Enterprise, Enterprise.id == DataRecord.enterprise_id)
                .where(DataRecord.kind == STATION_KIND, DataRecord.status == REC_OFFICIAL))
        lon, lat = DataRecord.lon, DataRecord.lat
    else:
        stmt = select(Enterprise.id, Enterprise.name, Enterprise.kind, Enterprise.address, Enterprise.lon,
                      Enterprise.lat, Enterprise.county_id)
        lon, lat = Enterprise.lon, Enterprise.lat
    stmt = stmt.where(access.enterprise_scope(user), lon.isnot(None), lat.isnot(None))
    if filters.county_id is not None:
        stmt = stmt.where(Enterprise.county_id == filters.county_id)
    if filters.kind is not None:
        stmt = stmt.where(Enterprise.kind == filters.kind)
    return stmt, lon, lat


def nearby_statement(layer: str, dialect: str, user, lon: float, lat: float, radius_m: float,
                     filters: Filters = Filters()):
    """The SQL of one nearby layer. On PostgreSQL it selects ``distance_m`` and is ordered by it."""
    stmt, lon_col, lat_col = _layer_select(layer, user, filters)
    if dialect == "postgresql":
        geom, here = _GEOM[layer], _point(lon, lat)
        # ST_DWithin on the geography column is what lets the planner use the GiST index.
        distance = func.ST_Distance(geom, here).label("distance_m")
        return stmt.add_columns(distance).where(func.ST_DWithin(geom, here, radius_m)).order_by(distance)
    west, south, east, north = bounding_box(lon, lat, radius_m)
    return stmt.where(lon_col.between(west, east), lat_col.between(south, north))


def _row_dict(layer: str, row, distance: float) -> dict:
    if layer == "stations":
        data = row.data or {}
        return {"id": row.id, "external_id": row.external_id, "name": data.get("name") or row.external_id,
                "station_type": data.get("station_type"), "enterprise_id": row.enterprise_id,
                "enterprise": row.enterprise_name, "county_id": row.county_id, "lon": row.lon, "lat": row.lat,
                "distance_m": round(distance, 1)}
    return {"id": row.id, "name": row.name, "kind": row.kind, "address": row.address, "county_id": row.county_id,
            "lon": row.lon, "lat": row.lat, "distance_m": round(distance, 1)}


def nearby(session, dialect: str, user, lon: float, lat: float, radius_m: float,
           layers=NEARBY_LAYERS, filters: Filters = Filters()) -> dict[str, list[dict]]:
    """Per layer, what lies within ``radius_m`` metres of (lon, lat), nearest first, with its distance."""
    found = {}
    for layer in layers:
        rows = session.execute(nearby_statement(layer, dialect, user, lon, lat, radius_m, filters)).all()
        if dialect == "postgresql":
            items = [_row_dict(layer, r, r.distance_m) for r in rows]
        else:
            measured = ((r, haversine_m(lon, lat, r.lon, r.lat)) for r in rows)
            items = [_row_dict(layer, r, d) for r, d in sorted(
                (m for m in measured if m[1] <= radius_m), key=lambda m: (m[1], m[0].id))]
        found[layer] = items
    return found


# ---- cases ------------------------------------------------------------------------------------------
def _case_lon_lat():
    # Accident reports carry the place itself; other cases are shown at their enterprise.
    return Case.data["lon"].as_float(), Case.data["lat"].as_float()


def case_location(session, case: Case) -> tuple[float, float] | None:
    data = case.data or {}
    lon, lat = data.get("lon"), data.get("lat")
    if isinstance(lon, int | float) and isinstance(lat, int | float) and not isinstance(lon, bool):
        return float(lon), float(lat)
    if case.enterprise_id is not None:
        ent = session.get(Enterprise, case.enterprise_id)
        if ent is not None and ent.lon is not None and ent.lat is not None:
            return ent.lon, ent.lat
    return None


# ---- map features --------------------------------------------------------------------------------
def _feature(lon: float, lat: float, props: dict) -> dict:
    # GeoJSON (RFC 7946) positions are [longitude, latitude].
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": props}


def _filtered(stmt, filters: Filters, county_col):
    if filters.county_id is not None:
        stmt = stmt.where(county_col == filters.county_id)
    if filters.kind is not None:
        stmt = stmt.where(Enterprise.kind == filters.kind)
    return stmt


def enterprise_features(session, user, filters: Filters) -> list[dict]:
    stmt = (select(Enterprise.id, Enterprise.name, Enterprise.kind, Enterprise.address, Enterprise.lon,
                   Enterprise.lat, Enterprise.county_id, Region.name.label("county"))
            .join(Region, Region.id == Enterprise.county_id)
            .where(access.enterprise_scope(user), Enterprise.lon.isnot(None), Enterprise.lat.isnot(None)))
    rows = session.execute(_filtered(stmt, filters, Enterprise.county_id).order_by(Enterprise.id)).all()
    return [_feature(r.lon, r.lat, {"layer": "enterprises", "id": r.id, "name": r.name, "kind": r.kind,
                                    "address": r.address, "county_id": r.county_id, "county": r.county})
            for r in rows]


def station_features(session, user, filters: Filters) -> list[dict]:
    stmt, _lon, _lat = _layer_select("stations", user, filters)
    rows = session.execute(stmt.add_columns(Enterprise.kind).order_by(DataRecord.id)).all()
    return [_feature(r.lon, r.lat, {"layer": "stations", "id": r.id, "external_id": r.external_id,
                                    "name": (r.data or {}).get("name") or r.external_id,
                                    "station_type": (r.data or {}).get("station_type"),
                                    "enterprise_id": r.enterprise_id, "enterprise": r.enterprise_name,
                                    "enterprise_kind": r.kind, "county_id": r.county_id})
            for r in rows]


def camera_features(session, user, filters: Filters) -> list[dict]:
    """The located cameras (A1.7, A2.4, A3.4) the enterprises reported, with their site and stream address."""
    stmt = (select(DataRecord.id, DataRecord.external_id, DataRecord.data, DataRecord.lon, DataRecord.lat,
                   Enterprise.id.label("enterprise_id"), Enterprise.name.label("enterprise_name"),
                   Enterprise.county_id)
            .join(Enterprise, Enterprise.id == DataRecord.enterprise_id)
            .where(DataRecord.kind == CAMERA_KIND, DataRecord.status == REC_OFFICIAL, access.enterprise_scope(user),
                   DataRecord.lon.isnot(None), DataRecord.lat.isnot(None)))
    rows = session.execute(_filtered(stmt, filters, Enterprise.county_id).order_by(DataRecord.id)).all()
    return [_feature(r.lon, r.lat, {"layer": "cameras", "id": r.id, "external_id": r.external_id,
                                    "name": (r.data or {}).get("name") or r.external_id,
                                    "site": (r.data or {}).get("site") or "",
                                    "stream_url": (r.data or {}).get("stream_url") or "",
                                    "enterprise_id": r.enterprise_id, "enterprise": r.enterprise_name,
                                    "county_id": r.county_id})
            for r in rows]


def warning_features(session, user, filters: Filters) -> list[dict]:
    stmt = (select(EarlyWarning.id, EarlyWarning.level, EarlyWarning.category, EarlyWarning.description,
                   EarlyWarning.site, EarlyWarning.quantity, EarlyWarning.case_id, EarlyWarning.county_id,
                   EarlyWarning.started_at, Enterprise.id.label("enterprise_id"),
                   Enterprise.name.label("enterprise"), Enterprise.lon, Enterprise.lat)
            .join(Enterprise, Enterprise.id == EarlyWarning.enterprise_id)
            .where(EarlyWarning.status == WARNING_OPEN, access.warning_scope(user),
                   Enterprise.lon.isnot(None), Enterprise.lat.isnot(None)))
    rows = session.execute(_filtered(stmt, filters, EarlyWarning.county_id)
                           .order_by(EarlyWarning.level, EarlyWarning.id)).all()
    return [_feature(r.lon, r.lat, {"layer": "warnings", "id": r.id, "level": r.level, "category": r.category,
                                    "description": r.description, "site": r.site, "quantity": r.quantity,
                                    "case_id": r.case_id, "county_id": r.county_id,
                                    "started_at": r.started_at.isoformat() if r.started_at else None,
                                    "enterprise_id": r.enterprise_id, "enterprise": r.enterprise})
            for r in rows]


def case_features(session, user, filters: Filters) -> list[dict]:
    case_lon, case_lat = _case_lon_lat()
    stmt = (select(Case.id, Case.title, Case.process_key, Case.status, Case.county_id, Case.created_at,
                   case_lon.label("case_lon"), case_lat.label("case_lat"),
                   Enterprise.id.label("enterprise_id"), Enterprise.name.label("enterprise"),
                   Enterprise.lon, Enterprise.lat)
            .outerjoin(Enterprise, Enterprise.id == Case.enterprise_id)
            .where(Case.status.in_(CASE_OPEN_STATUSES), access.case_scope(user),
                   or_(and_(case_lon.isnot(None), case_lat.isnot(None)),
                       and_(Enterprise.lon.isnot(None), Enterprise.lat.isnot(None)))))
    rows = session.execute(_filtered(stmt, filters, Case.county_id).order_by(Case.id)).all()
    features = []
    for r in rows:
        own = r.case_lon is not None and r.case_lat is not None
        lon, lat = (r.case_lon, r.case_lat) if own else (r.lon, r.lat)
        features.append(_feature(lon, lat, {
            "layer": "cases", "id": r.id, "title": r.title, "process": r.process_key,
            "suspended": r.status == CASE_SUSPENDED, "county_id": r.county_id,
            "enterprise_id": r.enterprise_id, "enterprise": r.enterprise, "located": "case" if own else "enterprise",
            "created_at": r.created_at.isoformat() if r.created_at else None}))
    return features


def checkin_features(session, user, filters: Filters) -> list[dict]:
    """Where inspectors checked in: an inspection's ``checkin`` (the browser's location and its accuracy
    when the checklist was sent), open or closed."""
    lat = Case.data[("checkin", "latitude")].as_float()
    lon = Case.data[("checkin", "longitude")].as_float()
    accuracy = Case.data[("checkin", "accuracy_m")].as_float()
    stmt = (select(Case.id, Case.title, Case.process_key, Case.county_id, Case.status, Case.completed_at,
                   lon.label("lon"), lat.label("lat"), accuracy.label("accuracy_m"),
                   Enterprise.id.label("enterprise_id"), Enterprise.name.label("enterprise"))
            .outerjoin(Enterprise, Enterprise.id == Case.enterprise_id)
            .where(access.case_scope(user), Case.process_key == "inspection", lon.isnot(None), lat.isnot(None)))
    rows = session.execute(_filtered(stmt, filters, Case.county_id).order_by(Case.id)).all()
    return [_feature(r.lon, r.lat, {
        "layer": "checkins", "id": r.id, "title": r.title, "process": r.process_key, "county_id": r.county_id,
        "status": r.status, "enterprise_id": r.enterprise_id, "enterprise": r.enterprise,
        "accuracy_m": r.accuracy_m, "completed_at": r.completed_at.isoformat() if r.completed_at else None})
        for r in rows]


LAYER_FEATURES = {"enterprises": enterprise_features, "stations": station_features, "cameras": camera_features,
                  "warnings": warning_features, "cases": case_features, "checkins": checkin_features}


def features(session, user, layers, filters: Filters = Filters()) -> dict:
    """A GeoJSON FeatureCollection of the chosen layers in the caller's scope."""
    collected = []
    for layer in layers:
        collected.extend(LAYER_FEATURES[layer](session, user, filters))
    return {"type": "FeatureCollection", "features": collected}


def visible_counties(session, user) -> list[dict]:
    """The counties the caller may see, each placed at the middle of its located enterprises
    (regions have no coordinates of their own): labels for the map without any tiles."""
    stmt = (select(Region.id, Region.name, Region.code, func.avg(Enterprise.lon).label("lon"),
                   func.avg(Enterprise.lat).label("lat"))
            .outerjoin(Enterprise, and_(Enterprise.county_id == Region.id, Enterprise.lon.isnot(None),
                                        Enterprise.lat.isnot(None)))
            .where(Region.level == "county").group_by(Region.id, Region.name, Region.code).order_by(Region.code))
    if user.role != ROLE_CITY_ADMIN:
        stmt = stmt.where(Region.id == user.county_id) if user.county_id is not None else stmt.where(false())
    return [{"id": r.id, "name": r.name, "code": r.code,
             "lon": float(r.lon) if r.lon is not None else None, "lat": float(r.lat) if r.lat is not None else None}
            for r in session.execute(stmt)]
