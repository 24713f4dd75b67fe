"""Enforcement ledgers (A8.1–A8.4) as pages: searchable, paged lists read from the cases, with an Excel
export of every matching row."""
from flask import Blueprint, abort, jsonify, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from web.common import xlsx
from web.common.http_errors import json_error
from web.common.labels import LEDGER_LABELS, STATUSES
from web.common.params import small_int
from web.extensions import db
from workflows.errors import InvalidInput
from workflows.services import enforcement_ledgers as ledgers
from workflows.services.report_filters import ReportFilters, counties_in_scope, enterprises_in_scope, parse_filters

from .dashboard import authority_user

bp = Blueprint("ledger", __name__)
PER_PAGE, MAX_PER_PAGE = 50, 200
# The case's own columns; the rest are case data, labelled as the case page labels them.
CASE_COLUMNS = {"id": "#", "title": _l("Title"), "enterprise": _l("Enterprise"), "county": _l("County"),
                "created_at": _l("Opened"), "status": _l("Status"), "completed_at": _l("Closed")}
# Fixed Chinese headers of the exports (the standard's words), by row key.
HEADERS_ZH = {
    "id": "案卷号", "title": "标题", "status": "状态", "created_at": "立案时间", "completed_at": "结案时间",
    "enterprise": "企业", "county": "区县",
    "name": "检查活动", "level": "检查级别", "department": "检查单位", "planned_on": "检查日期", "score": "得分",
    "qualified": "是否合格", "problem_count": "隐患数", "problem_counts_I": "Ⅰ类问题", "problem_counts_II": "Ⅱ类问题",
    "problem_counts_III": "Ⅲ类问题",
    "hazard_class": "隐患等级", "hazard_description": "隐患描述", "deadline_at": "整改期限", "response": "整改情况",
    "decision": "核查结论", "overdue_count": "逾期次数", "send_back_count": "退回次数",
    "source": "来源", "facts": "案件事实", "penalty_type": "处罚类型", "amount": "处罚金额(元)",
    "listed": "是否挂牌督办",
    "document_no": "决定书文号", "served_at": "送达时间", "outcome": "执行结果", "paid_amount": "已缴金额(元)",
    "decided_at": "决定时间", "service_method": "送达方式", "payment": "缴纳情况", "surcharge": "加处罚款(元)",
    "enforcement": "强制执行",
    "accident_type": "事故类型", "occurred_at": "发生时间", "address": "地址", "casualties": "伤亡人数",
    "economic_loss": "直接经济损失(元)",
}
FILE_NAMES = {"inspections": "执法检查台账", "rectifications": "整改记录台账", "penalties": "处罚记录台账",
              "accidents": "事故台账"}
# Case data whose values are codes labelled by the forms' choices.
CODED = {"level", "hazard_class", "decision", "source", "penalty_type", "outcome", "accident_type", "service_method",
         "payment", "enforcement"}


def _book(key: str) -> ledgers.Ledger:
    if key not in ledgers.LEDGERS:
        abort(404)
    return ledgers.LEDGERS[key]


def _columns(book: ledgers.Ledger) -> list[str]:
    return ["id", "title", "enterprise", "county", "created_at", "status", *(c.name for c in book.columns),
            "completed_at"]


def _paging() -> tuple[int, int]:
    number = small_int(request.args.get("page", "1")) or 1
    per_page = min(small_int(request.args.get("per_page", "")) or PER_PAGE, MAX_PER_PAGE)
    return number, per_page


def _data_name(column: str) -> str:
    # "problem_counts_I" is labelled as its class ("I").
    return column.rsplit("_", 1)[1] if column.startswith("problem_counts_") else column


@bp.get("/ledger/<key>")
@login_required
def index(key):
    user = authority_user()
    book = _book(key)
    choices = {"counties": counties_in_scope(db.session, user), "enterprises": enterprises_in_scope(db.session, user)}
    common = {"book": book, "key": key, "title": LEDGER_LABELS[key], "columns": _columns(book),
              "data_name": _data_name, "case_columns": CASE_COLUMNS, "args": request.args,
              "ledger_labels": LEDGER_LABELS, **choices}
    try:
        f = parse_filters(db.session, user, request.args)
    except InvalidInput as exc:
        return render_template("portal/ledger.html", result=None, errors=exc.fields, filters=ReportFilters(),
                               **common), 400
    result = ledgers.page(db.session, user, key, f, *_paging())
    return render_template("portal/ledger.html", result=result, errors={}, filters=f, **common)


@bp.get("/ledger/<key>/data.json")
@login_required
def page_json(key):
    user = authority_user()
    _book(key)
    try:
        f = parse_filters(db.session, user, request.args)
    except InvalidInput as exc:
        return json_error(400, exc.code, exc.message, exc.fields)
    return jsonify(ledgers.page(db.session, user, key, f, *_paging()))


@bp.get("/ledger/<key>/export.xlsx")
@login_required
def export(key):
    user = authority_user("reports.export")
    book = _book(key)
    try:
        f = parse_filters(db.session, user, request.args)
    except InvalidInput as exc:
        return json_error(400, exc.code, exc.message, exc.fields)
    columns = _columns(book)
    rows = []
    for item in ledgers.all_rows(db.session, user, key, f):
        row = []
        for c in columns:
            value = item[c]
            if c == "status":
                value = xlsx.zh(STATUSES.get(value, value))
            elif c in CODED or isinstance(value, bool) or c.endswith("_at") and isinstance(value, str):
                value = xlsx.value_zh(c, value) if value is not None else None
            row.append(value)
        rows.append(row)
    return xlsx.response(f"{FILE_NAMES[key]}.xlsx", [(FILE_NAMES[key], [HEADERS_ZH[c] for c in columns], rows)])


@bp.app_template_global()
def ledger_url(endpoint: str, key: str, filters, **extra) -> str:
    return url_for(endpoint, key=key, **filters.as_args(), **extra)
