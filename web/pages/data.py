"""Data reporting pages (D4), for enterprises without a platform of their own: the kinds a user deals with,
records and their versions, one record by web form, many by Excel. Everything ends in ``dataflow.submit``,
exactly as the API does, so a record reported here is reviewed, versioned and scoped the same way."""
from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from forms.data_excel import MAX_FILE_BYTES, DataFileError, columns, read_xlsx, template_xlsx
from forms.data_files import web_form_for
from forms.data_kinds import KINDS, KINDS_BY_KEY, DataKind
from forms.schema import task_data
from models import REC_OFFICIAL, REC_PENDING, REC_REJECTED, REC_SUPERSEDED, DataBatch, DataRecord, Enterprise
from models.crypto import mask
from web.common import dataflow
from web.common.labels import STATUSES as CASE_STATUSES
from web.common.params import page_number, page_of, small_int
from web.extensions import db
from workflows import access
from workflows.errors import Forbidden, InvalidInput, NotFound
from workflows.permissions import has_right
from workflows.services import data_files, datadock

bp = Blueprint("data_pages", __name__, url_prefix="/data")
PER_PAGE = 50
LISTED = (REC_OFFICIAL, REC_PENDING, REC_REJECTED)
STATUSES = (*LISTED, REC_SUPERSEDED)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def status_labels() -> dict:
    # "Rejected" alone is already the count of rejected rows in the catalog; a record's state reads differently.
    return {REC_OFFICIAL: _("Official"), REC_PENDING: _("Pending review"), REC_REJECTED: _("Rejected by review"),
            REC_SUPERSEDED: _("Superseded"), "unchanged": _("Unchanged"), "all": _("All versions")}


def _user():
    return current_user._get_current_object()


def _own_enterprise(user) -> Enterprise | None:
    return db.session.get(Enterprise, user.enterprise_id) if access.is_enterprise_user(user) else None


def kinds_for(user) -> list[DataKind]:
    enterprise = _own_enterprise(user)
    if enterprise is not None:
        return [k for k in KINDS if enterprise.kind in k.enterprise_kinds]
    return list(KINDS)


def can_report(user, kind: DataKind) -> bool:
    enterprise = _own_enterprise(user)
    return enterprise is not None and enterprise.kind in kind.enterprise_kinds and has_right(user, "data.submit")


def _kind(key: str) -> DataKind:
    kind = KINDS_BY_KEY.get(key)
    if kind is None:
        raise NotFound(_("There is no such data kind."))
    return kind


def _reporting(user, kind: DataKind) -> None:
    """The checks of ``dataflow.reporting_enterprise``, said in the page's language before anything is read."""
    if not access.is_enterprise_user(user):
        raise Forbidden(_("Data is reported by the enterprise's own accounts."))
    if not has_right(user, "data.submit"):
        raise Forbidden(_("You may not report data."))
    if not can_report(user, kind):
        raise InvalidInput(_("Your enterprise does not report “%(kind)s”.", kind=kind.label))


def display(col, value, full: bool = True):
    """A stored value as a page shows it: choice labels, 是/否, Beijing time, a track by its length."""
    if value is None or value == "":
        return "—"
    if col is None:
        return value
    if col.type == "choice":
        return next((label for code, label in col.choices if code == value), value)
    if col.type == "bool":
        return _("Yes") if value else _("No")
    if col.type == "datetime" and isinstance(value, str):
        return current_app.jinja_env.filters["localtime"](value)
    if col.type == "track" and isinstance(value, list):
        return _("%(n)s points", n=len(value))
    return value


@bp.before_request
@login_required
def signed_in():
    pass


@bp.get("")
def index():
    user = _user()
    kinds = kinds_for(user)
    rows = db.session.execute(
        select(DataRecord.kind, DataRecord.status, func.count())
        .where(DataRecord.kind.in_([k.key for k in kinds]), DataRecord.status.in_(LISTED),
               dataflow.record_scope(user))
        .group_by(DataRecord.kind, DataRecord.status)).all()
    counts = {(kind, status): n for kind, status, n in rows}
    # An enterprise user is shown only the kinds his enterprise reports, so he may report every one listed.
    return render_template("data/index.html", kinds=kinds, counts=counts, reporter=_own_enterprise(user) is not None,
                           statuses=status_labels(), listed=LISTED)


