"""Sign in (password, then the TOTP second factor for authority accounts) and out, the session's
idle and absolute limits, the forced password change, language choice, and loading the signed-in user.

Every sign-in has a server-side record (workflows.services.sign_ins) whose key the signed cookie carries: the
user is loaded through it, so ending the record ends the session, copies of the cookie included."""
from datetime import UTC, datetime, timedelta

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import delete, func, select

from forms.auth import CodeForm, EnrolForm, LoginForm
from models import AUTHORITY_ROLES, LoginFailure, User
from web.common.dataflow import cipher
from web.common.http_errors import json_error
from web.common.params import small_int
from web.common.security import verify_password
from web.extensions import db, login_manager
from web.pages import notifications
from workflows.engine import clock
from workflows.services import password_rules, sign_ins, totp
from workflows.text import clean_text

bp = Blueprint("auth", __name__)
# The idle limit is counted in minutes: the signed session's "seen" time is moved on at most once a
# minute. Moved on every request, every answer set the session cookie again, and two requests in flight
# (a form sent while its page autosaved a draft) each set it from the state they began with: the later
# answer's cookie dropped the earlier one's message ("提交成功" lost after sending a checklist).
SEEN_REFRESH_SECONDS = 60


SESSION_KEY = "sid"


@login_manager.user_loader
def load_user(user_id: str):
    """The user of the session's live sign-in record: one indexed read, the user in the same statement.
    No record (signed out, ended by a password change, deactivation or the user himself) means no user."""
    record = sign_ins.find(db.session, session.get(SESSION_KEY))
    if record is None or record.user_id != small_int(user_id) or not record.user.active:
        return None
    g.sign_in = record
    return record.user


# Lockout (GB/T 22239 level 3 asks for it): five failures for one name within the window lock that
# name; fifty from one address throttle the address. Counted in the database so every process agrees.
# Wrong second-factor codes and wrong current passwords count the same as wrong passwords.
LOCK_AFTER, THROTTLE_AFTER, WINDOW = 5, 50, timedelta(minutes=15)
# Between the password and the second factor: the half-signed-in state lasts this long.
PENDING_FOR = timedelta(minutes=5)
# Reachable while a password change is due (besides the change page itself).
OPEN_WHILE_CHANGE_DUE = {"auth.logout", "auth.set_locale", "account.change_password", "static"}


def client_address() -> str:
    """The request's address as failures are recorded and counted under it."""
    return (request.remote_addr or "unknown")[:64]


def lockout(username: str, address: str, db_session=None, now: datetime | None = None) -> str | None:
    """Why sign-ins for ``username`` from ``address`` are refused now: "name" (the account is locked),
    "address" (the address is throttled), or None. The audit hook passes its own ``db_session`` so as
    not to touch the request's transaction; everyone else uses the request's."""
    s = db_session if db_session is not None else db.session
    since = (now if now is not None else datetime.now(UTC)) - WINDOW
    by_name = s.scalar(select(func.count()).where(LoginFailure.username == username, LoginFailure.at > since))
    if by_name >= LOCK_AFTER:
        return "name"
    by_address = s.scalar(select(func.count()).where(LoginFailure.address == address, LoginFailure.at > since))
    if by_address >= THROTTLE_AFTER:
        return "address"
    return None


