"""Industry information (A6): the public pages (no sign-in) and the authority's editor pages."""
from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from forms.info import ACCEPT, CATEGORIES, STATUSES, InfoItemForm, InfoSearchForm
from models import INFO_CATEGORIES, INFO_STATUSES, ROLE_CITY_ADMIN, InfoItem, Region
from web.common.params import page_number, page_of
from web.common.unit_of_work import writes_done
from web.extensions import db
from workflows.errors import Conflict
from workflows.permissions import has_right
from workflows.services import industry_info as service

bp = Blueprint("info", __name__, url_prefix="/info")
PER_PAGE = 20
CONFLICTS = {
    "publish": lambda: _("Only a draft can be published."),
    "withdraw": lambda: _("Only a published item can be withdrawn."),
    "revise": lambda: _("Only a withdrawn item can be revised."),
}


def labels() -> dict:
    return {"category": dict(CATEGORIES), "status": dict(STATUSES)}


def _search(editor: bool):
    """The search form bound to the query string, the query it means, and whether it was understood."""
    form = InfoSearchForm(MultiDict(request.args))
    if not editor:
        del form.status
    if not form.validate():
        return form, service.InfoQuery(), False
    query = service.InfoQuery(q=(form.q.data or "").strip(), category=form.category.data or "",
                              date_from=form.date_from.data, date_to=form.date_to.data,
                              status=(form.status.data or "") if editor else "")
    return form, query, True


def _page(stmt):
    page = page_number(request.args)
    rows, total = page_of(db.session, stmt, PER_PAGE, page)
    return rows, total, page


def _page_args() -> dict:
    return {k: v for k, v in request.args.items() if k != "page" and v}


# ---- public ---------------------------------------------------------------------------------------------
@bp.get("/")
def index():
    form, query, ok = _search(editor=False)
    items, total, page = _page(service.public_stmt(query))
    return render_template("info/index.html", form=form, items=items, total=total, page=page, per_page=PER_PAGE,
                           args=_page_args(), labels=labels()), 200 if ok else 400


@bp.get("/<int:item_id>")
def detail(item_id):
    item = service.published_item(db.session, item_id)
    service.count_view(db.session, item)
    # Committed at once: a reader's count, which no audit entry records (a read), and whose row must not
    # stay locked while the page renders for every reader after it.
    db.session.commit()
    db.session.refresh(item)
    return render_template("info/detail.html", item=item, labels=labels(), editor=False)


def _send(att):
    return Response(att.content, mimetype=att.content_type,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(att.filename)}",
                             "Cache-Control": "no-store"})


@bp.get("/<int:item_id>/files/<int:att_id>")
def download(item_id, att_id):
    item = service.published_item(db.session, item_id)
    return _send(service.item_file(item, att_id))


# ---- editor ---------------------------------------------------------------------------------------------
def _editor():
    user = current_user._get_current_object()
    # The right says whether he writes at all; may_write that he has an area to write for.
    if not has_right(user, "info.publish") or not service.may_write(user):
        abort(403, _("Industry information is written by the city authority and the county supervisors."))
    return user


def _item_form(user, item: InfoItem | None = None) -> InfoItemForm:
    form = InfoItemForm(obj=item) if item is not None else InfoItemForm()
    if user.role == ROLE_CITY_ADMIN:
        counties = db.session.execute(select(Region.id, Region.name).where(Region.level == "county")
                                      .order_by(Region.code)).all()
        form.county_id.choices = [(0, _("Whole city"))] + [(c.id, c.name) for c in counties]
        if item is not None and request.method == "GET":
            form.county_id.data = item.county_id or 0
    else:
        del form.county_id
    if item is not None and item.attachments:
        form.remove_files.choices = [(a.id, a.filename) for a in item.attachments]
    else:
        del form.remove_files
    return form


def _form_page(form, item, status=200):
    if form.errors:
        flash(_("The item was not saved: see the messages below."), "error")
    status = 413 if status != 200 and form.files.too_large else status
    return render_template("info/edit.html", form=form, item=item, accept=ACCEPT), status


@bp.get("/manage/")
@login_required
def manage():
    user = _editor()
    form, query, ok = _search(editor=True)
    items, total, page = _page(service.editor_stmt(user, query))
    return render_template("info/manage.html", form=form, items=items, total=total, page=page, per_page=PER_PAGE,
                           args=_page_args(), labels=labels(), counts=service.counts(db.session, user),
                           categories=INFO_CATEGORIES, statuses=INFO_STATUSES), 200 if ok else 400


@bp.route("/manage/new", methods=["GET", "POST"])
@login_required
def new():
    user = _editor()
    form = _item_form(user)
    if request.method == "POST":
        if not form.validate():
            return _form_page(form, None, 422)
        item = service.create_item(db.session, user, form.item_fields(),
                                   [service.NewFile(*f) for f in form.new_files()])
        writes_done()
        flash(_("Draft saved. Publish it when it is ready."), "success")
        return redirect(url_for("info.preview", item_id=item.id))
    return _form_page(form, None)


@bp.get("/manage/<int:item_id>")
@login_required
def preview(item_id):
    user = _editor()
    item = service.editable_item(db.session, user, item_id)
    return render_template("info/detail.html", item=item, labels=labels(), editor=True)


@bp.route("/manage/<int:item_id>/edit", methods=["GET", "POST"])
@login_required
def edit(item_id):
    user = _editor()
    item = service.editable_item(db.session, user, item_id)
    if item.status != "draft":
        flash(_("Only drafts are edited. Withdraw a published item and revise it first."), "error")
        return render_template("info/detail.html", item=item, labels=labels(), editor=True), 409
    form = _item_form(user, item)
    if request.method == "POST":
        if not form.validate():
            return _form_page(form, item, 422)
        remove = form.remove_files.data or [] if "remove_files" in form else []
        service.update_item(db.session, user, item, form.item_fields(),
                            [service.NewFile(*f) for f in form.new_files()], remove)
        writes_done()
        flash(_("Draft saved."), "success")
        return redirect(url_for("info.preview", item_id=item.id))
    return _form_page(form, item)


@bp.post("/manage/<int:item_id>/<action>")
@login_required
def act(item_id, action):
    user = _editor()
    item = service.editable_item(db.session, user, item_id)
    if action == "delete":
        try:
            service.delete_draft(db.session, item)
        except Conflict:
            db.session.rollback()
            flash(_("Only a draft that was never published can be deleted; withdraw it instead."), "error")
            return render_template("info/detail.html", item=item, labels=labels(), editor=True), 409
        writes_done()
        flash(_("Draft deleted."), "success")
        return redirect(url_for("info.manage"))
    if action not in service.TRANSITIONS:
        abort(404)
    try:
        service.transition(db.session, item, action)
    except Conflict:
        db.session.rollback()
        flash(CONFLICTS[action](), "error")
        return render_template("info/detail.html", item=item, labels=labels(), editor=True), 409
    writes_done()
    flash({"publish": _("Published: the item is on the public site."),
           "withdraw": _("Withdrawn: the item left the public site and is kept here."),
           "revise": _("The item is a draft again; edit it and publish it anew.")}[action], "success")
    return redirect(url_for("info.preview", item_id=item.id))


@bp.get("/manage/<int:item_id>/files/<int:att_id>")
@login_required
def editor_download(item_id, att_id):
    user = _editor()
    item = service.editable_item(db.session, user, item_id)
    return _send(service.item_file(item, att_id))
