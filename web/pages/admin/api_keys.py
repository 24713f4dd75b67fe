"""API keys (bearer tokens) of the signed-in user: create one (the secret is shown once, only its hash
is kept), see them with their scopes, expiry and last use, revoke them. The city admin revokes any."""
from datetime import UTC, datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from forms.users import ApiKeyForm
from models import ApiToken
from web.common.rights import SCOPE_LABELS
from web.common.security import TokenError, new_token, revoke_token
from web.common.unit_of_work import writes_done
from web.extensions import db
from workflows.permissions import allowed_scopes, has_right

bp = Blueprint("api_keys", __name__, url_prefix="/api-keys")


@bp.before_request
@login_required
def signed_in():
    pass


def _form() -> ApiKeyForm:
    form = ApiKeyForm()
    form.scopes.choices = [(s, SCOPE_LABELS[s]) for s in allowed_scopes(current_user)]  # what it allows, in words
    if request.method == "GET":
        form.scopes.data = ["read"]
    return form


def _page(form, secret: str | None = None, status: int = 200):
    tokens = db.session.scalars(select(ApiToken).where(ApiToken.user_id == current_user.id)
                                .order_by(ApiToken.id.desc())).all()
    return render_template("api_keys.html", form=form, tokens=tokens, secret=secret, now=datetime.now(UTC)), status


@bp.get("")
def index():
    return _page(_form())


@bp.post("")
def create():
    form = _form()
    if not form.validate():
        return _page(form, status=422)
    user = current_user._get_current_object()
    try:
        raw = new_token(db.session, user, form.name.data, datetime.now(UTC) + timedelta(days=form.days.data),
                        scopes=form.scopes.data)
    except TokenError as exc:
        field = {"expires_at": "days"}.get(exc.field, exc.field)
        form[field].errors = [exc.message]
        return _page(form, status=422)
    writes_done()
    # The secret is in this one answer only: it is not stored, and reloading the page does not show it.
    return _page(_form(), secret=raw, status=201)


@bp.post("/<int:token_id>/revoke")
def revoke(token_id):
    token = db.session.get(ApiToken, token_id)
    managing = has_right(current_user, "users.manage")
    if token is None or (token.user_id != current_user.id and not managing):
        abort(404)
    if revoke_token(db.session, token, current_user):
        writes_done()
        flash(_("API key %(prefix)s… revoked.", prefix=token.prefix), "success")
    back = request.form.get("next", "")
    if managing and back.startswith("/admin/users"):
        return redirect(back, 303)
    return redirect(url_for("api_keys.index"), 303)