def _blocked(username: str, now: datetime) -> str | None:
    reason = lockout(username, client_address(), now=now)
    if reason == "name":
        return _("Too many failed sign-ins for this account. Try again in %(n)d minutes.",
                 n=int(WINDOW.total_seconds() // 60))
    if reason == "address":
        return _("Too many failed sign-ins from this address. Try again later.")
    return None


def record_failure(username: str) -> None:
    g.audit_failed_name = username[:64]  # the audit entry checks whether this locked the account
    db.session.add(LoginFailure(at=datetime.now(UTC), username=username[:64], address=client_address()))
    db.session.commit()


def _fresh_session() -> None:
    """No session fixation: every step of signing in starts from a new session (the language stays)."""
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale


def _safe_next(target: str | None) -> str:
    if not target or not target.startswith("/") or target.startswith("//"):
        return url_for("queue.index")
    return target


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
            record_failure(name)
        else:
            remember = bool(form.remember.data) and user.role not in AUTHORITY_ROLES
            target = _safe_next(request.args.get("next"))
            if totp.required(user, current_app.config["REQUIRE_TOTP"]):
                # The password alone does not sign in; the failures are kept until the code is right,
                # so codes cannot be guessed by typing the password again between tries.
                _fresh_session()
                session["pending"] = {"uid": user.id, "at": clock.now().timestamp(), "next": target}
                return redirect(url_for("auth.second_factor" if totp.enrolled(user) else "auth.enrol"))
            return _complete(user, remember, target)
        flash(_("Wrong username or password."), "error")
    elif form.is_submitted() and form.refused_text and "csrf_token" not in form.errors:
        # Refused for a character no name holds (NUL...), yet a try at the name it stands for: counted,
        # so that slipping such characters in cannot get round the lockout.
        record_failure(clean_text(form.username.data or "").strip()[:64])
    return render_template("login.html", form=form)


def _complete(user: User, remember: bool, target: str):
    db.session.execute(delete(LoginFailure).where(LoginFailure.username == user.username))
    db.session.commit()
    _fresh_session()
    login_user(user)
    now = clock.now()
    cfg = current_app.config
    # Closed browsers never sign out: their records go at the account's next sign-in, not on a request.
    sign_ins.purge(db.session, user.id, now, timedelta(minutes=cfg["SESSION_IDLE_MINUTES"]),
                   timedelta(hours=cfg["SESSION_MAX_HOURS"]))
    session[SESSION_KEY] = sign_ins.start(db.session, user.id, now, client_address(),
                                          request.headers.get("User-Agent", ""))
    db.session.commit()
    stamp = now.timestamp()
    session["signed_in_at"], session["seen_at"] = stamp, stamp
    session.permanent = remember
    notifications.login_summary(user)
    days = password_rules.days_left_to_warn(user, now)
    if days is not None:
        flash(_("Your password expires in %(n)d days; change it soon.", n=days), "info")
    if password_rules.must_change(user, now):
        return redirect(url_for("account.change_password"))
    return redirect(target)


def _pending_user() -> tuple[User | None, dict]:
    pending = session.get("pending") or {}
    started = pending.get("at")
    if not started or clock.now().timestamp() - started > PENDING_FOR.total_seconds():
        return None, {}
    user = db.session.get(User, pending.get("uid"))
    return (user if user is not None and user.active else None), pending


def _back_to_sign_in(message: str | None = None):
    session.pop("pending", None)
    if message:
        flash(message, "error")
    else:
        flash(_("Sign in again, please."), "error")
    return redirect(url_for("auth.login"))


@bp.route("/login/code", methods=["GET", "POST"])
def second_factor():
    user, pending = _pending_user()
    if user is None or not totp.enrolled(user):
        return _back_to_sign_in()
    form = CodeForm()
    if form.validate_on_submit():
        blocked = _blocked(user.username, datetime.now(UTC))
        if blocked:
            return _back_to_sign_in(blocked)
        code, now = form.code.data, clock.now()
        if totp.looks_like_recovery_code(code):
            accepted = totp.use_recovery_code(db.session, user, code, now)
        else:
            accepted = totp.verify_code(user, cipher(), code, now)
        if accepted:
            db.session.commit()
            response = _complete(user, False, pending.get("next") or url_for("queue.index"))
            if totp.looks_like_recovery_code(code):  # after _complete, which starts a fresh session
                flash(_("A recovery code was used; %(n)d are left.",
                        n=totp.recovery_codes_left(db.session, user)), "info")
            return response
        db.session.rollback()
        record_failure(user.username)
        form.code.errors.append(_("Wrong or already used code."))
    return render_template("login_code.html", form=form), 200 if not form.errors else 422


@bp.route("/login/enrol", methods=["GET", "POST"])
def enrol():
    user, pending = _pending_user()
    if user is None or totp.enrolled(user):
        return _back_to_sign_in()
    secret = totp.pending_secret(db.session, user, cipher())
    db.session.commit()
    form = EnrolForm()
    if form.validate_on_submit():
        blocked = _blocked(user.username, datetime.now(UTC))
        if blocked:
            return _back_to_sign_in(blocked)
        codes = totp.confirm_enrolment(db.session, user, cipher(), form.code.data, clock.now())
        if codes is not None:
            db.session.commit()
            response = _complete(user, False, pending.get("next") or url_for("queue.index"))
            # Shown once: only their digests are kept.
            return render_template("login_recovery_codes.html", codes=codes, next_url=response.location)
        db.session.rollback()
        record_failure(user.username)
        form.code.errors.append(_("Wrong code: check the authenticator app's clock and try again."))
    uri = totp.provisioning_uri(user, secret)
    return render_template("login_enrol.html", form=form, secret=secret, qr=totp.qr_svg(uri)), \
        200 if not form.errors else 422


@bp.before_app_request
def guard_session():
    """The session's server-side record (ended: signed out), its idle and absolute limits from the times
    in the signed session, and the forced change."""
    if request.endpoint in (None, "static") or request.headers.get("Authorization"):
        return None  # bearer tokens are checked by the API, not by the session
    if "_user_id" not in session:
        return None
    now, cfg = clock.now().timestamp(), current_app.config
    signed_in, seen = session.get("signed_in_at"), session.get("seen_at")
    if (signed_in is None or seen is None or now - seen > cfg["SESSION_IDLE_MINUTES"] * 60
            or now - signed_in > cfg["SESSION_MAX_HOURS"] * 3600 or not current_user.is_authenticated):
        if current_user.is_authenticated:  # a limit ended it: its record goes too
            sign_ins.end(db.session, session.get(SESSION_KEY))
            db.session.commit()
        logout_user()
        _fresh_session()
        message = _("Your session has ended. Sign in again, please.")
        if request.path.startswith("/api/"):
            return json_error(401, "session_expired", message)
        flash(message, "info")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?") if request.method == "GET" else None))
    if now - seen >= SEEN_REFRESH_SECONDS:
        session["seen_at"] = now
    if g.get("sign_in") is not None and sign_ins.seen(db.session, g.sign_in, clock.now()):
        db.session.commit()
    if request.endpoint not in OPEN_WHILE_CHANGE_DUE and current_user.is_authenticated \
            and password_rules.must_change(current_user, clock.now()):
        if request.path.startswith("/api/"):
            return json_error(403, "password_change_required", "change the password first")
        flash(_("Change your password before you go on."), "info")
        return redirect(url_for("account.change_password"))
    return None


def current_sign_in() -> str | None:
    """The key of this browser's sign-in record."""
    return session.get(SESSION_KEY)


def rekey_sign_in() -> str | None:
    """A new key for this browser's record, so copies of the cookie taken before now end (after the
    password was proved again). The caller commits."""
    new = sign_ins.rekey(db.session, current_sign_in() or "")
    if new:
        session[SESSION_KEY] = new
    return new


@bp.post("/logout")
@login_required
def logout():
    sign_ins.end(db.session, current_sign_in())
    db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.get("/locale/<code>")
def set_locale(code):
    if code in ("zh", "en"):
        session["locale"] = code
    target = request.referrer or url_for("queue.index")
    return redirect(target if target.startswith(request.host_url) else url_for("queue.index"))
