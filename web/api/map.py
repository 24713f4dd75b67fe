"""REST API v1, the map (O5): layers as GeoJSON and "what is near here", answered by the database."""
from flask import jsonify, request, url_for
from werkzeug.routing import BuildError

from web import api
from web.api import area
from web.common import taskflow
from web.common.rights import api_scope
from web.extensions import db
from workflows.errors import InvalidInput
from workflows.services import camera_streams, spatial

bp = area("map_api", __name__)


def _dialect() -> str:
    return db.engine.dialect.name


def _warnings_page(level: int) -> str:
    try:
        return url_for("warnings.index", level=level)
    except BuildError:  # installations without the warnings pages still have the API
        return f"/api/v1/warnings?status=open&level={level}"


def _site_page(enterprise_id: int, site: str) -> str:
    """The station's page: its sensors, open warnings and cameras."""
    return url_for("readings.site", enterprise=enterprise_id, site=site)


def _links(collection: dict) -> dict:
    """Each feature gets the page it opens, so the map's popups need no URL rules of their own."""
    for feature in collection["features"]:
        p = feature["properties"]
        if p["layer"] == "checkins":
            p["url"] = url_for("cases.detail", case_id=p["id"])
        elif p["layer"] == "cases":
            p["url"] = url_for("cases.detail", case_id=p["id"])
            p["nearby_url"] = url_for("map_api.case_nearby", case_id=p["id"])
        elif p["layer"] == "warnings":
            p["url"] = (url_for("cases.detail", case_id=p["case_id"]) if p.get("case_id")
                        else _warnings_page(p["level"]))
        elif p["layer"] == "enterprises":
            p["url"] = url_for("cases.index", q=p["name"])
        elif p["layer"] == "cameras":
            p["stream_kind"] = camera_streams.stream_kind(p["stream_url"])
            p["url"] = _site_page(p["enterprise_id"], p["site"])
        else:
            p["url"] = _site_page(p["enterprise_id"], p["name"])
    return collection


@bp.get("/map/features")
@api_scope("read")
def map_features():
    """GeoJSON FeatureCollection of ?layers=enterprises,stations,cameras,warnings,cases,checkins (default all) in the
    caller's scope, filtered by ?county= (id) and ?kind= (bottled, pipeline, vehicle). Points are [lon, lat]."""
    layers = spatial.parse_layers(request.args.get("layers"), spatial.FEATURE_LAYERS)
    filters = spatial.parse_filters(request.args.get("county"), request.args.get("kind"))
    collection = _links(spatial.features(db.session, api.me(), layers, filters))
    response = jsonify(collection)
    response.mimetype = "application/geo+json"
    return response


def _nearby_reply(lon: float, lat: float, radius: float, layers: list[str], **extra):
    found = spatial.nearby(db.session, _dialect(), api.me(), lon, lat, radius, layers)
    return jsonify({"center": {"lon": lon, "lat": lat}, "radius_m": radius, **extra, **found})


@bp.get("/map/nearby")
@api_scope("read")
def map_nearby():
    """Stations and enterprises within ?radius_m= (default 2000, at most 50 000) of ?lon=&lat=, nearest first,
    each with distance_m; ?layers=stations,enterprises."""
    lon, lat = spatial.parse_point(request.args.get("lon"), request.args.get("lat"))
    radius = spatial.parse_radius(request.args.get("radius_m"))
    layers = spatial.parse_layers(request.args.get("layers"), spatial.NEARBY_LAYERS)
    return _nearby_reply(lon, lat, radius, layers)


@bp.get("/cases/<int:case_id>/nearby")
@api_scope("read")
def case_nearby(case_id):
    """What lies around a case's place (an accident's reported lon/lat, else its enterprise), as /map/nearby."""
    case = taskflow.visible_case(case_id, api.me())
    radius = spatial.parse_radius(request.args.get("radius_m"))
    layers = spatial.parse_layers(request.args.get("layers"), spatial.NEARBY_LAYERS)
    where = spatial.case_location(db.session, case)
    if where is None:
        raise InvalidInput("the case has no location", {"case": ["Has no location."]})
    return _nearby_reply(where[0], where[1], radius, layers, case=case.id)
