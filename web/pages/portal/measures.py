"""Supervision measures for the authority (issue 15 item 4): the month's indicators per enterprise and county,
today's safety scores with their rankings and every rule's points, the quarter's credit grades (the city admin
publishes the drafts), and the same as Excel. The daily job stores the scores; this page computes today's."""
from datetime import date

from babel.dates import format_skeleton
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from forms.data_kinds import PERIODIC
from models import Region
from web.common import xlsx
from web.common.unit_of_work import writes_done
from web.extensions import db
from web.pages.map import KIND_LABELS
from web.pages.portal.dashboard import authority_user
from workflows.engine import clock
from workflows.errors import InvalidInput, NotFound
from workflows.permissions import has_right
from workflows.services import safety_scores, supervision_measures
from workflows.services.shanghai_time import today

bp = Blueprint("measures", __name__, url_prefix="/portal/measures")


def percent(rate) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def hours(value) -> str:
    return "—" if value is None else _("%(h).1f h", h=value)


MONTHS_OFFERED = 24
QUARTERS_OFFERED = 8


def month_label(first: date) -> str:
    """A month in the reader's language whatever the browser's: 2026年12月, December 2026."""
    return format_skeleton("yMMMM", first, locale=str(get_locale() or "zh"))


def quarter_label(name: str) -> str:
    """'2026-Q4' → 2026年第4季度, Q4 2026."""
    return _("Q%(q)s %(year)s", q=name[6], year=name[:4])


def month_choices(now_day: date, chosen: date) -> list[tuple[str, str]]:
    """The last 24 months, newest first, as (YYYY-MM, label); a month asked for outside them (a link) too.
    A select, not <input type=month>: that one speaks the browser's language and has no picker in some."""
    first = now_day.replace(day=1)
    months = [supervision_measures.add_months(first, -i) for i in range(MONTHS_OFFERED)]
    if chosen not in months:
        months = sorted({*months, chosen}, reverse=True)
    return [(m.strftime("%Y-%m"), month_label(m)) for m in months]


