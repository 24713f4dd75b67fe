"""Cylinders (A1.4 气瓶追溯) for the authorities and the bottled-gas enterprises: the cylinders in the user's
scope, one cylinder's trace as a timeline, and the QR labels the platform prints for an enterprise's
cylinders. What a scanned label shows to others is web/pages/cylinder_scan.py."""
from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from models import Enterprise
from web.common.params import page_number, page_of, small_int
from web.extensions import db
from workflows import access
from workflows.errors import NotFound
from workflows.services import cylinder_trace
from workflows.services.shanghai_time import today

from .cylinder_scan import public_url

bp = Blueprint("cylinders", __name__)
PER_PAGE = 50
LABELS_PER_PAGE = 60  # a page of labels prints on a few A4 sheets


def validity_labels() -> dict:
    return {cylinder_trace.VALID: _("Inspection valid"), cylinder_trace.OVERDUE: _("Inspection overdue"),
            cylinder_trace.UNKNOWN: _("Inspection date unknown"), cylinder_trace.FAILED: _("Failed its inspection"),
            cylinder_trace.SCRAPPED: _("Scrapped")}


def event_labels() -> dict:
    return {"in": _("Into stock (filled)"), "out": _("Out of stock to a user"), "return": _("Returned"),
            "delivered": _("Delivered"), "inspection": _("Periodic inspection")}


def location_labels() -> dict:
    """Where the latest movement left a cylinder."""
    return {"in": _("In stock"), "out": _("At a user"), "return": _("Returned to stock")}


def choice_labels() -> dict:
    """The reported choices the trace shows, by field: the labels the data kinds declare."""
    from forms.data_kinds import CYLINDER_STATUS, KINDS_BY_KEY, USER_TYPES

    result = KINDS_BY_KEY["cylinder_inspection"].field_map["result"].choices
    return {"status": {k: str(v) for k, v in CYLINDER_STATUS}, "result": {k: str(v) for k, v in result},
            "user_type": {k: str(v) for k, v in USER_TYPES}}


@bp.before_request
@login_required
def signed_in():
    pass


def _user():
    return current_user._get_current_object()


def _scope(user):
    return access.enterprise_scope(user)


def _bottled(user) -> list[Enterprise]:
    return db.session.scalars(select(Enterprise).where(_scope(user), Enterprise.kind == "bottled")
                              .order_by(Enterprise.county_id, Enterprise.name)).all()


@bp.get("/cylinders")
def index():
    user = _user()
    q = request.args.get("q", "").strip()[:cylinder_trace.MAX_CODE]
    enterprise_id = small_int(request.args.get("enterprise", ""))
    page = page_number(request.args)
    found, total = page_of(db.session, cylinder_trace.listing(db.session, _scope(user), q or None, enterprise_id),
                           PER_PAGE, page)
    valid = cylinder_trace.validities(db.session, found, today())
    names = dict(db.session.execute(select(Enterprise.id, Enterprise.name).where(
        Enterprise.id.in_({r.enterprise_id for r in found}))).all()) if found else {}
    rows = [{"record": r, "code": r.data.get("code"), "enterprise": names.get(r.enterprise_id, ""),
             "validity": valid[r.id]} for r in found]
    filters = {"q": q, "enterprise": enterprise_id or ""}
    own = access.is_enterprise_user(user)
    return render_template("cylinders/index.html", rows=rows, total=total, page=page,
                           pages=max(1, (total + PER_PAGE - 1) // PER_PAGE), filters=filters,
                           args={k: v for k, v in filters.items() if v},
                           enterprises=[] if own else _bottled(user), own=own,
                           validity_labels=validity_labels(), choices=choice_labels())


# path: a code may hold a "/" (SX/LPG/0001), which the default converter stops at; slashes kept as sent, so
# "a//b" is refused by the code check rather than redirected to another code.
@bp.get("/cylinders/<path:code>", merge_slashes=False)
def trace(code):
    user = _user()
    if not cylinder_trace.valid_code(code):
        raise NotFound(_("There is no such cylinder."))
    traces = cylinder_trace.find(db.session, _scope(user), code, today(),
                                 small_int(request.args.get("enterprise", "")))
    if not traces:
        raise NotFound(_("There is no such cylinder."))
    return render_template("cylinders/trace.html", code=code, traces=traces, validity_labels=validity_labels(),
                           event_labels=event_labels(), locations=location_labels(), choices=choice_labels())


@bp.get("/cylinder-labels")
def labels():
    """Printable QR labels: an enterprise's own cylinders; an authority picks one of its bottled enterprises."""
    import segno

    user = _user()
    enterprises = [] if access.is_enterprise_user(user) else _bottled(user)
    if access.is_enterprise_user(user):
        enterprise = db.session.get(Enterprise, user.enterprise_id)
    else:
        chosen = small_int(request.args.get("enterprise", ""))
        enterprise = next((e for e in enterprises if e.id == chosen), None)
    code = request.args.get("code", "").strip()
    code = code if cylinder_trace.valid_code(code) else ""
    page = page_number(request.args)
    items, total = [], 0
    if enterprise is not None:
        records, total = cylinder_trace.label_cylinders(db.session, enterprise.id, code or None,
                                                        (page - 1) * LABELS_PER_PAGE, LABELS_PER_PAGE)
        for r in records:
            url = public_url(enterprise.id, r.data.get("code"))
            items.append({"code": r.data.get("code"), "spec": r.data.get("spec"),
                          "qr": segno.make(url, error="m").svg_data_uri(scale=4, border=2)})
    filters = {"enterprise": enterprise.id if enterprise and enterprises else "", "code": code}
    return render_template("cylinders/labels.html", enterprise=enterprise, enterprises=enterprises, items=items,
                           total=total, page=page, pages=max(1, (total + LABELS_PER_PAGE - 1) // LABELS_PER_PAGE),
                           filters=filters, args={k: v for k, v in filters.items() if v})
