"""The security audit trail in the web layer: one after-request hook records every sign-in, write,
export and refused request (no blueprint needs to change), and the city admin's pages to search it,
export it and edit the abnormal-operation rules.

The entry is the last statement of the request's last transaction (web/common/unit_of_work.py): a request
that left work for the request's commit (an engine operation, a view's ``writes_done()``) commits that work,
its reply's reads, its idempotency answer and its entry at once; any other (refused, read-only, or a step of
signing in, which commits as it happens) writes its entry in a short transaction of its own after its own
was rolled back. The chain's head is locked from the append to that commit only; the alert rules run after
it. A failed entry is logged and counted (``gasflow_audit_write_failures_total``); work left for the
request's commit is rolled back with it and the response is the error.
"""
import io
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    flash,
    g,
    got_request_exception,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, user_logged_in
from sqlalchemy import String, cast, or_, select
from werkzeug.middleware.proxy_fix import ProxyFix

from forms.audit import KIND_LABELS, AuditFilterForm, AuditRulesForm
from models import AuditAlert, AuditEntry, User
from web import health
from web.common.params import page_number, page_of
from web.common.unit_of_work import at_request_end, writes_done
from web.common.xlsx import cell as xlsx_cell
from web.extensions import db
from web.pages import notifications
from web.pages.account import login
from workflows.engine import clock
from workflows.errors import Forbidden
from workflows.permissions import has_right
from workflows.services import audit_chain, audit_rules

log = logging.getLogger(__name__)
bp = Blueprint("audit", __name__, url_prefix="/admin/audit")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
LOCAL_TZ = ZoneInfo("Asia/Shanghai")
PER_PAGE = 50
EXPORT_LIMIT = 100_000


def register(app) -> None:
    """Hooks, signal and pages; called once from the app factory."""
    hops = int(app.config.get("PROXY_HOPS") or os.environ.get("GASFLOW_PROXY_HOPS") or 0)
    if hops > 0:
        # Only behind a known number of proxies is X-Forwarded-For believed; otherwise anyone could
        # write their own address into the trail.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    user_logged_in.connect(_logged_in, app)
    got_request_exception.connect(_failed, app)
    app.before_request(_note_actor)
    at_request_end(app, _entry)  # after the idempotency answer: the head's lock is held until the commit
    app.register_blueprint(bp)
    notifications.KINDS.setdefault(audit_rules.ALERT, _l("Audit alert"))


# ---- recording ----------------------------------------------------------------------------------
# Signing in is two steps for authority accounts: the password (auth.login), then the second factor
# (auth.second_factor, or auth.enrol the first time). Only the step that calls login_user signs in.
CODE_STEPS = {"auth.second_factor": "second_factor", "auth.enrol": "enrolment"}


def _logged_in(_sender, user, **_extra):
    g.audit_user, g.audit_logged_in = (user.id, user.username), True


def _failed(_sender, exception, **_extra):
    # Only exceptions no error handler answered: the 500s. The class, not the message, which may quote data.
    g.audit_exception = type(exception).__name__


def _note_actor():
    # Taken before the view runs: after sign-out the user is gone, yet the sign-out is theirs; and
    # the code step ends (or clears) the half-signed-in state, yet a wrong code is that account's.
    if request.method in SAFE_METHODS:
        return
    if request.headers.get("Authorization") and request.path.startswith("/api/"):
        # The API's caller is the header's (its authentication notes the token's user); a session it
        # also carries cannot change under an API view. Flask-Login's load, which hashes the client's
        # address and agent even for nobody, is left to the entry, which seldom needs it.
        return
    if current_user.is_authenticated:
        g.audit_user = (current_user.id, current_user.username)
    elif request.endpoint in CODE_STEPS:
        g.audit_pending = (session.get("pending") or {}).get("uid")


