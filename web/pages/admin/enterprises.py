"""The registers: gas enterprises (the city admin for the city, a county supervisor for the county) with
their change history and an Excel import; the city's county-level units (the city admin)."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import or_, select

from forms import enterprise_excel
from forms.enterprises import (
    FIELD_LABELS,
    KIND_LABELS,
    REGISTER_ERRORS,
    SOURCE_LABELS,
    EnterpriseForm,
    EnterpriseImportForm,
    RegionForm,
)
from models import Enterprise, Region
from web.common import xlsx
from web.common.rights import check_right
from web.common.unit_of_work import writes_done
from web.extensions import db
from workflows import access
from workflows.engine import clock
from workflows.errors import InvalidInput
from workflows.services import enterprise_register as register

bp = Blueprint("register", __name__)
MAX_IMPORT_BYTES = 5 * 1024 * 1024


@bp.before_request
@login_required
def signed_in():
    pass


def _me():
    return current_user._get_current_object()


def _form(obj=None) -> EnterpriseForm:
    form = EnterpriseForm(obj=obj)
    form.county_id.choices = [(r.id, r.name) for r in register.counties(db.session, _me())]
    return form


def _apply_errors(form, exc: InvalidInput) -> None:
    for field, code in exc.fields.items():
        if field in form:
            form[field].errors = [*form[field].errors, str(REGISTER_ERRORS.get(code, code))]


@bp.get("/enterprises")
def index():
    check_right(_me(), "enterprises.manage", _("Only the city admin and county supervisors keep the register."))
    q = request.args.get("q", "").strip()[:64]
    status = request.args.get("status", "active")
    stmt = select(Enterprise).where(access.enterprise_scope(_me())).order_by(Enterprise.county_id, Enterprise.name)
    if q:
        stmt = stmt.where(or_(Enterprise.name.contains(q, autoescape=True),
                              Enterprise.uscc.contains(q.upper(), autoescape=True)))
    if status in ("active", "inactive"):
        stmt = stmt.where(Enterprise.active.is_(status == "active"))
    rows = db.session.scalars(stmt.limit(500)).all()
    return render_template("admin/enterprises.html", rows=rows, q=q, status=status, kind_labels=KIND_LABELS,
                           may_add=bool(register.counties(db.session, _me())))


@bp.route("/enterprises/new", methods=["GET", "POST"])
def new():
    check_right(_me(), "enterprises.manage")
    form = _form()
    if request.method == "POST":
        if form.validate():
            try:
                enterprise = register.create(db.session, _me(), form.values(), clock.now())
            except InvalidInput as exc:
                _apply_errors(form, exc)
            else:
                writes_done()
                flash(_("%(name)s is registered.", name=enterprise.name), "success")
                return redirect(url_for(".detail", enterprise_id=enterprise.id), 303)
        return render_template("admin/enterprise_form.html", form=form, enterprise=None), 422
    return render_template("admin/enterprise_form.html", form=form, enterprise=None)


def _detail(enterprise, form=None, status=200):
    return render_template("admin/enterprise.html", enterprise=enterprise, form=form or _edit_form(enterprise),
                           history=register.history(db.session, enterprise.id), kind_labels=KIND_LABELS,
                           field_labels=FIELD_LABELS, source_labels=SOURCE_LABELS,
                           counties={r.id: r.name for r in db.session.scalars(select(Region))},
                           may_manage=register.may_manage(_me(), enterprise.county_id)), status


def _edit_form(enterprise):
    form = _form(obj=enterprise)
    if request.method == "GET":
        licence = next((x for x in (enterprise.licences or []) if x.get("kind") == "gas_business"), {})
        form.licence_no.data, form.licence_valid_until.data = licence.get("number"), licence.get("valid_until")
    if enterprise.county_id not in dict(form.county_id.choices):
        form.county_id.choices.insert(0, (enterprise.county_id, enterprise.county.name))
    return form


@bp.route("/enterprises/<int:enterprise_id>", methods=["GET", "POST"])
def detail(enterprise_id):
    check_right(_me(), "enterprises.manage")
    enterprise = register.get(db.session, _me(), enterprise_id)
    if request.method == "GET":
        return _detail(enterprise)
    form = _edit_form(enterprise)
    if form.validate():
        try:
            changes = register.update(db.session, _me(), enterprise, form.values(), clock.now())
        except InvalidInput as exc:
            _apply_errors(form, exc)
        else:
            writes_done()
            flash(_("Saved.") if changes else _("Nothing was changed."), "success")
            return redirect(url_for(".detail", enterprise_id=enterprise.id), 303)
    db.session.rollback()
    return _detail(enterprise, form, 422)


@bp.post("/enterprises/<int:enterprise_id>/active")
def set_active(enterprise_id):
    check_right(_me(), "enterprises.manage")
    enterprise = register.get(db.session, _me(), enterprise_id)
    wanted = request.form.get("active")
    if wanted not in ("0", "1"):
        abort(400)
    off = register.set_active(db.session, _me(), enterprise, wanted == "1", clock.now())
    writes_done()
    flash(_("%(name)s is active again; reactivate its accounts one by one.", name=enterprise.name) if wanted == "1"
          else _("%(name)s is deactivated, with its %(n)d accounts.", name=enterprise.name, n=off), "success")
    return redirect(url_for(".detail", enterprise_id=enterprise.id), 303)


def _county_lookup() -> dict[str, int]:
    found = {}
    for r in register.counties(db.session):
        found[r.name], found[r.code] = r.id, r.id
    return found


@bp.get("/enterprises/template.xlsx")
def import_template():
    check_right(_me(), "enterprises.manage")
    return xlsx.response("企业名录导入模板.xlsx", [("企业名录", enterprise_excel.template_rows(), [])])


@bp.route("/enterprises/import", methods=["GET", "POST"])
def excel_import():
    check_right(_me(), "enterprises.manage")
    form = EnterpriseImportForm()
    if request.method == "GET":
        return render_template("admin/enterprise_import.html", form=form, problems={}, reasons=[])

    def refused(reasons=(), problems=None):
        return render_template("admin/enterprise_import.html", form=form, reasons=list(reasons),
                               problems=problems or {}), 422

    file = request.files.get("file")
    if not form.validate() or file is None or not file.filename:
        return refused([_("Choose an .xlsx file.")])
    content = file.read(MAX_IMPORT_BYTES + 1)
    if len(content) > MAX_IMPORT_BYTES:
        return refused([_("The file is larger than %(mb)d MB.", mb=MAX_IMPORT_BYTES // (1024 * 1024))])
    try:
        rows, problems = enterprise_excel.read(content, _county_lookup())
    except enterprise_excel.SheetError as exc:
        return refused([str(exc)])
    # The register's checks run on the rows the form took too, so one upload names every problem.
    found = register.check_rows(db.session, _me(), rows)
    created = 0 if problems or found else register.import_rows(db.session, _me(), rows, clock.now())[0]
    for number, fields in found.items():
        problems[number] = {str(FIELD_LABELS.get(f, f)): [str(REGISTER_ERRORS.get(code, code))]
                            for f, code in fields.items()}
    if problems:
        db.session.rollback()
        return refused([_("Nothing was imported: correct the rows below and upload the file again.")],
                       dict(sorted(problems.items())))
    if not created:
        return refused([_("The file holds no enterprise.")])
    writes_done()
    flash(_("%(n)d enterprises are registered.", n=created), "success")
    return redirect(url_for(".index"), 303)


@bp.route("/regions", methods=["GET", "POST"])
def regions():
    check_right(_me(), "regions.manage", _("Only the city admin adds county-level units."))
    form = RegionForm()
    status = 200
    if request.method == "POST":
        if form.validate():
            try:
                region = register.add_region(db.session, current_app.config.get("CITY_CODE", "330600"),
                                             form.code.data, form.name.data.strip())
            except InvalidInput as exc:
                _apply_errors(form, exc)
            else:
                writes_done()
                flash(_("%(name)s is added.", name=region.name), "success")
                return redirect(url_for(".regions"), 303)
        status = 422
    rows = db.session.scalars(select(Region).order_by(Region.code)).all()
    return render_template("admin/regions.html", form=form, rows=rows), status
