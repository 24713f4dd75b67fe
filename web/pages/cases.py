"""Case pages: list, open a new case, the case with its data, history and diagram."""
from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from models import Case, ProcessModel
from models.versions import newest_versions
from web.common import taskflow, xlsx
from web.common.http_errors import refusal
from web.common.labels import STATUSES
from web.common.params import page_number, page_of, small_int
from web.extensions import db
from web.pages.case_page import detail_page
from workflows import access, party
from workflows.errors import InvalidInput
from workflows.permissions import may_start

bp = Blueprint("cases", __name__)
PER_PAGE = 50
EXPORT_LIMIT = 50000


def startable_processes(user) -> list[ProcessModel]:
    models = db.session.scalars(newest_versions(ProcessModel)).all()
    # A process without a start form is opened by the platform itself (a warning from monitoring).
    return [m for m in models if may_start(user, m.meta) and m.meta.get("start_form")]


def _listed(user):
    """The case list's query: the caller's scope, then the page's status and search filters."""
    stmt = select(Case).where(access.case_scope(user))
    status = request.args.get("status", "")
    if status in ("active", "suspended", "completed", "cancelled"):
        stmt = stmt.where(Case.status == status)
    q = request.args.get("q", "").strip()
    if q:
        match = Case.title.contains(q)
        stmt = stmt.where(match | (Case.id == small_int(q)) if small_int(q) is not None else match)
    return stmt, status, q


@bp.get("/cases")
@login_required
def index():
    stmt, status, q = _listed(current_user)
    page = page_number(request.args)
    cases, total = page_of(db.session, stmt.order_by(Case.id.desc()), PER_PAGE, page)
    return render_template("cases.html", cases=cases, status=status, q=q, page=page, total=total,
                           per_page=PER_PAGE, processes=startable_processes(current_user))


@bp.get("/cases/export.xlsx")
@login_required
def export():
    """The case list as filtered, in the caller's scope, as Excel (at most EXPORT_LIMIT rows, newest first)."""
    stmt, _status, _q = _listed(current_user)
    related = (selectinload(Case.county), selectinload(Case.enterprise), selectinload(Case.process_model))
    cases = db.session.scalars(stmt.options(*related).order_by(Case.id.desc()).limit(EXPORT_LIMIT)).all()
    rows = [[c.id, c.process_model.name, c.title, c.county.name if c.county else "",
             c.enterprise.name if c.enterprise else "", xlsx.zh(STATUSES.get(c.status, c.status)),
             xlsx.local(c.created_at), xlsx.local(c.completed_at)]
            for c in cases]
    headers = ["案卷编号", "流程", "标题", "县(区)", "企业", "状态", "立案时间", "办结时间"]
    return xlsx.response("案卷清单.xlsx", [("案卷", headers, rows)])


@bp.route("/cases/new/<process_key>", methods=["GET", "POST"])
@login_required
def new(process_key):
    user = current_user._get_current_object()
    model = next((m for m in startable_processes(user) if m.key == process_key), None)
    if model is None:
        flash(_("You may not open this kind of case."), "error")
        return redirect(url_for("cases.index"))
    form = taskflow.bind_form(model.meta.get("start_form"), user)
    if request.method == "POST":
        if form.validate():
            try:
                case_id = taskflow.start_case(process_key, user, form)
            except InvalidInput as exc:
                for name, messages in exc.fields.items():
                    if name in form:
                        form[name].errors = list(messages)
            else:
                flash(_("Case opened."), "success")
                return redirect(url_for("cases.detail", case_id=case_id))
        return render_template("case_new.html", form=form, model=model), 422
    return render_template("case_new.html", form=form, model=model)


@bp.get("/cases/<int:case_id>")
@login_required
def detail(case_id):
    user = current_user._get_current_object()
    return detail_page(taskflow.visible_case(case_id, user), user)


@bp.post("/cases/<int:case_id>/comments")
@login_required
def comment(case_id):
    user = current_user._get_current_object()
    case = taskflow.visible_case(case_id, user)
    try:
        taskflow.add_comment(case, user, request.form.get("text", ""), request.files.getlist("files"),
                             request.form.get("visible_to_party") in ("1", "y", "on", "true"))
    except InvalidInput as exc:
        flash(refusal(exc.message), "error")
        # The text is shown again so a refused file does not cost the user what he wrote.
        return detail_page(case, user, comment_text=request.form.get("text", "")), 422
    flash(_("Comment added."), "success")
    return redirect(url_for("cases.detail", case_id=case_id, _anchor="history"))


@bp.get("/cases/<int:case_id>/diagram.bpmn")
@login_required
def diagram(case_id):
    case = taskflow.visible_case(case_id, current_user)
    if party.party_keys(current_user, case.process_model.meta) is not None:
        abort(404)
    return Response(case.process_model.bpmn_xml, mimetype="application/xml")


@bp.get("/attachments/<int:att_id>")
@login_required
def attachment(att_id):
    att = taskflow.visible_attachment(att_id, current_user)
    inline = att.content_type.startswith("image/") and request.args.get("inline") == "1"
    disposition = "inline" if inline else "attachment"
    return Response(att.content, mimetype=att.content_type,
                    headers={"Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(att.filename)}"})
