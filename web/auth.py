"""Sign in and out, language choice, and loading the signed-in user."""
from datetime import UTC, datetime, timedelta

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_required, login_user, logout_user
from sqlalchemy import delete, func, select

from forms.auth import LoginForm
from models import LoginFailure, User

from . import notifications
from .extensions import db, login_manager
from .params import small_int
from .security import verify_password

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(user_id: str):
    user = db.session.get(User, small_int(user_id)) if small_int(user_id) is not None else None
    return user if user is not None and user.active else None


# Lockout (GB/T 22239 level 3 asks for it): five failures for one name within the window lock that
# name; fifty from one address throttle the address. Counted in the database so every process agrees.
LOCK_AFTER, THROTTLE_AFTER, WINDOW = 5, 50, timedelta(minutes=15)


def _address() -> str:
    return (request.remote_addr or "unknown")[:64]


def _blocked(username: str, now: datetime) -> str | None:
    since = now - WINDOW
    by_name = db.session.scalar(select(func.count()).where(LoginFailure.username == username,
                                                           LoginFailure.at > since))
    if by_name >= LOCK_AFTER:
        return _("Too many failed sign-ins for this account. Try again in %(n)d minutes.",
                 n=int(WINDOW.total_seconds() // 60))
    by_address = db.session.scalar(select(func.count()).where(LoginFailure.address == _address(),
                                                              LoginFailure.at > since))
    if by_address >= THROTTLE_AFTER:
        return _("Too many failed sign-ins from this address. Try again later.")
    return None


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        name, now = form.username.data.strip()[:64], datetime.now(UTC)
        blocked = _blocked(name, now)
        if blocked:
            flash(blocked, "error")
            return render_template("login.html", form=form), 429
        user = db.session.scalar(select(User).where(User.username == name))
        if not (verify_password(user, form.password.data) and user.active):
            db.session.add(LoginFailure(at=now, username=name, address=_address()))
            db.session.commit()
        else:
            db.session.execute(delete(LoginFailure).where(LoginFailure.username == name))
            db.session.commit()
            locale = session.get("locale")
            session.clear()  # no session fixation: a fresh session for the signed-in user
            if locale:
                session["locale"] = locale  # the language picked on the sign-in page stays
            login_user(user)
            notifications.login_summary(user)
            target = request.args.get("next", "")
            if not target.startswith("/") or target.startswith("//"):
                target = url_for("queue.index")
            return redirect(target)
        flash(_("Wrong username or password."), "error")
    return render_template("login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.get("/locale/<code>")
def set_locale(code):
    if code in ("zh", "en"):
        session["locale"] = code
    target = request.referrer or url_for("queue.index")
    return redirect(target if target.startswith(request.host_url) else url_for("queue.index"))
