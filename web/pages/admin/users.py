"""User administration (O8, GB/T 22239 level 3 central account and rights management): the city admin
lists the accounts, creates them, grants and revokes rights per operator, deactivates and reactivates
accounts, and sees and revokes any API key."""
from datetime import UTC, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from forms.users import UserCreateForm, field_name, rights_form
from models import ApiToken, Enterprise, Region, User, UserRight
from web.common.params import small_int
from web.common.rights import label
from web.common.security import hash_password
from web.common.unit_of_work import writes_done
from web.extensions import db
from workflows.errors import Forbidden
from workflows.permissions import grantable, has_right, overrides, role_default
from workflows.services import sign_ins

bp = Blueprint("users_admin", __name__, url_prefix="/admin/users")


@bp.before_request
@login_required
def users_managers_only():
    if not has_right(current_user, "users.manage"):
        raise Forbidden(_("Only the city admin manages users and their rights."))


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.get("")
def index():
    q = request.args.get("q", "").strip()[:64]
    stmt = select(User).options(selectinload(User.county), selectinload(User.enterprise),
                                selectinload(User.right_overrides)).order_by(User.username)
    if q:
        stmt = stmt.where(User.username.contains(q, autoescape=True) | User.display_name.contains(q, autoescape=True))
    users = db.session.scalars(stmt).all()
    return render_template("admin/users.html", users=users, q=q)


def _create_form() -> UserCreateForm:
    form = UserCreateForm()
    form.county_id.choices = [("", "—")] + [(str(r.id), r.name) for r in db.session.scalars(
        select(Region).where(Region.level == "county").order_by(Region.code))]
    form.enterprise_id.choices = [("", "—")] + [(str(e.id), e.name) for e in db.session.scalars(
        select(Enterprise).order_by(Enterprise.county_id, Enterprise.name))]
    return form


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = _create_form()
    if request.method == "GET":
        return render_template("admin/users_new.html", form=form)
    valid = form.validate()
    username = (form.username.data or "").strip()
    if username and db.session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        form.username.errors = [*form.username.errors, _("This username is taken.")]
    elif valid:
        enterprise = db.session.get(Enterprise, int(form.enterprise_id.data)) \
            if form.role.data.startswith("enterprise") else None
        county_id = enterprise.county_id if enterprise else (
            int(form.county_id.data) if form.role.data in ("county_supervisor", "inspector") else None)
        user = User(username=username, display_name=form.display_name.data.strip(), role=form.role.data,
                    county_id=county_id, enterprise_id=enterprise.id if enterprise else None,
                    email=(form.email.data or "").strip(), password_hash=hash_password(form.password.data),
                    active=True)
        db.session.add(user)
        writes_done()
        flash(_("Account %(name)s created.", name=username), "success")
        return redirect(url_for("users_admin.detail", user_id=user.id), 303)
    return render_template("admin/users_new.html", form=form), 422


def _rights_rows(user: User) -> list[dict]:
    set_ = overrides(user)
    return [{"right": r, "label": label(r.key), "default": role_default(user.role, r.key),
             "override": {True: "grant", False: "revoke"}.get(set_.get(r.key), "default"),
             "effective": has_right(user, r.key), "field": field_name(r.key)} for r in grantable(user.role)]


def _detail(user: User, form=None, status: int = 200):
    rows = _rights_rows(user)
    if form is None:
        form = rights_form(grantable(user.role), {row["field"]: row["override"] for row in rows})
    tokens = db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.id.desc())).all()
    return render_template("admin/users_detail.html", user=user, rows=rows, form=form, tokens=tokens,
                           now=datetime.now(UTC)), status


@bp.get("/<int:user_id>")
def detail(user_id):
    return _detail(_user_or_404(user_id))


@bp.post("/<int:user_id>/rights")
def save_rights(user_id):
    """Grants and revocations for one user; they hold from the user's next request."""
    user = _user_or_404(user_id)
    rights = grantable(user.role)
    form = rights_form(rights)
    if not form.validate():
        flash(_("The rights were not saved: see the messages below."), "error")
        return _detail(user, form, 422)
    wanted = {r.key: form[field_name(r.key)].data for r in rights}
    if user.id == current_user.id and wanted.get("users.manage") == "revoke":
        form[field_name("users.manage")].errors = [_("You cannot take this right from yourself.")]
        return _detail(user, form, 422)
    stored = {o.right: o for o in user.right_overrides}
    now = datetime.now(UTC)
    for key, choice in wanted.items():
        row = stored.get(key)
        if choice == "default":
            if row is not None:
                user.right_overrides.remove(row)
            continue
        granted = choice == "grant"
        if row is None:
            user.right_overrides.append(UserRight(right=key, granted=granted, changed_by_id=current_user.id,
                                                  changed_at=now))
        elif row.granted != granted:
            row.granted, row.changed_by_id, row.changed_at = granted, current_user.id, now
    writes_done()
    flash(_("Rights of %(name)s saved.", name=user.username), "success")
    return redirect(url_for("users_admin.detail", user_id=user.id), 303)


@bp.post("/<int:user_id>/active")
def set_active(user_id):
    """Deactivate (no sign-in, no API key works) or reactivate an account."""
    user = _user_or_404(user_id)
    wanted = request.form.get("active")
    if wanted not in ("0", "1"):
        abort(400, "active must be 0 or 1")
    if user.id == current_user.id and wanted == "0":
        flash(_("You cannot deactivate your own account."), "error")
        return _detail(user, status=422)
    user.active = wanted == "1"
    if not user.active:  # reactivating later must not bring back what was signed in before
        sign_ins.end_all(db.session, user.id)
    writes_done()
    flash(_("%(name)s can sign in again.", name=user.username) if user.active
          else _("%(name)s is deactivated: no sign-in, no API key.", name=user.username), "success")
    return redirect(url_for("users_admin.detail", user_id=user.id), 303)


@bp.get("/api-keys")
def all_keys():
    """Every API key of every user, live ones first."""
    status = request.args.get("status", "live")
    stmt = select(ApiToken).options(selectinload(ApiToken.user)).order_by(ApiToken.id.desc())
    now = datetime.now(UTC)
    if status == "live":
        stmt = stmt.where(ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)
    page = min(small_int(request.args.get("page", "1")) or 1, 10**6)
    tokens = db.session.scalars(stmt.limit(200).offset((page - 1) * 200)).all()
    return render_template("api_keys_all.html", tokens=tokens, status=status, now=now, page=page)
