"""The signed-in user's own password and sessions, and password resets by the city admin or a county
supervisor."""
from datetime import UTC, datetime, timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user
from sqlalchemy import select

from forms.auth import ChangePasswordForm, ResetPasswordForm, SignOutOthersForm
from models import User
from web.common.security import hash_password, verify_hash, verify_password
from web.common.unit_of_work import writes_done
from web.extensions import db
from workflows.engine import clock
from workflows.services import password_rules, sign_ins, totp

from .login import _blocked, _fresh_session, current_sign_in, record_failure, rekey_sign_in

bp = Blueprint("account", __name__)


def rule_messages(user: User, broken: list[str]) -> list[str]:
    policy = password_rules.policy_for(user.role)
    texts = {
        password_rules.RULE_LENGTH: _("Too short: at least %(n)d characters.", n=policy.min_length),
        password_rules.RULE_MAX_LENGTH: _("Too long: at most %(n)d characters.", n=password_rules.MAX_LENGTH),
        password_rules.RULE_CLASSES: _("Too simple: use at least %(n)d of lower-case letters, upper-case letters, "
                                  "digits and other characters.", n=policy.min_classes),
        password_rules.RULE_USERNAME: _("Must not contain the username."),
        password_rules.RULE_HISTORY: _("Must not be one of your last %(n)d passwords.", n=policy.history),
    }
    return [texts[rule] for rule in broken]


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    user: User = current_user._get_current_object()
    form = ChangePasswordForm()
    policy = password_rules.policy_for(user.role)
    if form.validate_on_submit():
        if not verify_password(user, form.current.data):
            record_failure(user.username)
            blocked = _blocked(user.username, datetime.now(UTC))
            if blocked:  # a stolen session cannot guess its way to the password
                logout_user()
                _fresh_session()
                flash(blocked, "error")
                return redirect(url_for("auth.login"))
            form.current.errors.append(_("Wrong password."))
        else:
            broken = password_rules.check(db.session, user, form.new.data, verify_hash)
            if broken:
                form.new.errors.extend(rule_messages(user, broken))
            else:
                # This browser stays signed in under a new key; every other session, and any copy
                # of this one's cookie taken before now, ends.
                password_rules.set_password(db.session, user, form.new.data, hash_password, clock.now(),
                                       keep_session=rekey_sign_in())
                writes_done()
                flash(_("Your password has been changed."), "info")
                return redirect(url_for("queue.index"))
    status = 422 if form.errors else 200
    return render_template("account_password.html", form=form, policy=policy,
                           due=password_rules.must_change(user, clock.now()),
                           expires_at=password_rules.expires_at(user)), status


def _target_or_404(user_id: int) -> User:
    target = db.session.get(User, user_id)
    if target is None or not password_rules.may_reset(current_user, target):
        abort(404)
    return target


@bp.route("/admin/users/<int:user_id>/reset-password", methods=["GET", "POST"])
@login_required
def reset_password(user_id):
    target = _target_or_404(user_id)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        temporary = password_rules.temporary_password()
        password_rules.set_password(db.session, target, temporary, hash_password, clock.now(), must_change=True)
        if form.reset_totp.data:
            totp.reset(db.session, target)
        writes_done()
        # Shown once, on this page only: it is stored as its hash like any password.
        return render_template("account_reset_done.html", target=target, temporary=temporary,
                               totp_reset=bool(form.reset_totp.data))
    return render_template("account_reset.html", form=form, target=target)


@bp.get("/admin/users/reset-password")
@login_required
def resettable():
    """The accounts the signed-in user may reset, each with its reset link."""
    users = [u for u in db.session.scalars(select(User).order_by(User.username))
             if password_rules.may_reset(current_user, u)]
    if not users:
        abort(404)
    return render_template("account_resettable.html", users=users)


def _sessions_page(form: SignOutOthersForm, status: int = 200):
    cfg = current_app.config
    records = sign_ins.live(db.session, current_user.id, clock.now(),
                            timedelta(minutes=cfg["SESSION_IDLE_MINUTES"]), timedelta(hours=cfg["SESSION_MAX_HOURS"]))
    return render_template("account_sessions.html", form=form, records=records,
                           current=sign_ins.find(db.session, current_sign_in())), status


@bp.get("/account/sessions")
@login_required
def sessions():
    """Where the account is signed in (sign-in time, last use, address, browser)."""
    return _sessions_page(SignOutOthersForm())


@bp.post("/account/sessions/others")
@login_required
def sign_out_others():
    """End every other session of the account (a lost phone, a shared computer), this one stays."""
    form = SignOutOthersForm()
    if not form.validate_on_submit():
        return _sessions_page(form, 422)
    ended = sign_ins.end_all(db.session, current_user.id, keep=current_sign_in())
    writes_done()
    flash(_("Signed out of %(n)d other sessions.", n=ended), "success")
    return redirect(url_for("account.sessions"), 303)
