"""The enterprise admin's own staff accounts: create one (a one-time password, shown once, changed at
the first sign-in), deactivate and reactivate them. Only accounts of the admin's enterprise, only the
staff role: an enterprise cannot make itself another admin or reach another enterprise."""
from datetime import UTC, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from forms.enterprises import StaffAccountForm
from models import ROLE_ENTERPRISE_STAFF, User
from web.common.rights import check_right
from web.common.security import hash_password
from web.common.unit_of_work import writes_done
from web.extensions import db
from workflows.services import password_rules, sign_ins

bp = Blueprint("staff", __name__, url_prefix="/enterprise/staff")


@bp.before_request
@login_required
def enterprise_admins_only():
    check_right(current_user, "staff.manage", _("Only the enterprise's admin manages its staff accounts."))
    if current_user.enterprise_id is None:
        abort(403)


def _page(form, status=200, password=None, created=None):
    people = db.session.scalars(select(User).where(User.enterprise_id == current_user.enterprise_id)
                                .order_by(User.role, User.username)).all()
    return render_template("account_staff.html", form=form, people=people, password=password,
                           created=created), status


@bp.get("")
def index():
    return _page(StaffAccountForm())


@bp.post("")
def create():
    form = StaffAccountForm()
    if not form.validate():
        return _page(form, 422)
    username = form.username.data.strip()
    if db.session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        form.username.errors = [_("This username is taken.")]
        return _page(form, 422)
    me = current_user._get_current_object()
    account = User(username=username, display_name=form.display_name.data.strip(), role=ROLE_ENTERPRISE_STAFF,
                   county_id=me.enterprise.county_id, enterprise_id=me.enterprise_id,
                   email=(form.email.data or "").strip(), password_hash="", active=True)
    db.session.add(account)
    db.session.flush()
    password = password_rules.temporary_password()
    password_rules.set_password(db.session, account, password, hash_password, datetime.now(UTC), must_change=True)
    writes_done()
    # The one-time password is in this answer only; the person changes it at the first sign-in.
    return _page(StaffAccountForm(formdata=None), 201, password=password, created=account)


@bp.post("/<int:user_id>/active")
def set_active(user_id):
    person = db.session.get(User, user_id)
    if person is None or person.enterprise_id != current_user.enterprise_id or person.role != ROLE_ENTERPRISE_STAFF:
        abort(404)
    wanted = request.form.get("active")
    if wanted not in ("0", "1"):
        abort(400)
    person.active = wanted == "1"
    if not person.active:
        sign_ins.end_all(db.session, person.id)
    writes_done()
    flash(_("%(name)s can sign in again.", name=person.display_name) if person.active
          else _("%(name)s is deactivated: no sign-in, no API key.", name=person.display_name), "success")
    return redirect(url_for(".index"), 303)