def _enterprises_for(user, kind: DataKind) -> list[Enterprise]:
    return db.session.scalars(select(Enterprise).where(access.enterprise_scope(user),
                                                       Enterprise.kind.in_(kind.enterprise_kinds))
                              .order_by(Enterprise.county_id, Enterprise.name)).all()


@bp.get("/<kind_key>")
def records(kind_key):
    user = _user()
    kind = _kind(kind_key)
    args = request.args
    status = args.get("status", REC_OFFICIAL)
    if status not in (*STATUSES, "all"):
        status = REC_OFFICIAL
    q = args.get("q", "").strip()[:64]
    personal = kind.personal_fields
    field = args.get("field", "")
    value = args.get("value", "").strip()[:64]
    exact = {field: value} if field in personal and value else {}
    enterprise = args.get("enterprise", "")
    enterprise_id = small_int(enterprise)
    stmt = dataflow.find_records(user, kind, None if status == "all" else status, None, exact, enterprise_id)
    if q:
        stmt = stmt.where(DataRecord.external_id.contains(q, autoescape=True))
    page = page_number(args)
    found, total = page_of(db.session, stmt, PER_PAGE, page)
    cols = {c.key: c for c in columns(kind)}
    shown = list(dict.fromkeys([*kind.summary, *personal]))
    names = dict(db.session.execute(select(Enterprise.id, Enterprise.name).where(
        Enterprise.id.in_({r.enterprise_id for r in found}))).all()) if found else {}
    rows = []
    for r in found:
        data = datadock.reveal(dataflow.cipher(), kind, r, dataflow.sees_in_full(user, r.enterprise_id))
        rows.append({"record": r, "enterprise": names.get(r.enterprise_id, r.enterprise_id),
                     "values": [display(cols.get(n), data.get(n)) for n in shown]})
    pages = max(1, (total + PER_PAGE - 1) // PER_PAGE)
    filters = {"status": status, "q": q, "field": field if exact else "", "value": value if exact else "",
               "enterprise": enterprise_id or ""}
    return render_template("data/records.html", kind=kind, rows=rows, shown=[cols[n] for n in shown],
                           total=total, page=page, pages=pages, filters=filters,
                           args={k: v for k, v in filters.items() if v}, statuses=status_labels(),
                           status_choices=(*STATUSES, "all"), personal=[cols[n] for n in personal],
                           enterprises=[] if access.is_enterprise_user(user) else _enterprises_for(user, kind),
                           can_report=can_report(user, kind))


@bp.get("/<kind_key>/<int:enterprise_id>/<external_id>")
def record(kind_key, enterprise_id, external_id):
    user = _user()
    kind = _kind(kind_key)
    versions = db.session.scalars(dataflow.find_records(user, kind, None, external_id,
                                                        enterprise_id=enterprise_id)).all()
    if not versions:
        abort(404)
    full = dataflow.sees_in_full(user, enterprise_id)
    cols = columns(kind)
    cipher = dataflow.cipher()
    # Changes are found on the clear values: two masked numbers can look alike and still differ.
    clear = [datadock.reveal(cipher, kind, v, True) for v in versions]
    personal = set(kind.personal_fields)

    def shown(col, value):
        if col.key in personal and not full and isinstance(value, str):
            value = mask(value)
        return display(col, value)

    table = []
    for col in cols[1:]:
        cells = []
        for i, data in enumerate(clear):
            older = clear[i + 1] if i + 1 < len(clear) else None
            changed = older is not None and data.get(col.key) != older.get(col.key)
            cells.append({"value": shown(col, data.get(col.key)), "changed": changed})
        table.append({"col": col, "cells": cells})
    batches = {b.id: b for b in db.session.scalars(select(DataBatch).where(
        DataBatch.id.in_({v.batch_id for v in versions})))}
    enterprise = db.session.get(Enterprise, enterprise_id)
    files = {i: dataflow.file_dicts(found) for i, found in data_files.files_of(db.session, versions).items()}
    return render_template("data/record.html", kind=kind, external_id=external_id, enterprise=enterprise,
                           versions=versions, table=table, files=files, batches=batches,
                           statuses=status_labels(),
                           source_labels=source_labels(), case_statuses=CASE_STATUSES,
                           can_report=can_report(user, kind))


def source_labels() -> dict:
    return {"api": _("Platform interface"), "web": _("Web form"), "excel": _("Excel import")}


def _report_form(kind: DataKind):
    return web_form_for(kind.key)()  # optional choices carry their blank option from the generated form


@bp.route("/<kind_key>/new", methods=["GET", "POST"])
def new(kind_key):
    user = _user()
    kind = _kind(kind_key)
    _reporting(user, kind)
    form = _report_form(kind)
    if request.method == "POST":
        if form.validate():
            data = task_data(form)
            # The files were checked with the form: a refused file re-shows it and stores nothing.
            upload = datadock.Upload(form.new_files, bool(form.keep_files.data)) if kind.files else None
            result = dataflow.submit(kind, user, [data], "web", validated=[(data, {})],
                                     uploads={0: upload} if upload else None)
            return render_template("data/result.html", kind=kind, result=result, statuses=status_labels(),
                                   outcome=_outcome(kind, result, rows=None, messages={}), source="web")
        return render_template("data/new.html", kind=kind, form=form), 422
    return render_template("data/new.html", kind=kind, form=form)


@bp.get("/<kind_key>/template.xlsx")
def template(kind_key):
    kind = _kind(kind_key)
    content = template_xlsx(kind, current_app.config["DATA_MAX_RECORDS"])
    filename = f"{kind.key}.xlsx"
    return Response(content, mimetype=XLSX,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"})


@bp.route("/<kind_key>/import", methods=["GET", "POST"])
def excel_import(kind_key):
    user = _user()
    kind = _kind(kind_key)
    _reporting(user, kind)
    max_rows = current_app.config["DATA_MAX_RECORDS"]
    if request.method == "GET":
        return render_template("data/import.html", kind=kind, max_rows=max_rows, reasons=[])

    def refused(reasons):
        return render_template("data/import.html", kind=kind, max_rows=max_rows, reasons=reasons), 422

    file = request.files.get("file")
    if file is None or not file.filename:
        return refused([_("Choose an .xlsx file.")])
    content = file.read(MAX_FILE_BYTES + 1)
    try:
        sheet = read_xlsx(kind, file.filename, content, max_rows)
    except DataFileError as exc:
        return refused(exc.messages)
    labels = {c.key: str(c.label) for c in columns(kind)}
    validated, messages, first_row_of = [], {}, {}
    for index, row in enumerate(sheet.rows):
        readable = {k: v for k, v in row.record.items() if k not in row.problems}
        data, errors = dataflow.validate(kind, readable)
        errors = {**errors, **row.problems}
        if data is not None and not errors:
            seen = first_row_of.setdefault(data["external_id"], row.number)
            if seen != row.number:
                errors = {"external_id": [_("The same record id as row %(row)s.", row=seen)]}
        if errors:
            data = None
            messages[index] = [_("Row %(row)s, “%(column)s”: %(message)s", row=row.number,
                                 column=labels.get(name, name), message=str(m))
                               for name in [c for c in labels if c in errors] + [n for n in errors if n not in labels]
                               for m in errors[name]]
        validated.append((data, errors))
    result = None
    if any(data is not None for data, _errors in validated):
        result = dataflow.submit(kind, user, [row.record for row in sheet.rows], "excel", validated=validated)
    outcome = _outcome(kind, result, rows=sheet.rows, messages=messages)
    page = render_template("data/result.html", kind=kind, result=result, outcome=outcome, source="excel",
                           filename=file.filename, statuses=status_labels())
    return page, 200 if result is not None else 422  # no row could be taken: nothing was stored


def _outcome(kind: DataKind, result: dict | None, rows, messages: dict) -> dict:
    """The batch answer grouped for the page: accepted (pending review), unchanged and rejected rows."""
    number = (lambda i: rows[i].number) if rows is not None else (lambda i: None)
    out = {"pending": [], "unchanged": [], "rejected": [], "case": (result or {}).get("case"),
           "resubmitted": bool((result or {}).get("resubmitted"))}
    for a in (result or {}).get("accepted", []):
        entry = {"row": number(a["index"]), "external_id": a["external_id"], "version": a["version"]}
        out["unchanged" if a["status"] == "unchanged" else "pending"].append(entry)
    if rows is not None:
        for index, lines in sorted(messages.items()):
            out["rejected"].append({"row": rows[index].number, "external_id": rows[index].record.get("external_id"),
                                    "messages": lines})
    return out
