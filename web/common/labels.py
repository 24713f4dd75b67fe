"""How codes read on the pages (translated): roles, statuses, history events, data fields."""
from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from forms import FORMS
from forms.inspection import RESULTS as _RESULT_CHOICES

LOCAL_TZ = ZoneInfo("Asia/Shanghai")

ROLES = {
    "city_admin": _l("City authority admin"), "county_supervisor": _l("County supervisor"),
    "inspector": _l("Inspector"), "enterprise_admin": _l("Enterprise admin"),
    "enterprise_staff": _l("Enterprise staff"), "enterprise": _l("Enterprise"),
}
# The enforcement ledgers (A8), by key: their menu entries, dashboard links and page titles.
LEDGER_LABELS = {"inspections": _l("Inspection ledger"), "rectifications": _l("Rectification ledger"),
                 "penalties": _l("Penalty ledger"), "accidents": _l("Accident ledger")}
STATUSES = {"active": _l("Active"), "completed": _l("Completed"), "cancelled": _l("Cancelled"),
            "open": _l("Open")}
EVENTS = {
    "case_started": _l("Case opened"), "case_completed": _l("Case closed"),
    "task_created": _l("Task created"), "task_completed": _l("Task completed"),
    "task_cancelled": _l("Task withdrawn"), "task_claimed": _l("Task claimed"),
    "task_unclaimed": _l("Task released"), "task_assigned": _l("Task assigned"),
    "timer_fired": _l("Deadline passed"), "comment": _l("Comment"),
    "case_opened": _l("Linked case opened"), "follow_up_set": _l("Follow-up date changed"),
    "message_handled": _l("Message handled"),
}
RESULTS = dict(_RESULT_CHOICES)
EXTRA_FIELDS = {"overdue_count": _l("Times overdue"), "send_back_count": _l("Times sent back"),
                "user": _l("User"), "process": _l("Process"), "version": _l("Version"), "due": _l("Due"),
                "end": _l("End"), "end_name": _l("Outcome"), "follow_up_at": _l("Follow-up date"),
                "text": _l("Comment"), "attachments": _l("Files"), "case": _l("Case"), "title": _l("Title"),
                "message": _l("Message"), "parent": _l("Opened from"),
                # What the models compute and keep.
                "score": _l("Score"), "deducted": _l("Points deducted"), "problem_counts": _l("Problems by class"),
                "problem_count": _l("Problems"),
                "qualified": _l("Qualified"), "problems": _l("Problems found"), "results": _l("Checklist results"),
                "template_name": _l("Checklist template"), "template_kind": _l("Template kind"),
                "template_version": _l("Template version"), "inspection_count": _l("Inspections"),
                "code": _l("Item"), "points": _l("Points"), "problem_class": _l("Class"), "result": _l("Result"),
                "inspection_item": _l("Checklist item"), "city_approval": _l("Needs city approval"),
                "decisions": _l("Decisions"), "penalty_approval": _l("Penalty approval level"),
                "rectification_orders": _l("Rectification orders"), "penalty_requests": _l("Penalty cases"),
                "items": _l("Rows"), "review": _l("Review"), "ref": _l("No."), "summary": _l("Summary"),
                "accepted_rows": _l("Accepted rows"), "rejected_rows": _l("Rejected rows"),
                "rejected_count": _l("Rejected"), "review_round": _l("Review round"), "reason": _l("Reason"),
                "renewals": _l("Renewals"), "expires_at": _l("Expires at"), "warn_at": _l("Renewal asked from"),
                "remind_at": _l("Reminder on"),
                # A warning case's data (monitoring).
                "warning_id": _l("Warning"), "category": _l("Category"), "level": _l("Level"), "site": _l("Site"),
                "site_kind": _l("Site kind"), "sensor": _l("Sensor"), "quantity": _l("Quantity"),
                "peak_value": _l("Peak value"), "started_at": _l("Started at"), "measures": _l("Measures taken"),
                "resolved": _l("Resolved"), "source": _l("Source"), "data_kind": _l("Data kind"),
                "batch_id": _l("Batch"), "I": _l("Class I"), "II": _l("Class II"), "III": _l("Class III"),
                # The rectification model's deadlines (rectification_period.dmn, the working-day calendar).
                "rectification_period": _l("Rectification and verification periods"),
                "period_amount": _l("Period"), "period_unit": _l("Period unit"),
                "verify_due_at": _l("Verification due"), "verify_escalate_at": _l("Verification escalated at"),
                "extension_requested": _l("Extension asked for")}
