"""The certificate register (A4.3): the certificates of the caller's area with statistics by kind,
status and county, each with its history; revocation by the authority."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from forms.certificate import KINDS
from forms.certificate_register import ACTION_LABELS, STATUS_LABELS, CertificateFilterForm, RevokeForm
from models import Region
from web.common import xlsx
from web.common.unit_of_work import writes_done
from web.extensions import db
from workflows.engine import clock
from workflows.errors import InvalidInput
from workflows.services import certificate_register as register

bp = Blueprint("certificates", __name__, url_prefix="/certificates")


@bp.before_request
@login_required
def signed_in():
    pass


def _me():
    return current_user._get_current_object()


def _filters():
    form = CertificateFilterForm(MultiDict(request.args))
    counties = db.session.scalars(select(Region).where(Region.level == "county").order_by(Region.code)).all()
    form.county.choices = [("", _("All"))] + [(str(r.id), r.name) for r in counties]
    valid = form.validate()
    county = int(form.county.data) if valid and (form.county.data or "").isdigit() else None
    stmt = register.query(_me(), form.kind.data if valid else None, form.status.data if valid else None, county,
                          (form.q.data or "").strip() if valid else None)
    return form, valid, stmt, {r.id: r.name for r in counties}


@bp.get("")
def index():
    form, valid, stmt, counties = _filters()
    rows = db.session.scalars(stmt.limit(500)).all() if valid else []
    return render_template("certificates.html", form=form, rows=rows, stats=register.statistics(db.session, _me()),
                           kinds=dict(KINDS), statuses=STATUS_LABELS, counties=counties), 200 if valid else 422


@bp.get("/export.xlsx")
def export():
    form, valid, stmt, _counties = _filters()
    if not valid:
        return index()
    kinds = dict(KINDS)
    rows = [[c.enterprise.name, str(kinds.get(c.kind, "")), c.number, c.holder, c.issued_on, c.expires_on,
             str(STATUS_LABELS.get(c.status, ""))] for c in db.session.scalars(stmt)]
    headers = [_("Enterprise"), _("Certificate kind"), _("Certificate number"), _("Holder"), _("Issued on"),
               _("Expires on"), _("Status")]
    return xlsx.response("证书登记.xlsx", [(_("Certificates"), [str(h) for h in headers], rows)])


def _detail(cert, form=None, status=200):
    return render_template("certificate.html", cert=cert, history=register.history(db.session, cert.id),
                           form=form or RevokeForm(), kinds=dict(KINDS), statuses=STATUS_LABELS,
                           actions=ACTION_LABELS, may_revoke=register.may_revoke(_me(), cert)), status


@bp.get("/<int:certificate_id>")
def detail(certificate_id):
    return _detail(register.get(db.session, _me(), certificate_id))


@bp.post("/<int:certificate_id>/revoke")
def revoke(certificate_id):
    cert = register.get(db.session, _me(), certificate_id)
    form = RevokeForm()
    if not form.validate():
        return _detail(cert, form, 422)
    try:
        register.revoke(db.session, _me(), cert, form.reason.data, clock.now())
    except InvalidInput:
        form.reason.errors = [_("Say why the certificate is revoked.")]
        return _detail(cert, form, 422)
    writes_done()
    flash(_("Certificate %(number)s is revoked.", number=cert.number), "success")
    return redirect(url_for(".detail", certificate_id=cert.id), 303)
