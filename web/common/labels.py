"""How codes read on the pages (translated): roles, statuses, history events, data fields.

The thin Flask adapter of workflows/services/presentation.py, where every value is presented (labels,
yes/no, money, Beijing time, names): this module gives it the reader's translator and locale, the labels
of the forms, and registers its functions for the templates under their long-standing names.
"""
import re
from pathlib import Path

from flask import current_app, g, has_app_context
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from forms import FORMS
from forms.accident import GRADES as _GRADE_CHOICES
from forms.fields import AttachmentsField
from forms.inspection import RESULTS as _RESULT_CHOICES
from workflows.engine import period_kinds
from workflows.services import presentation
from workflows.services.presentation import SHANGHAI as LOCAL_TZ  # noqa: F401  (kept for importers)

ROLES = {
    "city_admin": _l("City authority admin"), "county_supervisor": _l("County supervisor"),
    "inspector": _l("Inspector"), "enterprise_admin": _l("Enterprise admin"),
    "enterprise_staff": _l("Enterprise staff"), "enterprise": _l("Enterprise"),
}
# The enforcement ledgers (A8), by key: their menu entries, dashboard links and page titles.
LEDGER_LABELS = {"inspections": _l("Inspection ledger"), "rectifications": _l("Rectification ledger"),
                 "penalties": _l("Penalty ledger"), "accidents": _l("Accident ledger")}
STATUSES = {"active": _l("In progress"), "completed": _l("Completed"), "cancelled": _l("Cancelled"),
            "suspended": _l("Suspended"),
            "open": _l("Open")}
EVENTS = {
    "case_started": _l("Case opened"), "case_completed": _l("Case closed"),
    "task_created": _l("Task created"), "task_completed": _l("Task completed"),
    "task_cancelled": _l("Task withdrawn"), "task_claimed": _l("Task claimed"),
    "task_unclaimed": _l("Task released"), "task_assigned": _l("Task assigned"),
    "timer_fired": _l("Deadline passed"), "comment": _l("Comment"),
    "case_opened": _l("Linked case opened"), "follow_up_set": _l("Follow-up date changed"),
    "message_handled": _l("Message handled"), "flagged": _l("Flagged"),
    "case_cancelled": _l("Case cancelled"), "case_suspended": _l("Case suspended"),
    "case_resumed": _l("Case resumed"), "case_transferred": _l("Case transferred"),
    "case_migrated": _l("Case moved to a newer model version"), "task_delegated": _l("Task delegated"),
    "authority_notified": _l("Authority notified"),
}
# Whom a model's notify.authority message reached (workflows/notify.py AUTHORITY_AUDIENCES).
AUDIENCES = {"county": _l("County supervisor and inspectors"), "supervisor": _l("County supervisor"),
             "inspector": _l("Inspector in charge of the case"),
             "city": _l("City authority")}
