"""The readings pages (A1.8, A2.5, A3.5): one sensor's trend with its threshold lines and warnings, and a
site's page with its sensors and cameras (A1.7, A2.4, A3.4). Scoped as the readings are: an enterprise its
own sites, a county its county, the city all."""
from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from forms.data_kinds import STATION_TYPES
from forms.warning import LEVEL_CHOICES, QUANTITY_CHOICES
from models import REC_OFFICIAL, WARNING_OPEN, DataRecord, EarlyWarning, Enterprise
from web.api import monitoring as monitoring_api
from web.common import dataflow
from web.common.params import small_int
from web.extensions import db
from workflows import access
from workflows.engine import clock
from workflows.services import camera_streams, reading_series
from workflows.services.early_warnings import UNITS
from workflows.text import has_bad_text

bp = Blueprint("readings", __name__, url_prefix="/monitoring")
WINDOW_LABELS = (("24h", _l("24 hours")), ("7d", _l("7 days")), ("30d", _l("30 days")))
MAX_CAMERAS = 200
SHORT_LEVELS = {1: _l("Level 1"), 2: _l("Level 2"), 3: _l("Level 3")}  # what fits on a marker of the chart


def _site_value(enterprise_id: int, site: str) -> str:
    return f"{enterprise_id}:{site}"


def _sensor_value(sensor: str, quantity: str) -> str:
    return f"{sensor}:{quantity}"


def _chosen_site(sites: list[dict]) -> dict | None:
    """The site of ?site=<enterprise>:<name> (or ?enterprise=&site= from links), else the first."""
    raw, enterprise = request.args.get("site") or "", request.args.get("enterprise") or ""
    if enterprise:
        wanted = (small_int(enterprise), raw)
    elif raw:
        head, _sep, name = raw.partition(":")
        wanted = (small_int(head), name)
    else:
        return sites[0] if sites else None
    for site in sites:
        if (site["enterprise_id"], site["site"]) == wanted:
            return site
    return None


def _chosen_sensor(sensors: list[dict]) -> dict | None:
    raw, quantity = request.args.get("sensor") or "", request.args.get("quantity") or ""
    if not raw:
        return sensors[0] if sensors else None
    for sensor in sensors:
        if _sensor_value(sensor["sensor"], sensor["quantity"]) == raw or (
                sensor["sensor"] == raw and sensor["quantity"] == (quantity or sensor["quantity"])):
            return sensor
    return sensors[0] if sensors else None


def _site_of_link(user) -> dict | None:
    """A site named by ?enterprise=&site= that the caller may see, even if it sent nothing this month."""
    enterprise = small_int(request.args.get("enterprise") or "")
    name = (request.args.get("site") or "").strip()
    if enterprise is None or not name or len(name) > 128 or has_bad_text(name):
        return None
    ent = db.session.scalar(select(Enterprise).where(Enterprise.id == enterprise, access.enterprise_scope(user)))
    return {"enterprise_id": ent.id, "site": name, "enterprise": ent.name} if ent is not None else None


@bp.get("/readings")
@login_required
def index():
    """Pick a site, then a sensor; its trend over 24 h, 7 d or 30 d."""
    user = current_user._get_current_object()
    s = db.session
    sites = reading_series.sites(s, user, clock.now())
    site = _chosen_site(sites)
    if site is None and request.args.get("enterprise"):
        site = _site_of_link(user)
        if site is not None:
            sites.append(site)
    if site is None and (request.args.get("site") or request.args.get("enterprise")):
        abort(404)  # another county's site, or none of that name
    sensors = reading_series.sensors(s, user, site["enterprise_id"], site["site"]) if site else []
    if site is not None and not sensors:
        abort(404)  # a link to a site without readings
    sensor = _chosen_sensor(sensors)
    window = request.args.get("window") or reading_series.DEFAULT_WINDOW
    if window not in reading_series.WINDOWS:
        window = reading_series.DEFAULT_WINDOW
    series = None
    if sensor is not None:
        chosen = reading_series.Series(site["enterprise_id"], site["site"], sensor["sensor"], sensor["quantity"])
        series = monitoring_api.series_dict(user, chosen, window,
                                            lambda warning_id: url_for("warnings.detail", warning_id=warning_id))
    quantities, levels = dict(QUANTITY_CHOICES), dict(LEVEL_CHOICES)
    text = {"value": _("Value"), "mean": _("Mean"), "min": _("Minimum"), "max": _("Maximum"),
            "threshold": _("Threshold"), "warning": _("Warning"),
            "levels": {str(k): str(v) for k, v in SHORT_LEVELS.items()},
            "quantity": str(quantities.get(sensor["quantity"], "")) if sensor else "",
            "no_points": _("No readings in this period.")}
    return render_template(
        "readings.html", sites=sites, site=site, sensors=sensors, sensor=sensor, window=window, series=series,
        windows=WINDOW_LABELS, quantities=quantities, levels=levels, units=UNITS, text=text,
        site_value=_site_value, sensor_value=_sensor_value)


