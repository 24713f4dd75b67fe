"""The enterprise portal home (§5.5): an enterprise account's own page; the authority opens the same page for
an enterprise of its area."""
from flask import Blueprint, abort, render_template
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from forms.data_kinds import KINDS_BY_KEY
from forms.training import RESULTS
from forms.warning import CATEGORY_CHOICES, LEVEL_CHOICES
from models import Enterprise
from web.extensions import db
from workflows import access
from workflows.engine import clock
from workflows.services import data_timeliness, enterprise_overview

bp = Blueprint("enterprise_home", __name__, url_prefix="/enterprise")


def _labels() -> dict:
    return {"kind": {k: v.label for k, v in KINDS_BY_KEY.items()}, "result": dict(RESULTS),
            "category": dict(CATEGORY_CHOICES), "level": dict(LEVEL_CHOICES),
            "batch": {"in_review": _("In review"), "reviewed": _("Reviewed"), "unchanged": _("Unchanged")},
            "report": {"missing": _("Missing"), "late": _("Late")},
            "group": {"orders": _("Rectification orders to answer"), "certificates": _("Certificates to renew"),
                      "data": _("Data sent back"), "other": _("Other tasks")}}


@bp.before_request
@login_required
def signed_in():
    pass


@bp.get("/")
def index():
    user = current_user._get_current_object()
    if access.is_enterprise_user(user):
        return home(user.enterprise_id)
    # The authority picks one of the enterprises of its area.
    enterprises = db.session.scalars(select(Enterprise).where(access.enterprise_scope(user))
                                     .order_by(Enterprise.county_id, Enterprise.name)).all()
    if not enterprises:
        abort(404)
    return render_template("enterprise/pick.html", enterprises=enterprises)


@bp.get("/<int:enterprise_id>")
def home(enterprise_id):
    user = current_user._get_current_object()
    enterprise = enterprise_overview.visible_enterprise(db.session, user, enterprise_id)
    if enterprise is None:
        abort(404)
    from .measures import summary

    return render_template("enterprise/home.html", view=enterprise_overview.overview(db.session, user, enterprise),
                           labels=_labels(), own=access.is_enterprise_user(user),
                           measures=summary(user, enterprise.id), reports=late_reports(enterprise.id))


def late_reports(enterprise_id: int) -> list[dict]:
    """The periodic reports missing or late of about the last quarter, with how late in words."""
    rows = data_timeliness.outstanding(db.session, enterprise_id, clock.now())
    for r in rows:
        days, hours = divmod(r["hours_late"], 24)
        r["late_by"] = _("%(days)d days %(hours)d hours", days=days, hours=hours) if days else \
            _("%(hours)d hours", hours=hours)
    return rows