RESULTS = dict(_RESULT_CHOICES)
GRADES = dict(_GRADE_CHOICES)
MONEY_FIELDS = {"direct_loss", "reported_direct_loss"}  # yuan, shown as 80,000.00 元
# The messages models throw, as the history names them (workflows/services/handlers.py).
MESSAGES = {"notify.authority": _l("Authority notified"), "notify.enterprise": _l("Enterprise notified")}
EXTRA_FIELDS = {"overdue_count": _l("Times overdue"), "send_back_count": _l("Times sent back"),
                "user": _l("User"), "process": _l("Process"), "version": _l("Version"), "due": _l("Due"),
                "end": _l("End"), "end_name": _l("Outcome"), "follow_up_at": _l("Follow-up date"),
                "text": _l("Comment"), "attachments": _l("Files"), "case": _l("Case"), "title": _l("Title"),
                "message": _l("Message"), "parent": _l("Opened from"),
                # Control of running cases.
                "delegate": _l("Delegated to"), "from_county": _l("From county"),
                "to_county": _l("To county"), "from_version": _l("From version"), "to_version": _l("To version"),
                "paused_hours": _l("Hours suspended"),
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
                # An inspection's location check-in and the photos of its checklist items (field work).
                "checkin": _l("Location check-in"), "accuracy_m": _l("Accuracy"), "photos": _l("Photos"),
                "inspectors": _l("Inspectors"), "assignee": _l("Assignee"), "certificate": _l("Certificate"),
                "answers": _l("Checklist answers"), "index": _l("No."),
                # The penalty procedure (行政处罚法 2021): what its model computes and keeps.
                "filing_limit_days": _l("Days from discovery to filing"),
                "defence_days": _l("Working days for statement and defence"),
                "hearing_request_days": _l("Working days to ask for a hearing"),
                "hearing_notice_days": _l("Working days between the hearing notice and the hearing"),
                "service_days": _l("Working days to serve the decision"),
                "court_days": _l("Working days from the reminder to the court"),
                "decision_days": _l("Days from filing to the decision"),
                "payment_days": _l("Days from service to payment"), "filing_due": _l("To be filed by"),
                "filed_at": _l("Filed at"), "decision_due": _l("Decision due by"),
                "decision_remind_at": _l("Reminder of the decision limit on"), "limit_at": _l("Decision limit"),
                "notified_at": _l("Notified at"), "notified_type": _l("Notified penalty type"),
                "notified_amount": _l("Notified amount (yuan)"), "notified_basis": _l("Notified legal basis"),
                "defence_due": _l("Statement and defence by"), "hearing_right": _l("Right to a hearing"),
                "hearing_request_due": _l("Hearing to be asked for by"), "party_due": _l("The party's period ends"),
                "defended": _l("Stated and defended"), "hearing_requested": _l("Hearing asked for"),
                "hearing_held": _l("Hearing held"), "postponed_from": _l("Hearing postponed from"),
                "legal_review": _l("Needs legal review"),
                "collective": _l("Needs collective discussion"), "decided_at": _l("Decided at"),
                "decided_type": _l("Penalty decided"), "decided_amount": _l("Amount decided (yuan)"),
                "decided_basis": _l("Legal basis of the decision"), "service_due": _l("To be served by"),
                "payment_due": _l("To be paid by"), "days_late": _l("Days late"),
                "total_due": _l("Total due (yuan)"), "reminded_at": _l("Reminder served at"),
                "court_from": _l("The reminder's period ends (court after it)"),
                "penalty_periods": _l("Periods of the procedure"),
                "penalty_hearing": _l("Right to a hearing"), "penalty_review": _l("Legal review and discussion"),
                "flag": _l("Flag"), "role": _l("Role"),
                "to": _l("Told"), "people": _l("People told"),
                "ack_due": _l("Acknowledge by"),
                "dispose_due": _l("Dispose of by"), "city_due": _l("Escalated to the city at"),
                # An accident's grade, reports and periods (Decree 493).
                "grade": _l("Accident grade"), "report_up": _l("Reported beyond the city"),
                "upward_reports": _l("Reports upward"), "received_at": _l("Report received at"),
                "enterprise_report_due": _l("Enterprise report due"), "county_report_due": _l("County report due"),
                "up_report_due": _l("City report due"), "investigation_due": _l("Investigation report due"),
                "extension_granted_days": _l("Extension granted (days)"),
                # The rectification model's deadlines (rectification_period.dmn, the working-day calendar).
                "rectification_period": _l("Rectification and verification periods"),
                "period_amount": _l("Period"), "period_unit": _l("Period unit"),
                "verify_due_at": _l("Verification due"), "verify_escalate_at": _l("Verification escalated at"),
                "extension_requested": _l("Extension asked for")}
# The penalty procedure's periods, by the unit the case's model version counts each in (its scripts: an earlier
# version counted defence_days in calendar days); EXTRA_FIELDS above names each as the current version counts it.
# PERIOD_ENDS: the date each period gives, for a version that counts it with a number of its own.
PERIOD_ENDS = {"defence_days": "defence_due", "hearing_request_days": "hearing_request_due",
               "service_days": "service_due", "court_days": "court_from", "filing_limit_days": "filing_due",
               "decision_days": "decision_due", "payment_days": "payment_due"}
PERIOD_LABELS = {
    "defence_days": {"working_days": EXTRA_FIELDS["defence_days"], "days": _l("Days for statement and defence")},
    "hearing_request_days": {"working_days": EXTRA_FIELDS["hearing_request_days"],
                             "days": _l("Days to ask for a hearing")},
    "service_days": {"working_days": EXTRA_FIELDS["service_days"], "days": _l("Days to serve the decision")},
    "court_days": {"working_days": EXTRA_FIELDS["court_days"], "days": _l("Days from the reminder to the court")},
    "filing_limit_days": {"days": EXTRA_FIELDS["filing_limit_days"],
                          "working_days": _l("Working days from discovery to filing")},
    "decision_days": {"days": EXTRA_FIELDS["decision_days"],
                      "working_days": _l("Working days from filing to the decision")},
    "payment_days": {"days": EXTRA_FIELDS["payment_days"], "working_days": _l("Working days from service to payment")},
}
# Case data that holds a choice of a form field under another name (the notified and the decided penalty).
CHOICE_ALIASES = {"notified_type": "penalty_type", "decided_type": "penalty_type"}