def _kind(status: int, disposition: str) -> tuple[str, str] | None:
    """What to record for this request, and its outcome; None for ordinary reads. A code step that
    ends in a redirect without signing in is settled in ``_record`` (locked, or the step expired)."""
    outcome = "success" if status < 400 else "denied" if status in audit_rules.DENIED_STATUSES else \
        "error" if status >= 500 else "failure"
    if g.get("audit_logged_in"):  # whichever step of signing in calls login_user
        return "login_success", "success"
    if request.method == "POST" and request.endpoint == "auth.login":
        if status == 429:
            return "login_locked", "locked"
        if not 300 <= status < 400:  # the form shown again: wrong name or password, or a missing field
            return "login_failure", "failure"
        # Password accepted, the second factor is next: a step of signing in, not a sign-in.
    if request.method == "POST" and request.endpoint in CODE_STEPS:
        # Answered without signing in: a wrong or missing code (422), or sent back to the sign-in page.
        return "login_failure", "failure"
    if disposition.lower().lstrip().startswith("attachment"):
        return "export", outcome
    if request.method not in SAFE_METHODS:
        return "write", outcome
    if status in audit_rules.DENIED_STATUSES:
        return "denied", outcome
    if g.get("audit_exception"):  # a read is not recorded, but a read that broke is
        return "error", "error"
    return None


def _who() -> tuple[int | None, str, int | None]:
    if g.get("audit_identity"):  # a bearer token's user and the token (set by the API's authentication)
        return g.audit_identity
    if g.get("audit_user"):
        return (*g.audit_user, None)
    if current_user.is_authenticated:
        return current_user.id, current_user.username, None
    return None, "", None


def _entry(s, response) -> Callable[[bool], None] | None:
    """Append the request's entry in ``s``'s transaction, last (the caller commits at once); returns what
    follows the commit: the alert rules, or the count of an entry lost with its transaction."""
    # No response: an exception nobody turned into one (only when exceptions propagate).
    status = response.status_code if response is not None else 500
    disposition = response.headers.get("Content-Disposition", "") if response is not None else ""
    try:
        appended = _append(s, status, disposition)
    except Exception:
        _not_written(status)
        raise
    if appended is None:
        return None
    entry, head = appended

    def done(kept: bool) -> None:
        if not kept:
            _not_written(status)
            return
        # After the commit: every writing request of every process waits for the chain's head, so it is
        # held for the append alone; and a faulty rule cannot cost the entry.
        try:
            audit_rules.evaluate(s, entry, head.rules)
            if s.in_transaction():  # most entries match no rule, and begin nothing to commit
                s.commit()
        except Exception:
            s.rollback()
            log.exception("audit rules could not be evaluated for entry %s", entry.id)
    return done


def _not_written(status: int) -> None:
    health.AUDIT_FAILURES.inc()
    # Not log.exception: a commit that failed is reported here outside its except clause (its traceback is
    # logged where the request's end caught it).
    log.error("AUDIT ENTRY NOT WRITTEN: %s %s -> %s", request.method, request.path, status)


def _append(s, status: int, disposition: str):
    what = _kind(status, disposition)
    if what is None:
        return None
    kind, outcome = what
    detail = {}
    if request.endpoint == "auth.login" and request.method == "POST":
        detail["step"] = "password"
        detail["username_tried"] = (request.form.get("username") or "").strip()[:64]
    elif request.endpoint in CODE_STEPS and request.method == "POST":
        detail["step"] = CODE_STEPS[request.endpoint]
    if kind == "export":
        detail["disposition"] = disposition[:200]
    if request.query_string:
        detail["query"] = request.query_string.decode("utf-8", "replace")[:300]
    if g.get("audit_exception"):
        detail["exception"] = g.audit_exception
    detail.update(g.get("audit_detail") or {})  # what a view adds, such as a control action's reason
    user_id, username, token_id = _who()
    if kind in ("login_failure", "login_locked"):
        pending = s.get(User, g.audit_pending) if g.get("audit_pending") else None
        if pending is not None:  # the password was right: the account is known, not signed in
            user_id, username = pending.id, pending.username
            if 300 <= status < 400 and login.lockout(pending.username, login.client_address(), s) is not None:
                kind, outcome = "login_locked", "locked"
        username = username or detail.get("username_tried", "")
    _note_lock(s, kind, username, detail)
    return audit_chain.append(
        s, at=clock.now(), kind=kind, user_id=user_id, username=username, token_id=token_id,
        address=request.remote_addr or "", method=request.method, endpoint=request.endpoint or "",
        path=request.path, object_ids=dict(request.view_args or {}), status=status, outcome=outcome,
        detail=detail)


