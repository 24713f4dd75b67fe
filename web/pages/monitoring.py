"""Warning pages: the warnings of the user's scope, and the city admin's threshold rules."""
from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, select

from forms.warning import CATEGORY_CHOICES, LEVEL_CHOICES, QUANTITY_CHOICES, SITE_KIND_CHOICES, ThresholdRulesForm
from models import WARNING_OPEN, Case, CaseEvent, EarlyWarning, Reading, ThresholdRule, User
from web.api import monitoring
from web.common import taskflow, xlsx
from web.common.http_errors import json_error
from web.common.labels import AUDIENCES
from web.common.params import small_int
from web.common.unit_of_work import writes_done
from web.extensions import db
from workflows import access
from workflows.errors import InvalidInput
from workflows.permissions import has_right
from workflows.services import presentation
from workflows.services.early_warnings import UNITS

bp = Blueprint("warnings", __name__, url_prefix="/warnings")
PER_PAGE = 50
EXPORT_LIMIT = 50000


def _labels() -> dict:
    return {"quantity": dict(QUANTITY_CHOICES), "site_kind": dict(SITE_KIND_CHOICES),
            "category": dict(CATEGORY_CHOICES), "level": dict(LEVEL_CHOICES)}


def _filters() -> tuple[dict, dict]:
    args = {k: request.args.get(k, "") for k in ("status", "level", "category")}
    if "status" not in request.args:
        args["status"] = WARNING_OPEN  # what needs attention; "all" is an explicit choice
    return args, {k: ("" if v == "all" else v) for k, v in args.items()}