def _cameras(user, enterprise_id: int, site: str) -> list[dict]:
    """The site's official camera records: name, stream address and how it is offered (hls, rtsp, rtmp, web)."""
    kind = dataflow.kind_or_404("camera")
    rows = db.session.scalars(dataflow.find_records(user, kind, REC_OFFICIAL, enterprise_id=enterprise_id)
                              .order_by(DataRecord.id).limit(MAX_CAMERAS))
    cameras = []
    for record in rows:
        data = record.data or {}
        if (data.get("site") or "").strip() != site:
            continue
        url = data.get("stream_url") or ""
        cameras.append({"id": record.id, "name": data.get("name") or "", "url": url,
                        "kind": camera_streams.stream_kind(url)})
    return cameras


def _station(user, enterprise_id: int, site: str) -> dict | None:
    kind = dataflow.kind_or_404("station")
    for record in db.session.scalars(dataflow.find_records(user, kind, REC_OFFICIAL, enterprise_id=enterprise_id)
                                     .order_by(DataRecord.id)):
        if ((record.data or {}).get("name") or "").strip() == site:
            return {"record": record, "data": record.data or {}}
    return None


@bp.get("/site")
@login_required
def site():
    """One site (station): what it is, its sensors with links to their trends, its open warnings and its cameras.
    Reached from the map and from the readings page; without a site named, the readings page picks one."""
    user = current_user._get_current_object()
    if not request.args.get("enterprise") and not request.args.get("site"):
        return redirect(url_for("readings.index"))
    place = _site_of_link(user)
    if place is None:
        abort(404)
    s = db.session
    sensors = reading_series.sensors(s, user, place["enterprise_id"], place["site"])
    station = _station(user, place["enterprise_id"], place["site"])
    cameras = _cameras(user, place["enterprise_id"], place["site"])
    if not sensors and station is None and not cameras:
        abort(404)
    warnings = s.scalars(select(EarlyWarning).where(
        access.warning_scope(user), EarlyWarning.enterprise_id == place["enterprise_id"],
        EarlyWarning.site == place["site"], EarlyWarning.status == WARNING_OPEN)
        .order_by(EarlyWarning.level, EarlyWarning.started_at.desc()).limit(50)).all()
    origins = sorted({o for c in cameras if (o := camera_streams.player_origin(c["url"]))})
    response = make_response(render_template(
        "site.html", place=place, sensors=sensors, station=station, cameras=cameras, warnings=warnings,
        quantities=dict(QUANTITY_CHOICES), levels=dict(LEVEL_CHOICES), station_types=dict(STATION_TYPES),
        site_value=_site_value, sensor_value=_sensor_value, any_hls=bool(origins)))
    if origins:
        # The player fetches the playlist and its segments from the cameras' hosts and feeds them to the
        # <video> through a blob: address; nothing else is loosened.
        allowed = " ".join(origins)
        response.headers["Content-Security-Policy"] = (
            f"default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
            f"media-src 'self' blob: {allowed}; connect-src 'self' {allowed}; frame-ancestors 'none'")
    return response