# Values the models write that no form offers as a choice.
EXTRA_CHOICES = {("period_unit", "hours"): _l("hours"), ("period_unit", "days"): _l("days"),
                 ("period_unit", "working_days"): _l("working days")}


def _form_labels():
    labels, choices = {}, {}
    for cls in FORMS.values():
        for name, unbound in cls._unbound_fields or _unbound(cls):
            args = unbound.args
            kwargs = unbound.kwargs
            label = args[0] if args else kwargs.get("label")
            if label is not None:
                labels.setdefault(name, label)
            for value, text in kwargs.get("choices") or []:
                choices[(name, value)] = text
    return labels, choices


def _unbound(cls):
    return [(name, getattr(cls, name)) for name in dir(cls)
            if hasattr(getattr(cls, name, None), "field_class")]


# The browser and system of a User-Agent, most specific first (Edge and WeChat also say "Chrome"; Chrome
# also says "Safari"; "Chrome/" also finds HeadlessChrome): a person reads "Chrome 156 · Windows", not the header.
_BROWSERS = (("MicroMessenger", "微信"), ("Edg", "Edge"), ("Firefox", "Firefox"), ("Chrome", "Chrome"),
             ("Version", "Safari"))
_SYSTEMS = (("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iPadOS"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"), ("Linux", "Linux"))


def browser_label(user_agent: str | None) -> str:
    import re

    if not user_agent:
        return "—"
    browser = next((f"{name} {m.group(1)}" for token, name in _BROWSERS
                    if (m := re.search(rf"{token}/(\d+)", user_agent))), _("Other browser"))
    system = next((name for token, name in _SYSTEMS if token in user_agent), None)
    return f"{browser} · {system}" if system else browser


def register(app):
    labels, choices = _form_labels()
    choices.update(EXTRA_CHOICES)

    def localtime(value):
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                return value
        return value.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if value else ""

    def value_label(name, value):
        if name == "enterprise_id" and isinstance(value, int):
            from models import Enterprise
            from web.extensions import db

            enterprise = db.session.get(Enterprise, value)
            return enterprise.name if enterprise else value
        if isinstance(value, str) and (name, value) in choices:
            return choices[(name, value)]
        if isinstance(value, str) and len(value) >= 16 and value[4:5] == "-" and "T" in value:
            return localtime(value)
        if isinstance(value, bool):
            return _("Yes") if value else _("No")
        if value is None or value == "":
            return "—"
        if name == "enterprise_ids" and isinstance(value, list):
            from models import Enterprise
            from web.extensions import db

            names = dict(db.session.execute(select(Enterprise.id, Enterprise.name)
                                            .where(Enterprise.id.in_([v for v in value if isinstance(v, int)]))).all())
            return ", ".join(names.get(v, str(v)) for v in value)
        if name == "result" and isinstance(value, str):
            return RESULTS.get(value, value)
        if isinstance(value, list):
            return ", ".join(str(value_label(name, v)) for v in value)
        return value

    def table_columns(rows):
        cols = {}
        for row in rows:
            if isinstance(row, dict):
                cols.update(dict.fromkeys(row))
        return list(cols)

    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.filters["browser_label"] = browser_label
    app.jinja_env.globals.update(
        role_label=lambda r: ROLES.get(r, r), status_label=lambda s: STATUSES.get(s, s),
        event_label=lambda e: EVENTS.get(e, e),
        field_label=lambda n: labels.get(n) or EXTRA_FIELDS.get(n, n), value_label=value_label,
        table_columns=table_columns,
    )