def _note_lock(s, kind: str, username: str, detail: dict) -> None:
    """When this request leaves an existing account locked (its last wrong password or code, or a try
    while locked), say which in the entry: the account-locked rule alerts on it."""
    name = g.get("audit_failed_name") or (username if kind == "login_locked" else None)
    if not name or login.lockout(name, login.client_address(), s) != "name":
        return
    locked = s.scalar(select(User.id).where(User.username == name))
    if locked is not None:
        detail[audit_rules.LOCKED_ID], detail[audit_rules.LOCKED_NAME] = locked, name


# ---- the city admin's pages -------------------------------------------------------------------
@bp.before_request
@login_required
def audit_readers_only():
    if not has_right(current_user, "audit.view"):
        raise Forbidden(_("Only the city admin reads the audit trail."))


def _day_start(day) -> datetime:
    return datetime.combine(day, time(0), LOCAL_TZ).astimezone(UTC)


def _filtered(form: AuditFilterForm):
    stmt = select(AuditEntry)
    if form.user.data:
        name = form.user.data.strip()
        stmt = stmt.where(or_(AuditEntry.username == name, cast(AuditEntry.user_id, String) == name))
    if form.kind.data:
        stmt = stmt.where(AuditEntry.kind == form.kind.data)
    if form.date_from.data:
        stmt = stmt.where(AuditEntry.at >= _day_start(form.date_from.data))
    if form.date_to.data:
        stmt = stmt.where(AuditEntry.at < _day_start(form.date_to.data + timedelta(days=1)))
    if form.address.data:
        stmt = stmt.where(AuditEntry.address == form.address.data.strip())
    if form.q.data:
        text = form.q.data.strip()
        stmt = stmt.where(or_(AuditEntry.path.contains(text, autoescape=True),
                              cast(AuditEntry.detail, String).contains(text, autoescape=True),
                              AuditEntry.endpoint.contains(text, autoescape=True)))
    return stmt.order_by(AuditEntry.id.desc())


def _filter_form() -> AuditFilterForm:
    return AuditFilterForm(request.args)


@bp.get("")
def index():
    form = _filter_form()
    page = page_number(request.args)
    if request.args and not form.validate():
        return render_template("admin/audit.html", form=form, entries=[], total=0, page=1, pages=1,
                               alerts=_alerts(), kinds=KIND_LABELS, **_page_helpers([])), 422
    stmt = _filtered(form)
    entries, total = page_of(db.session, stmt, PER_PAGE, page)
    pages = max((total + PER_PAGE - 1) // PER_PAGE, 1)
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("admin/audit.html", form=form, entries=entries, total=total, page=page, pages=pages,
                           alerts=_alerts(), kinds=KIND_LABELS, args=args, **_page_helpers(entries))


def _alerts():
    return db.session.scalars(select(AuditAlert).order_by(AuditAlert.id.desc()).limit(20)).all()


# What the page shows a person instead of the trail's codes (the codes stay in the data and the export).
RULE_LABELS = {
    audit_rules.BULK_EXPORT: _l("Bulk exports by one user"),
    audit_rules.OFF_HOURS: _l("Access outside working hours (Asia/Shanghai)"),
    audit_rules.DENIED_BURST: _l("Bursts of refused requests (401, 403, 404, 429) from one user or address"),
    audit_rules.MASS_DELETE: _l("Mass deletions or deactivations by one user"),
    audit_rules.ACCOUNT_LOCKED: _l("An account locked by failed sign-ins (wrong passwords or second-factor codes)"),
}
OUTCOME_LABELS = {"success": _l("Succeeded"), "denied": _l("Refused"), "failure": _l("Unsuccessful"),
                  "error": _l("Server error"), "locked": _l("Locked")}
DETAIL_LABELS = {"step": _l("Step"), "username_tried": _l("Account name tried"), "disposition": _l("File"),
                 "query": _l("Query"), "exception": _l("Error"), audit_rules.LOCKED_ID: _l("Locked account"),
                 audit_rules.LOCKED_NAME: _l("Locked account")}
STEP_LABELS = {"password": _l("Password"), "second_factor": _l("Second-factor code"),
               "enrolment": _l("Second-factor enrolment")}


def _beijing(value) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")


def _file_name(disposition: str) -> str:
    """The file a Content-Disposition header names, as a person reads it (the header itself is kept
    for the tooltip)."""
    from urllib.parse import unquote

    for part in disposition.split(";"):
        key, _sep, value = part.strip().partition("=")
        if key.lower() == "filename*":
            return unquote(value.split("''", 1)[-1])
        if key.lower() == "filename":
            return value.strip('"')
    return disposition


def _details(entry) -> list[tuple[str, str, str]]:
    """(label, text, raw) per detail of an entry; raw is the stored value where the text differs."""
    shown = []
    for key, value in (entry.detail or {}).items():
        if value in (None, ""):
            continue
        if key == audit_rules.LOCKED_ID:
            continue
        raw = str(value)
        text = raw
        if key == "step":
            text = str(STEP_LABELS.get(raw, raw))
        elif key == "disposition":
            text = _file_name(raw)
        # A name typed at a failed sign-in is shown as typed (verbatim), not read as prose.
        verbatim = key == "username_tried"
        shown.append((str(DETAIL_LABELS.get(key, _l("Detail"))), text, raw if raw != text or verbatim else ""))
    return shown


def _page_helpers(entries) -> dict:
    ids = {e.user_id for e in entries if e.user_id}
    names = dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all()) if ids else {}
    return {"beijing": _beijing, "details": _details, "rule_labels": RULE_LABELS, "outcomes": OUTCOME_LABELS,
            "display_names": names}


