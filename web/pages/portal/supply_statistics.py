"""Statistics pages (A1.9, A2.3): daily and monthly supply and delivery volumes from accepted reported data,
with a date range, county and enterprise filters, a chart (from the .json twin) and an Excel export."""
from flask import Blueprint, jsonify, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from forms.data_kinds import UNITS, USER_TYPES
from web.common import xlsx
from web.common.http_errors import json_error
from web.extensions import db
from web.pages.map import KIND_LABELS
from workflows.errors import InvalidInput
from workflows.services import supply_volumes as stats
from workflows.services.report_filters import counties_in_scope, enterprises_in_scope, parse_filters

from .dashboard import authority_user

bp = Blueprint("statistics", __name__)
MEASURE_LABELS = {"inbound": _l("Inbound"), "supplied": _l("Supplied"), "delivered": _l("Delivered")}
CATEGORY_LABELS = {**dict(USER_TYPES), "piped": _l("Piped (m³)"), "non_piped": _l("Non-piped (m³)")}
UNIT_LABELS = dict(UNITS)
MEASURE_ZH = {"inbound": "入库量", "supplied": "供气量", "delivered": "送气量"}
CATEGORY_ZH = {"residential": "居民(m³)", "industrial": "工业(m³)", "commercial": "商业(m³)",
               "public_welfare": "公福(m³)", "vehicle": "燃气汽车(m³)", "piped": "管输(m³)", "non_piped": "非管输(m³)"}


def _period(value: str | None) -> str:
    period = value or "day"
    if period not in stats.PERIODS:
        raise InvalidInput("unknown period", {"period": ["Either day or month."]})
    return period


def _query(right: str = "reports.view"):
    user = authority_user(right)
    return user, _period(request.args.get("period")), parse_filters(db.session, user, request.args)


def _labels() -> dict:
    return {"kinds": {k: str(v) for k, v in KIND_LABELS.items()}, "units": {k: str(v) for k, v in UNIT_LABELS.items()},
            "measures": {k: str(v) for k, v in MEASURE_LABELS.items()},
            "categories": {k: str(v) for k, v in CATEGORY_LABELS.items()}}


@bp.get("/statistics/volumes")
@login_required
def volumes():
    user = authority_user()
    choices = {"counties": counties_in_scope(db.session, user), "enterprises": enterprises_in_scope(db.session, user)}
    try:
        user, period, f = _query()
    except InvalidInput as exc:
        # The page comes back with what was typed and what is wrong with it.
        return render_template("portal/statistics.html", result=None, errors=exc.fields, args=request.args,
                               period=request.args.get("period") if request.args.get("period") in stats.PERIODS
                               else "day", labels=_labels(), **choices), 400
    result = stats.volumes(db.session, user, f, period)
    return render_template("portal/statistics.html", result=result, errors={}, args=request.args, period=period,
                           labels=_labels(), filters=f, **choices)


@bp.get("/statistics/volumes.json")
@login_required
def volumes_json():
    try:
        user, period, f = _query()
    except InvalidInput as exc:
        return json_error(400, exc.code, exc.message, exc.fields)
    return jsonify({**stats.volumes(db.session, user, f, period), "labels": _labels()})


@bp.get("/statistics/volumes.xlsx")
@login_required
def volumes_export():
    try:
        user, period, f = _query("reports.export")
    except InvalidInput as exc:
        return json_error(400, exc.code, exc.message, exc.fields)
    result = stats.volumes(db.session, user, f, period)
    first = "日期" if period == "day" else "月份"
    sheets = [("供气与送气量", [first, "企业类型", "计量单位", "记录数", *MEASURE_ZH.values()],
               [[r["period"], xlsx.zh(KIND_LABELS.get(r["enterprise_kind"], r["enterprise_kind"])),
                 xlsx.zh(UNIT_LABELS.get(r["unit"], r["unit"] or "")), r["records"],
                 *(r[m] for m in stats.DAILY_MEASURES)] for r in result["daily"]])]
    if period == "month":
        sheets.append(("分类供气量", ["月份", "记录数", *CATEGORY_ZH.values()],
                       [[r["period"], r["records"], *(r[c] for c in stats.CATEGORIES)] for r in result["categories"]]))
    return xlsx.response("日供气量统计.xlsx" if period == "day" else "月供气量统计.xlsx", sheets)


@bp.app_template_global()
def statistics_url(endpoint: str, period: str, filters) -> str:
    """A link to ``endpoint`` with the page's period and its checked filters."""
    return url_for(endpoint, period=period, **filters.as_args())