@bp.get("/")
@login_required
def index():
    user = current_user._get_current_object()
    args, query = _filters()
    error, status = None, 200
    try:
        stmt = monitoring.warnings_stmt(user, query)
    except InvalidInput as exc:
        error, status = exc, 400
        stmt = monitoring.warnings_stmt(user, {"status": WARNING_OPEN})
    page = request.args.get("page", "1")
    page = min(small_int(page) or 1, 10**6)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.scalars(stmt.limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    return render_template("warnings.html", warnings=rows, args=args, total=total, page=page, per_page=PER_PAGE,
                           error=error, labels=_labels(), categories=CATEGORY_CHOICES, levels=LEVEL_CHOICES), status


@bp.get("/export.xlsx")
@login_required
def export():
    """The warning list as filtered, in the caller's scope, as Excel; a bad filter is a 400 naming it."""
    _args, query = _filters()
    try:
        stmt = monitoring.warnings_stmt(current_user._get_current_object(), query)
    except InvalidInput as exc:
        return json_error(400, exc.code, exc.message, exc.fields)
    labels = _labels()
    rows = [[w.id, xlsx.zh(labels["level"].get(w.level, w.level)),
             xlsx.zh(labels["category"].get(w.category, w.category)), w.enterprise.name,
             w.county.name if w.county else "", w.site or "", w.sensor or "",
             xlsx.zh(labels["quantity"].get(w.quantity, w.quantity or "")), w.peak_value, w.description,
             xlsx.zh(_l("Ongoing") if w.status == WARNING_OPEN else _l("Ended")), xlsx.local(w.started_at),
             xlsx.local(w.ended_at), w.case_id]
            for w in db.session.scalars(stmt.limit(EXPORT_LIMIT))]
    headers = ["预警编号", "级别", "类别", "企业", "县(区)", "站点", "传感器", "监测量", "峰值", "说明", "状态",
               "开始时间", "结束时间", "案卷编号"]
    return xlsx.response("预警清单.xlsx", [("预警", headers, rows)])


def _rules_form(rules: list[ThresholdRule]) -> ThresholdRulesForm:
    data = [{"id": str(r.id), "quantity": r.quantity, "site_kind": r.site_kind or "", "comparison": r.comparison,
             # 10, not 10.0: the number as a person writes it (workflows/services/presentation.py)
             "threshold": presentation.plain_number(r.threshold), "level": r.level, "active": r.active}
            for r in rules]
    data.append({"id": "", "quantity": "", "site_kind": "", "comparison": ">", "threshold": None, "level": 2,
                 "active": True})  # a blank row to add a rule
    return ThresholdRulesForm(data={"rules": data})


@bp.route("/rules", methods=["GET", "POST"])
@login_required
def rules():
    if not has_right(current_user, "thresholds.manage"):
        abort(403)
    stored = db.session.scalars(select(ThresholdRule).order_by(ThresholdRule.quantity, ThresholdRule.level,
                                                               ThresholdRule.id)).all()
    if request.method == "GET":
        return render_template("threshold_rules.html", form=_rules_form(stored), labels=_labels())
    form = ThresholdRulesForm()
    known = {r.id for r in stored}
    if form.validate():
        clean, bad = [], False
        for row in form.rules:
            entry = row.form
            if not entry.quantity.data:
                if entry.id.data:  # a stored rule whose quantity was blanked: say so rather than drop it
                    entry.quantity.errors = [_("Choose a quantity.")]
                    bad = True
                continue
            rule_id = small_int(entry.id.data or "")
            if entry.id.data and rule_id not in known:
                entry.quantity.errors = [_("Unknown rule.")]
                bad = True
                continue
            clean.append({"id": rule_id, "quantity": entry.quantity.data, "site_kind": entry.site_kind.data or None,
                          "comparison": entry.comparison.data, "threshold": float(entry.threshold.data),
                          "level": entry.level.data, "active": bool(entry.active.data)})
        if not bad:
            monitoring.save_rules(clean, current_user.id)
            writes_done()
            flash(_("Threshold rules saved. The next readings are checked against them."), "success")
            return redirect(url_for("warnings.rules"))
    flash(_("The rules were not saved: see the messages below."), "error")
    return render_template("threshold_rules.html", form=form, labels=_labels()), 400


READINGS_SHOWN = 200
READINGS_MARGIN = timedelta(minutes=30)  # readings either side of the episode, to show it begin and end
# History events that say nothing to the person reading a warning's timeline.
QUIET_EVENTS = ("message_handled", "task_claimed", "task_unclaimed", "follow_up_set")


def _readings(w: EarlyWarning) -> list[tuple[Reading, bool]]:
    """The watched series' readings around the episode, newest first, each with whether it broke the
    warning's rule."""
    if not w.sensor or not w.quantity:
        return []
    end = (w.ended_at or w.last_seen_at) + READINGS_MARGIN
    rows = db.session.scalars(select(Reading).where(
        Reading.enterprise_id == w.enterprise_id, Reading.site == w.site, Reading.sensor == w.sensor,
        Reading.quantity == w.quantity, Reading.at >= w.started_at - READINGS_MARGIN, Reading.at <= end)
        .order_by(Reading.at.desc()).limit(READINGS_SHOWN)).all()
    return [(r, bool(w.rule and w.rule.matches(r.site_kind, r.value))) for r in rows]


def _timeline(w: EarlyWarning, case: Case | None, user) -> list[dict]:
    """What happened to the warning, oldest first: its start, its case's history, its end. The
    enterprise does not read what the authorities were told among themselves."""
    items = [{"at": w.started_at, "who": None, "what": _("Warning began"), "detail": w.description}]
    if case is not None:
        quiet = (*QUIET_EVENTS, "authority_notified") if access.is_enterprise_user(user) else QUIET_EVENTS
        rows = db.session.execute(select(CaseEvent, User.display_name).outerjoin(User, User.id == CaseEvent.actor_id)
                                  .where(CaseEvent.case_id == case.id, CaseEvent.event.not_in(quiet))
                                  .order_by(CaseEvent.id)).all()
        for ev, name in rows:
            detail = ev.task_name or ""
            if ev.event == "authority_notified":
                detail = f"{AUDIENCES.get((ev.detail or {}).get('to'), '')}：{(ev.detail or {}).get('text', '')}"
            items.append({"at": ev.at, "who": name, "what": None, "event": ev.event, "detail": detail})
    if w.ended_at is not None:
        items.append({"at": w.ended_at, "who": None, "what": _("Readings back to normal"), "detail": ""})
    return sorted(items, key=lambda item: item["at"])


@bp.get("/<int:warning_id>")
@login_required
def detail(warning_id):
    """One warning: its facts and periods, its readings, its timeline, and what the user can do about it."""
    user = current_user._get_current_object()
    w = db.session.scalar(monitoring.warnings_stmt(user, {}).where(EarlyWarning.id == warning_id))
    if w is None:
        abort(404)
    case = db.session.get(Case, w.case_id) if w.case_id else None
    if case is not None and not access.can_see_case(user, case):
        case = None
    tasks = taskflow.open_tasks(case, user) if case is not None else []
    return render_template("warning_detail.html", w=w, case=case, data=(case.data or {}) if case else {},
                           readings=_readings(w), timeline=_timeline(w, case, user), tasks=tasks,
                           can_work=lambda t: access.can_work_task(user, t), labels=_labels(),
                           unit=UNITS.get(w.quantity or "", ""))
