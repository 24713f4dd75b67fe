"""The data catalogue (数据目录, §7.1.2): every data kind with its responsible unit, update cycle, reporting limit,
update methods and the standard's item, all read from the kinds' one declaration (``forms/data_kinds.py``) and
the limits from the decision table ``data_reporting_limits``."""
from flask import Blueprint, render_template
from flask_babel import gettext as _
from flask_login import login_required

from forms.data_kinds import CYCLES, KINDS, METHODS, UNITS_RESPONSIBLE
from forms.enterprises import KIND_LABELS
from web.extensions import db
from workflows.services import data_timeliness

bp = Blueprint("data_catalogue", __name__, url_prefix="/data-catalogue")


@bp.before_request
@login_required
def signed_in():
    pass


def limit_text(limit: tuple[int, int]) -> str:
    days, hours = limit
    if hours:
        return _("%(days)d days %(hours)d hours after the period ends", days=days, hours=hours)
    return _("Within %(days)d days after the period ends", days=days)


@bp.get("")
def index():
    limits = data_timeliness.limits(db.session)
    rows = [{"kind": k, "unit": UNITS_RESPONSIBLE[k.unit], "cycle": CYCLES[k.cycle],
             "limit": limit_text(limits[k.cycle]) if k.periodic else "",
             "methods": [METHODS[m] for m in k.methods],
             "enterprise_kinds": [KIND_LABELS[e] for e in k.enterprise_kinds]} for k in KINDS]
    return render_template("data/catalogue.html", rows=rows)