# The filters of the portal's lists and the warnings (workflows/services/report_filters.py): their fields
# and the engine's English refusals, as a page reads them.
FILTER_FIELDS = {"date_from": _l("Start date"), "date_to": _l("End date"), "county": _l("County"),
                 "enterprise": _l("Enterprise"), "q": _l("Search"), "status": _l("Status"), "period": _l("Period")}
FILTER_MESSAGES = {m: m for m in (
    _l("Not a date (YYYY-MM-DD)."), _l("Not a valid id."), _l("Must not be before the start date."),
    _l("At most ten years."), _l("Unknown county."), _l("Unknown enterprise."), _l("Unknown status."))}
# The kinds of checklist templates (A5.1).
TEMPLATE_KIND_LABELS = {
    "enterprise_safety": _l("Enterprise safety management"), "user_safety": _l("User safety management"),
    "high_pressure": _l("City high-pressure gas"), "medium_low_pressure": _l("Medium and low pressure distribution"),
    "cng_station": _l("CNG station"), "lng_station": _l("LNG station"), "lpg_station": _l("LPG station"),
}
# The flags the penalty model raises with notify.authority (bpmn/penalty.bpmn), as its history reads them.
FLAGS = {"filing_overdue": _l("Filing overdue"), "decision_due_soon": _l("Decision due soon"),
         "decision_overdue": _l("Decision overdue"), "payment_overdue": _l("Payment overdue")}
# Values the models compute, by field: their labels.
EXTRA_VALUES = {"result": RESULTS, "problem_class": {"I": _l("Class I"), "II": _l("Class II"), "III": _l("Class III")},
                "hazard_class": {"I": _l("Class I"), "II": _l("Class II"), "III": _l("Class III")},
                "level": {"city": _l("City level"), "county": _l("County level")},
                "grade": GRADES, "to": AUDIENCES, "flag": FLAGS, "role": ROLES, "message": MESSAGES}
# Values the models write that no form offers as a choice.
EXTRA_CHOICES = {("period_unit", "hours"): _l("hours"), ("period_unit", "days"): _l("days"),
                 ("period_unit", "working_days"): _l("working days")}


def _form_labels():
    """Field labels and choice labels: of every form (the first form naming a field wins), and per form key."""
    labels, choices, by_form, money, files = {}, {}, {}, set(), set()
    for key, cls in FORMS.items():
        own_labels, own_choices = {}, {}
        for name, unbound in cls._unbound_fields or _unbound(cls):
            args = unbound.args
            kwargs = unbound.kwargs
            label = args[0] if args else kwargs.get("label")
            if label is not None:
                labels.setdefault(name, label)
                own_labels[name] = label
                if "(yuan)" in getattr(label, "_args", (str(label),))[0]:
                    money.add(name)
            if isinstance(unbound.field_class, type) and issubclass(unbound.field_class, AttachmentsField):
                files.add(name)
            for value, text in kwargs.get("choices") or []:
                choices.setdefault((name, value), text)
                own_choices[(name, value)] = text
        for name, pairs in getattr(cls, "value_choices", {}).items():  # fields a form makes per case
            for value, text in pairs:
                own_choices[(name, value)] = text
        by_form[key] = (own_labels, own_choices)
    return labels, choices, by_form, money, files


def _forms_of_processes(bpmn_dir) -> dict[str, list[str]]:
    """Process key → the form keys of its user tasks, from the shipped models."""
    out = {}
    for path in sorted(Path(bpmn_dir).glob("*.bpmn")) if bpmn_dir else ():
        text = path.read_text("utf-8")
        for match in re.finditer(r'<bpmn:process id="([^"]+)"(.*?)</bpmn:process>', text, re.S):
            out[match.group(1)] = re.findall(r'camunda:formKey="([^"]+)"', match.group(2))
    return out


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


def localtime(value):
    """An instant (or its ISO text) in Beijing time, to the minute (the presentation layer's)."""
    if isinstance(value, str) and presentation.to_local(value) is None:
        return value
    return presentation.instant(value)


_LABELS: list = []


def form_labels() -> tuple[dict, dict]:
    """Every form field's label by name, and every choice's label by (field name, value); read once."""
    if not _LABELS:
        _LABELS.extend(_form_labels())
    return _LABELS[0], _LABELS[1]


