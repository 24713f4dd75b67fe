"""What a cylinder's QR label opens (/c/<token>), signed in or not.

The label carries a signed token of (enterprise, code), not the bare code, so nobody can walk the codes of
a city's cylinders by guessing addresses; a token changed by one character names nothing (404). A person
signed in who may see the enterprise is sent on to the full trace; anyone else sees only the cylinder's
code, its enterprise and whether its inspection is valid, which is what a user checking a cylinder at the
door needs, and nothing of where it went or to whom.
"""
from flask import Blueprint, current_app, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeSerializer

from models import Enterprise
from web.extensions import db
from workflows import access
from workflows.errors import NotFound
from workflows.services import cylinder_trace
from workflows.services.shanghai_time import today

bp = Blueprint("cylinder_scan", __name__)
SALT = "gasflow.cylinder-label"  # a token of another purpose signed with the same key is refused here


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt=SALT)


def token_for(enterprise_id: int, code: str) -> str:
    return _serializer().dumps([enterprise_id, code])


def public_url(enterprise_id: int, code: str) -> str:
    """The address a label prints: the platform's public address, not the one this request came by."""
    return current_app.config["BASE_URL"] + url_for("cylinder_scan.scan", token=token_for(enterprise_id, code))


def read_token(token: str) -> tuple[int, str]:
    try:
        enterprise_id, code = _serializer().loads(token)
    except (BadSignature, TypeError, ValueError):
        raise NotFound(_("There is no such cylinder label.")) from None
    if not isinstance(enterprise_id, int) or not cylinder_trace.valid_code(code):
        raise NotFound(_("There is no such cylinder label."))
    return enterprise_id, code


@bp.get("/c/<token>")
def scan(token):
    enterprise_id, code = read_token(token)
    enterprise = db.session.get(Enterprise, enterprise_id)
    if enterprise is None:
        raise NotFound(_("There is no such cylinder label."))
    if current_user.is_authenticated and access.can_see_enterprise(current_user, enterprise):
        return redirect(url_for("cylinders.trace", code=code, enterprise=enterprise_id))
    found = cylinder_trace.public_validity(db.session, enterprise_id, code, today())
    if found is None:
        raise NotFound(_("There is no such cylinder label."))
    name, validity = found
    return render_template("cylinders/public.html", code=code, enterprise_name=name, validity=validity)
