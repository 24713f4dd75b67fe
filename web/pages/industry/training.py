"""Training and publicity pages (A4.1, A4.2): enterprises record their own, the authority reads its area and
the training statistics."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from forms.training import (
    GROUPINGS,
    PUBLICITY_KIND_CHOICES,
    RESULTS,
    PublicityForm,
    TrainingSessionForm,
    TrainingStatsForm,
)
from models import AUTHORITY_ROLES, PublicityActivity, TrainingSession
from web.common import xlsx
from web.common.http_errors import json_error
from web.common.params import page_number, page_of
from web.common.unit_of_work import writes_done
from web.extensions import db
from workflows import access
from workflows.services import training_records as service

bp = Blueprint("training", __name__, url_prefix="/training")
PER_PAGE = 50
EXPORT_LIMIT = 50000


def _user():
    return current_user._get_current_object()


def _labels() -> dict:
    return {"result": dict(RESULTS), "kind": dict(PUBLICITY_KIND_CHOICES), "group": dict(GROUPINGS),
            "group_column": {"enterprise": _("Enterprise"), "county": _("County"), "month": _("Month")}}


def _reporter(user):
    if not access.is_enterprise_user(user):
        abort(403, _("Training and publicity are recorded by the enterprise's own accounts."))


def _page(stmt):
    page = page_number(request.args)
    return (*page_of(db.session, stmt, PER_PAGE, page), page)


@bp.before_request
@login_required
def signed_in():
    pass


@bp.get("/")
def index():
    user = _user()
    rows, total, page = _page(service.sessions_stmt(user))
    return render_template("training/index.html", sessions=rows, total=total, page=page, per_page=PER_PAGE,
                           reporter=access.is_enterprise_user(user), authority=user.role in AUTHORITY_ROLES,
                           tab="sessions")


@bp.get("/publicity")
def publicity():
    user = _user()
    rows, total, page = _page(service.publicity_stmt(user))
    return render_template("training/publicity.html", activities=rows, total=total, page=page, per_page=PER_PAGE,
                           reporter=access.is_enterprise_user(user), authority=user.role in AUTHORITY_ROLES,
                           labels=_labels(), tab="publicity")


@bp.route("/sessions/new", methods=["GET", "POST"])
def new_session():
    user = _user()
    _reporter(user)
    form = TrainingSessionForm()
    if request.method == "POST":
        if not form.validate():
            flash(_("The session was not saved: see the messages below."), "error")
            return render_template("training/new.html", form=form, title=_("Record a training session")), 422
        session = service.record_session(db.session, user, form.session_fields(), form.trainees)
        writes_done()
        flash(_("Training session recorded: %(n)s trainees, %(q)s qualified.", n=session.trainee_count,
                q=session.qualified_count), "success")
        return redirect(url_for("training.session", session_id=session.id))
    return render_template("training/new.html", form=form, title=_("Record a training session"))


@bp.get("/sessions/<int:session_id>")
def session(session_id):
    row = service.visible(db.session, _user(), TrainingSession, session_id)
    return render_template("training/session.html", session=row, labels=_labels())


@bp.route("/publicity/new", methods=["GET", "POST"])
def new_publicity():
    user = _user()
    _reporter(user)
    form = PublicityForm()
    if request.method == "POST":
        if not form.validate():
            flash(_("The activity was not saved: see the messages below."), "error")
            return render_template("training/new.html", form=form, title=_("Record a publicity activity")), 422
        activity = service.record_publicity(db.session, user, form.activity_fields())
        writes_done()
        flash(_("Publicity activity recorded."), "success")
        return redirect(url_for("training.activity", activity_id=activity.id))
    return render_template("training/new.html", form=form, title=_("Record a publicity activity"))


@bp.get("/publicity/<int:activity_id>")
def activity(activity_id):
    row = service.visible(db.session, _user(), PublicityActivity, activity_id)
    return render_template("training/activity.html", activity=row, labels=_labels())


@bp.get("/export.xlsx")
def export():
    """The training sessions of the caller's area (an enterprise: its own), as Excel."""
    sessions = db.session.scalars(service.sessions_stmt(_user()).limit(EXPORT_LIMIT)).all()
    rows = [[t.id, t.enterprise.name, t.held_on.isoformat(), t.name, t.topic, t.trainer, t.assessment,
             t.trainee_count, t.qualified_count] for t in sessions]
    headers = ["编号", "企业", "培训日期", "培训名称", "培训内容", "授课人", "考核方式", "参训人数", "合格人数"]
    return xlsx.response("培训记录.xlsx", [("培训记录", headers, rows)])


def _statistics():
    """The statistics page's filters read from the address, for the authority only; bad filters leave the
    whole area ungrouped by date (the page shows them, the export refuses them)."""
    user = _user()
    if user.role not in AUTHORITY_ROLES:
        abort(403, _("Training statistics are for the authority."))
    form = TrainingStatsForm(MultiDict(request.args))
    ok = form.validate()
    group = form.group.data if ok and form.group.data in service.GROUPS else "enterprise"
    rows = service.statistics(db.session, user, group, form.date_from.data if ok else None,
                              form.date_to.data if ok else None)
    return form, ok, group, rows


@bp.get("/stats/export.xlsx")
def stats_export():
    """The training statistics as filtered on the page, as Excel; bad filters are a 400 naming the field."""
    form, ok, group, rows = _statistics()
    if not ok:
        return json_error(400, "invalid_input", "invalid filter", form.errors)
    first = {"enterprise": "企业", "county": "县(区)", "month": "月份"}[group]
    table = [[r["label"], r["sessions"], r["trainees"], r["qualified"], r["pass_rate"]] for r in rows]
    headers = [first, "培训场次", "参训人次", "合格人次", "合格率(%)"]
    return xlsx.response("培训统计.xlsx", [("培训统计", headers, table)])


@bp.get("/stats")
def stats():
    form, ok, group, rows = _statistics()
    return render_template("training/stats.html", form=form, rows=rows, totals=service.totals(rows), group=group,
                           labels=_labels()), 200 if ok else 400
