"""REST API v1 (/api/v1): the parent of the API's areas, and the one place that decides who may call.

Every area's blueprint is made by ``area``: its routes sit under /api/v1, each request is authenticated
first (``authentication.authenticate``: a bearer token with its scopes, or the browser's session with its
CSRF token, then the POST's Idempotency-Key), and the pages' form CSRF check is left to that. The areas
keep their own blueprint names, so the endpoints (``api.list_cases``, ``data_api.submit``) and the scopes
declared for them stay as they were: Flask's nested blueprints would rename them (``api.data_api.submit``).
"""
from flask import Blueprint

from web.extensions import csrf

from .authentication import authenticate, me
from .inputs import MAX_PER_PAGE, body, int_arg, page_args, paged

PREFIX = "/api/v1"
__all__ = ["MAX_PER_PAGE", "PREFIX", "area", "authenticate", "body", "int_arg", "me", "page_args", "paged",
           "register"]


def area(name: str, import_name: str) -> Blueprint:
    """A blueprint for one area of the API, behind the API's authentication."""
    bp = Blueprint(name, import_name, url_prefix=PREFIX)
    bp.before_request(authenticate)
    csrf.exempt(bp)  # a browser session proves itself with X-CSRFToken, checked by authenticate
    return bp


def register(app) -> None:
    """Every area of the API, with the OpenAPI document that describes them."""
    # openapi adds its route to the "api" area: imported before that area is registered
    from . import cases, control, cylinders, data, measures, monitoring, openapi, registers  # noqa: F401
    from . import map as map_area

    for module in (cases, monitoring, data, map_area, registers, measures, cylinders):
        app.register_blueprint(module.bp)