def quarter_choices(now_day: date, chosen: str) -> list[tuple[str, str]]:
    """The quarter under way and the 8 before it, newest first; a quarter asked for outside them too."""
    names, first = [], now_day.replace(month=3 * ((now_day.month - 1) // 3) + 1, day=1)
    for i in range(QUARTERS_OFFERED + 1):
        start = supervision_measures.add_months(first, -3 * i)
        names.append(f"{start.year}-Q{(start.month - 1) // 3 + 1}")
    if chosen not in names:
        names = sorted({*names, chosen}, reverse=True)
    return [(n, quarter_label(n)) for n in names]


def _args(counties=None):
    """The month, county and quarter asked for; a bad one is shown on the page, the defaults used instead.
    ``counties``: the ids offered (the page checks the county asked for against them)."""
    errors, now_day = [], today()
    try:
        month = supervision_measures.parse_month(request.args.get("month"), now_day)
    except InvalidInput:
        errors.append(_("Choose a month from the list."))
        month = now_day.replace(day=1)
    try:
        quarter = safety_scores.parse_quarter(request.args.get("quarter"), now_day)[0]
    except InvalidInput:
        errors.append(_("Choose a quarter from the list."))
        quarter = safety_scores.parse_quarter(None, now_day)[0]
    county = request.args.get("county", type=int)
    if request.args.get("county") and (county is None or (counties is not None and county not in counties)):
        errors.append(_("Unknown county."))
        county = None
    return month, quarter, county, errors


def figures(user, month, quarter, county) -> dict:
    now = clock.now()
    return {"indicators": supervision_measures.indicators(db.session, user, PERIODIC, month, now, county),
            "scores": safety_scores.scores(db.session, user, PERIODIC, today(), today(), now, county),
            "grades": safety_scores.grades(db.session, user, quarter, today(), county)}


def summary(user, enterprise_id: int | None = None) -> dict:
    """This month's measures and today's scores for the dashboard (the area) or an enterprise home (one
    enterprise, with its latest published grade)."""
    now = clock.now()
    month = today().replace(day=1)
    ind = supervision_measures.indicators(db.session, user, PERIODIC, month, now, None, enterprise_id)
    sc = safety_scores.scores(db.session, user, PERIODIC, today(), today(), now, None, enterprise_id)
    out = {"month": ind["month"], "area": ind["area"], "scores": sc["scores"], "percent": percent, "hours": hours,
           "month_name": month_label(month), "quarter_label": quarter_label}
    if enterprise_id is not None:
        out["row"] = ind["enterprises"][0] if ind["enterprises"] else None
        out["grade"] = safety_scores.latest_published(db.session, enterprise_id)
    return out


@bp.get("")
@login_required
def index():
    user = authority_user()
    counties = db.session.query(Region).filter(Region.level == "county").order_by(Region.code).all()
    month, quarter, county, errors = _args({c.id for c in counties})
    return render_template("portal/measures.html", f=figures(user, month, quarter, county), errors=errors,
                           month=month.strftime("%Y-%m"), quarter=quarter, county=county, counties=counties,
                           month_name=month_label(month), quarter_name=quarter_label(quarter),
                           months=month_choices(today(), month), quarters=quarter_choices(today(), quarter),
                           kinds={k: str(v) for k, v in KIND_LABELS.items()}, percent=percent, hours=hours,
                           data_kinds={k.key: k.label for k in PERIODIC},
                           may_publish=has_right(user, "grades.publish"),
                           status_labels={"draft": _("Awaiting approval"), "published": _("Published")})


@bp.post("/grades/<quarter>/publish")
@login_required
def publish(quarter):
    user = current_user._get_current_object()
    if not has_right(user, "grades.publish"):
        abort(403)
    try:
        n = safety_scores.publish_grades(db.session, quarter, user, today(), clock.now())
    except InvalidInput:
        abort(404)
    except NotFound:
        abort(404)
    writes_done()
    flash(_("%(n)s credit grades published.", n=n))
    return redirect(url_for("measures.index", quarter=quarter))


@bp.post("/grades/<quarter>/draft")
@login_required
def draft(quarter):
    """Draft (again) the quarter's grades from its stored daily scores, e.g. when the daily job missed the
    quarter's first day; published grades stay as they are."""
    user = current_user._get_current_object()
    if not has_right(user, "grades.publish"):
        abort(403)
    try:
        name, _first, after = safety_scores.parse_quarter(quarter, today())
    except InvalidInput:
        abort(404)
    if after > today():
        flash(_("A quarter's grades are drafted once it has ended."))
        return redirect(url_for("measures.index", quarter=name))
    n = safety_scores.compute_grades(db.session, name, today(), clock.now())
    writes_done()
    flash(_("%(n)s credit grades drafted.", n=n))
    return redirect(url_for("measures.index", quarter=name))


@bp.get("/export.xlsx")
@login_required
def export():
    user = authority_user("reports.export")
    counties = set(db.session.scalars(select(Region.id).where(Region.level == "county")))
    month, quarter, county, _errors = _args(counties)
    f = figures(user, month, quarter, county)
    kinds = KIND_LABELS
    rows = f["indicators"]["enterprises"]

    def measure_row(r):
        c, p, rc, t, w = (r["household_coverage"], r["patrol"], r["rectification"], r["timeliness"],
                          r["warning_disposal"])
        return [c["registered"], c["inspected"], percent(c["rate"]), p["done"], p["planned"], percent(p["rate"]),
                rc["closed"], rc["on_time"], percent(rc["rate"]), t["expected"], t["on_time"], percent(t["rate"]),
                w["closed"], w["median_hours"], w["mean_hours"]]

    head = ["登记用户数", "已入户安检", "入户安检覆盖率", "巡查次数", "计划巡查次数", "巡查完成率", "已结案整改",
            "按期整改", "整改按期率", "应报数据", "按时报送", "数据及时率", "已关闭预警", "处置时长中位数(小时)",
            "处置时长平均数(小时)"]
    never = [[r["enterprise"]["name"], u["user_ref"], u["name"], "是" if u["never"] else "否"] for r in rows
             for u in r["household_coverage"]["not_inspected"]]
    sheets = [
        (f"监管指标{f['indicators']['month']}", ["企业", "区县", "企业类型", *head],
         [[r["enterprise"]["name"], r["enterprise"]["county"], xlsx.zh(kinds.get(r["enterprise"]["kind"], "")),
           *measure_row(r)] for r in rows]),
        ("区县汇总", ["区县", "企业数", *head],
         [[c["county"]["name"], c["enterprises"], *measure_row(c)] for c in f["indicators"]["counties"]]),
        ("未入户安检用户", ["企业", "用户编号", "用户姓名", "从未安检"], never),
        (f"安全评分{f['scores']['day']}", ["企业", "区县", "评分", "区县排名", "全市排名", "扣分说明"],
         [[s["enterprise"]["name"], s["county"]["name"], s["score"], f"{s['county_rank']}/{s['county_of']}",
           f"{s['city_rank']}/{s['city_of']}", ";".join(r["description"] for r in s["details"]["rules"]) or "无扣分"]
          for s in f["scores"]["scores"]]),
        (f"信用等级{f['grades']['quarter']}", ["企业", "季度平均分", "信用等级", "状态"],
         [[g["enterprise"]["name"], g["average_score"], g["grade"],
           "已发布" if g["status"] == "published" else "待审核"] for g in f["grades"]["grades"]]),
    ]
    return xlsx.response(f"监管指标与安全评分{f['indicators']['month']}.xlsx", sheets)