def register(app):
    labels, choices, by_form, money, files = _form_labels()
    choices = {**choices, **EXTRA_CHOICES}
    known = presentation.Labels(
        fields=labels, choices=choices, by_form=by_form, forms_of=_forms_of_processes(app.config.get("BPMN_DIR")),
        extra_fields=EXTRA_FIELDS, extra_values={**EXTRA_VALUES, "template_kind": TEMPLATE_KIND_LABELS},
        periods=PERIOD_LABELS,
        money=presentation.MONEY_FIELDS | MONEY_FIELDS | money, files=presentation.FILE_FIELDS | files)
    app.extensions["gasflow.labels"] = known

    def process_of(process):
        return process if process is not None else g.get("presenting_process")

    def value_label(name, value, process=None):
        return presenter().value(CHOICE_ALIASES.get(name, name), value, process_of(process))

    def field_label(name, process=None):
        return presenter().field_label(name, process_of(process))

    def table_columns(rows):
        cols = {}
        for row in rows:
            if isinstance(row, dict):
                cols.update(dict.fromkeys(row))
        return list(cols)

    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.filters["browser_label"] = browser_label
    app.jinja_env.filters["money"] = lambda v: presenter().money(v)
    app.jinja_env.filters["number"] = lambda v: presenter().number(v)
    app.jinja_env.filters["file_size"] = presentation.file_size
    app.jinja_env.filters["yes_no"] = lambda v: presenter().yes_no(v)
    app.jinja_env.filters["person"] = lambda v: presenter().person(v)
    app.jinja_env.filters["process_name"] = lambda v: presenter().process_name(getattr(v, "name", v))
    app.jinja_env.filters["end_name"] = lambda v: presenter().end_name(v)
    app.jinja_env.globals.update(
        role_label=lambda r: ROLES.get(r, r), status_label=lambda s: STATUSES.get(s, s),
        event_label=lambda e: EVENTS.get(e, e), field_label=field_label, value_label=value_label,
        table_columns=table_columns, presenter=presenter, history_detail=history_detail,
        is_money=lambda name: name in known.money,
        filter_field=lambda name: FILTER_FIELDS.get(name) or field_label(name),
        filter_message=filter_message,
        # "标签：值" in Chinese (full-width, no space), "Label: value" in English.
        colon=lambda: "：" if str(get_locale() or "zh").startswith("zh") else ": ",
    )


def filter_message(text) -> str:
    """A refusal of a filter in the reader's language (the engine words it in English for the API)."""
    text = str(text)
    for known in FILTER_MESSAGES:
        if text == getattr(known, "_args", (None,))[0]:
            return str(known)
    if text.startswith("Must be one of: "):  # the API lists the keys; a page says to pick an offered value
        return _("Not one of the values offered.")
    if text.startswith("At most ") and text.endswith(" characters."):
        return _("At most %(n)s characters.", n=text[len("At most "):-len(" characters.")])
    return text


def presenter(locale: str | None = None) -> presentation.Presenter:
    """The request's presenter (the reader's language), or one for ``locale`` (an export in Chinese)."""
    from web.extensions import db

    if locale is None and "presenter" in g:
        return g.presenter
    known = current_app.extensions.get("gasflow.labels") if has_app_context() else None
    shown = presentation.Presenter(_, locale or str(get_locale() or "zh"), db.session, known)
    if locale is None:
        g.presenter = shown
    return shown


def present_periods_of(case) -> None:
    """The request presents ``case``: its periods are labelled by the unit its model version counts each in."""
    from web.extensions import case_engine, db

    kinds = period_kinds.of_engine(case_engine(), db.session, case.process_model_id)
    units = {name: kinds.unit_of(name, end) for name, end in PERIOD_ENDS.items()}
    presenter().period_units = {name: unit for name, unit in units.items() if unit is not None}


def period_label(key: str) -> str | None:
    """The label of a period's amount as the presented case's version counts it, if the request presents one."""
    shown = presenter()
    if key in shown.period_units and key in PERIOD_LABELS:
        return shown.field_label(key)
    return None


def history_detail(detail, hidden=()) -> list[tuple[str, str]]:
    """A history entry's details as (label, text), for the page's process (the presentation layer's)."""
    return presenter().history(detail, hidden, g.get("presenting_process"))


def process_names(locale: str | None = None) -> dict[str, str]:
    """Each process's name as its newest version gives it, in the reader's language ("整改" in Chinese,
    "Rectification" in English, never both), by key."""
    from models import ProcessModel
    from models.versions import newest_versions
    from web.extensions import db

    shown = presenter(locale)
    rows = db.session.execute(newest_versions(ProcessModel, ProcessModel.key, ProcessModel.name))
    return {key: shown.process_name(name) for key, name in rows}
