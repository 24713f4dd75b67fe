"""The authorities' home dashboard (§5.5, A5.2): open and overdue cases, warnings, enterprises, the
inspection summary, rectification in time, penalties and a map, over the caller's area. The page
draws its charts from /portal/dashboard.json (CSP allows no inline script)."""
from flask import Blueprint, abort, jsonify, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from forms.penalty import PENALTY_TYPES
from web.common import xlsx
from web.common.labels import LEDGER_LABELS, process_names
from web.extensions import db
from web.pages.map import KIND_LABELS, LEVEL_LABELS
from workflows.engine import clock
from workflows.errors import Forbidden
from workflows.permissions import has_right
from workflows.services import dashboard_figures as figures
from workflows.services.report_filters import require_authority

bp = Blueprint("portal", __name__)
PENALTY_LABELS = dict(PENALTY_TYPES)
CLASS_LABELS = {"I": _l("Class I"), "II": _l("Class II"), "III": _l("Class III")}


def authority_user(right: str = "reports.view"):
    """The signed-in user holding ``right`` (reports.view, or reports.export for the Excel files) with an
    area to report on; anyone else is refused (403). The right never widens the area."""
    user = current_user._get_current_object()
    try:
        require_authority(user)
    except Forbidden:
        abort(403)
    if not has_right(user, "reports.view") or not has_right(user, right):
        abort(403)
    return user


def _labels() -> dict:
    return {"processes": process_names(), "kinds": {k: str(v) for k, v in KIND_LABELS.items()},
            "levels": {str(k): str(v) for k, v in LEVEL_LABELS.items()},
            "penalty_types": {k: str(v) for k, v in PENALTY_LABELS.items()},
            "classes": {k: str(v) for k, v in CLASS_LABELS.items()}}


@bp.get("/portal/")
@login_required
def index():
    user = authority_user()
    data = figures.dashboard(db.session, user, clock.now())
    from .measures import summary

    return render_template("portal/dashboard.html", figures=data, labels=_labels(), measures=summary(user),
                           ledger_links=[(k, str(v)) for k, v in LEDGER_LABELS.items()],
                           text={"open": str(_l("Open")), "suspended": str(_l("Suspended")),
                                 "overdue": str(_l("Overdue")),
                                 "count": str(_l("Cases")), "amount": str(_l("Amount (yuan)")),
                                 "enterprises": str(_l("Enterprises")), "qualified": str(_l("Qualified")),
                                 "open_cases": str(_l("Open cases")), "warnings": str(_l("Open warnings")),
                                 "failed": str(_l("The figures could not be loaded."))})


@bp.get("/portal/dashboard.json")
@login_required
def data():
    user = authority_user()
    return jsonify({**figures.dashboard(db.session, user, clock.now()), "labels": _labels(),
                    "map_features": url_for("map_api.map_features", layers="warnings,cases"),
                    "boundaries": url_for("map_pages.boundaries")})


@bp.get("/portal/dashboard.xlsx")
@login_required
def export():
    user = authority_user("reports.export")
    d = figures.dashboard(db.session, user, clock.now())
    names, kinds = process_names("zh"), KIND_LABELS
    sheets = [
        ("在办案件", ["业务流程", "区县", "在办数", "其中暂停", "逾期数"],
         [[names.get(r["process"], r["process"]), r["county"], r["open"], r["suspended"], r["overdue"]]
          for r in d["open_cases"]]),
        ("预警", ["预警级别", "未关闭预警数"],
         [[xlsx.zh(LEVEL_LABELS.get(level, level)), n] for level, n in d["warnings"].items()]),
        ("区县", ["区县", "行政区划代码", "在办案件", "未关闭预警"],
         [[r["name"], r["code"], r["open_cases"], r["warnings"]] for r in d["counties"]]),
        ("企业", ["企业类型", "企业数"], [[xlsx.zh(kinds[k]), n] for k, n in d["enterprises"].items()]),
        ("考核检查汇总", ["企业类型", "企业总数", "已检查", "合格", "存在Ⅰ类问题", "存在Ⅱ类问题", "存在Ⅲ类问题"],
         [["合计" if k == "total" else xlsx.zh(kinds[k]), v["enterprises"], v["inspected"], v["qualified"],
           v["class_I"], v["class_II"], v["class_III"]] for k, v in d["inspections"].items()]),
        ("整改按期率", ["已结案整改", "按期整改", "按期率"],
         [[d["rectification"]["closed"], d["rectification"]["on_time"], d["rectification"]["rate"]]]),
        ("处罚", ["处罚类型", "案件数", "拟处罚金额(元)", "已结案", "已缴金额(元)"],
         [[xlsx.zh(PENALTY_LABELS.get(r["penalty_type"], r["penalty_type"])), r["count"], r["amount"],
           r["completed"], r["paid"]] for r in d["penalties"]]),
    ]
    return xlsx.response("监管概览.xlsx", sheets)