HEADERS = ["编号", "时间 (UTC)", "类型", "用户编号", "用户名", "令牌编号", "来源地址", "方法", "功能", "路径",
           "对象", "状态码", "结果", "详情", "哈希"]


@bp.get("/export.xlsx")
def export():
    form = _filter_form()
    if not form.validate():
        flash(_("Correct the filters before exporting."), "error")
        return redirect(url_for("audit.index", **request.args))
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("审计日志")
    sheet.append(HEADERS)
    for e in db.session.scalars(_filtered(form).limit(EXPORT_LIMIT)):
        sheet.append([xlsx_cell(v) for v in (
            e.id, e.at.strftime("%Y-%m-%d %H:%M:%S"), str(KIND_LABELS.get(e.kind, e.kind)), e.user_id,
            e.username, e.token_id, e.address, e.method, e.endpoint, e.path,
            ", ".join(f"{k}={v}" for k, v in (e.object_ids or {}).items()), e.status, e.outcome,
            ", ".join(f"{k}={v}" for k, v in (e.detail or {}).items()), e.hash)])
    out = io.BytesIO()
    book.save(out)
    filename = f"audit-{datetime.now(UTC):%Y%m%d-%H%M%S}.xlsx"
    return Response(out.getvalue(), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"})


@bp.route("/rules", methods=["GET", "POST"])
def rules():
    current = audit_rules.rules(db.session)
    form = AuditRulesForm()
    if request.method == "GET":
        for key, rule in current.items():
            getattr(form, f"{key}_enabled").data = rule.enabled
            getattr(form, f"{key}_window_minutes").data = rule.window_minutes
            if hasattr(form, f"{key}_threshold"):
                getattr(form, f"{key}_threshold").data = rule.threshold
        form.off_hours_start_hour.data = current[audit_rules.OFF_HOURS].params["start_hour"]
        form.off_hours_end_hour.data = current[audit_rules.OFF_HOURS].params["end_hour"]
        form.off_hours_weekdays.data = current[audit_rules.OFF_HOURS].params["weekdays"]
    elif form.validate_on_submit():
        now = clock.now()
        for key, rule in current.items():
            rule.enabled = getattr(form, f"{key}_enabled").data
            rule.window_minutes = getattr(form, f"{key}_window_minutes").data
            if hasattr(form, f"{key}_threshold"):
                rule.threshold = getattr(form, f"{key}_threshold").data
        current[audit_rules.OFF_HOURS].params = {"start_hour": form.off_hours_start_hour.data,
                                                 "end_hour": form.off_hours_end_hour.data,
                                                 "weekdays": sorted(form.off_hours_weekdays.data or [])}
        for rule in current.values():
            audit_rules.save(db.session, rule, current_user.id, now)
        writes_done()
        flash(_("Audit rules saved."), "success")
        return redirect(url_for("audit.rules"), 303)
    status = 422 if form.errors else 200
    return render_template("admin/audit_rules.html", form=form), status
