"""The map page (O5): enterprises, stations, open warnings and open cases over Leaflet, drawn from
/api/v1/map/features; without a configured tile server it draws a plain lon/lat grid."""
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, make_response, render_template, send_file, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from models import ENTERPRISE_KINDS, ROLE_CITY_ADMIN
from web.common.labels import process_names
from web.extensions import db
from workflows.permissions import has_right
from workflows.services import spatial

bp = Blueprint("map_pages", __name__)
# Shaoxing and its six counties (GB/T 2260 codes), vendored from npm under the MIT licence: see SOURCE.md
# beside the file. Drawn under the markers, so the map shows where it is without any tile server.
BOUNDARIES = Path(__file__).resolve().parent.parent / "static" / "vendor" / "shaoxing" / "shaoxing.geojson"
KIND_LABELS = {"bottled": _l("Bottled gas"), "pipeline": _l("Pipeline gas"), "vehicle": _l("Vehicle refuelling")}
LEVEL_LABELS = {1: _l("Level 1 warning"), 2: _l("Level 2 warning"), 3: _l("Level 3 warning")}


def _tile_origin(url: str) -> str | None:
    """The CSP source of the configured tiles; Leaflet's {s} subdomain placeholder becomes a wildcard."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    host = parts.netloc
    if "{" in host:
        if not host.startswith("{s}."):
            return parts.scheme + ":"  # CSP wildcards only lead a host name: allow the scheme
        host = "*" + host[3:]
    return f"{parts.scheme}://{host}"


@bp.get("/map")
@login_required
def index():
    user = current_user._get_current_object()
    if not has_right(user, "map.view"):
        abort(403)
    counties = spatial.visible_counties(db.session, user)
    tile_url = current_app.config.get("TILE_URL") or ""
    origin = _tile_origin(tile_url) if tile_url else None
    response = make_response(render_template(
        "map.html", counties=counties, kinds=ENTERPRISE_KINDS, pick_county=user.role == ROLE_CITY_ADMIN,
        enterprise_kind_labels={k: str(v) for k, v in KIND_LABELS.items()},
        warning_level_labels={k: str(v) for k, v in LEVEL_LABELS.items()}, process_labels=process_names(),
        tile_url=tile_url if origin else "", tile_attribution=current_app.config.get("TILE_ATTRIBUTION") or "",
        boundaries_url=url_for("map_pages.boundaries")))
    if origin:
        # Tiles are the only thing the page loads from elsewhere, and only when configured.
        response.headers["Content-Security-Policy"] = (
            f"default-src 'self'; img-src 'self' data: blob: {origin}; style-src 'self' 'unsafe-inline'; "
            "frame-ancestors 'none'")
    return response


@bp.get("/map/shaoxing.geojson")
def boundaries():
    """The outlines of Shaoxing city and its six counties (public, as any map's base layer is)."""
    return send_file(BOUNDARIES, mimetype="application/geo+json", max_age=86400)
