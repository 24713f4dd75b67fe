"""Sign in and out, language choice, and loading the signed-in user."""
from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_required, login_user, logout_user
from sqlalchemy import select

from forms.auth import LoginForm
from models import User

from . import notifications
from .extensions import db, login_manager
from .params import small_int
from .security import verify_password

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(user_id: str):
    user = db.session.get(User, small_int(user_id)) if small_int(user_id) is not None else None
    return user if user is not None and user.active else None


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(User.username == form.username.data.strip()))
        if verify_password(user, form.password.data) and user.active:
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
