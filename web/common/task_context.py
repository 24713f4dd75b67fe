"""A task's context (``workflows/services/task_context.py``) for people and for clients: each item gets its
label and its text as a person reads it (money as 80,000.00 元, 是/否, Beijing time, choices by their label,
people by name, files by name). The task page (``_task_context.html``) and ``GET /api/v1/tasks/{id}`` both
show what ``context_of`` returns, so they cannot differ.

All the formatting of a context is here and in the one template macro, so a shared presentation layer can
take it over in one place."""
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from forms import FORMS
from forms.data_files import label_of
from forms.data_kinds import KINDS_BY_KEY
from forms.warning import CATEGORY_CHOICES, QUANTITY_CHOICES, SITE_KIND_CHOICES
from models import Task
from web.extensions import db
from workflows import access
from workflows.services import datadock
from workflows.services import task_context as service
from workflows.services.presentation import file_size

from . import dataflow, labels

# Labels of what the context adds to the case data, and of keys whose form label says less.
LABELS = {
    "rounds": _l("Earlier rounds"), "records": _l("Reported records"), "rejected_rows": _l("Rejected rows"),
    "send_back_reason": _l("Why it came back"), "rectification_notice": _l("Rectification notice"),
    "penalty_decision": _l("Penalty decision"), "enterprise_id": _l("Enterprise"),
    "send_back_count": _l("Times sent back"), "overdue_count": _l("Times overdue"),
    "city_approval": _l("Needs city approval"), "review_round": _l("Review round"), "files": _l("Files"),
    "renewals": _l("Renewals"), "description": _l("Description"), "level": _l("Level"),
    "peak_value": _l("Peak value"), "started_at": _l("Started at"), "site": _l("Site"), "sensor": _l("Sensor"),
    "category": _l("Category"), "quantity": _l("Quantity"), "site_kind": _l("Site kind"),
    "data_kind": _l("Data kind"), "template_name": _l("Checklist template"),
    "template_version": _l("Template version"),
    # The penalty procedure's documents and the closing rounds; the accident's reports so far.
    "penalty_filing": _l("Penalty filing form"), "penalty_notice": _l("Prior notice of penalty"),
    "hearing_notice": _l("Hearing notice"), "hearing_postponement": _l("Notice of the hearing's postponement"),
    "penalty_reminder": _l("Payment reminder"),
    "closing_rounds": _l("Closing approvals"), "reports": _l("Reports so far"),
}
# Money reads "80,000.00 元": its label needs no "(yuan)" of its form field.
MONEY_LABELS = {"amount": _l("Penalty amount"), "economic_loss": _l("Direct economic loss"),
                "direct_loss": _l("Direct economic loss"), "reported_direct_loss": _l("Direct economic loss"),
                "paid_amount": _l("Amount paid")}
# Choices no task form offers, by the key the case data holds them under.
CHOICES = {("category", k): v for k, v in CATEGORY_CHOICES}
CHOICES.update({("quantity", k): v for k, v in QUANTITY_CHOICES})
CHOICES.update({("site_kind", k): v for k, v in SITE_KIND_CHOICES})
CHOICES.update({("data_kind", k.key): k.label for k in KINDS_BY_KEY.values()})

_FORM_FIELDS: dict = {}


def _form_fields(form_key: str | None) -> tuple[dict, dict]:
    """The labels and choice labels of one form's own fields (a round shows its fields as its form named them:
    the penalty approval's decision is not the verification's)."""
    if form_key not in _FORM_FIELDS:
        found_labels, found_choices = {}, {}
        cls = FORMS.get(form_key or "")
        if cls is not None:
            for name, unbound in cls._unbound_fields or labels._unbound(cls):
                label = unbound.args[0] if unbound.args else unbound.kwargs.get("label")
                if label is not None:
                    found_labels[name] = label
                for value, text in unbound.kwargs.get("choices") or []:
                    found_choices[(name, value)] = text
        _FORM_FIELDS[form_key] = (found_labels, found_choices)
    return _FORM_FIELDS[form_key]


def declaration(form_key: str) -> tuple:
    cls = FORMS.get(form_key)
    return tuple(getattr(cls, "context", ()) or ()) if cls is not None else ()


def viewer_of(user, case) -> service.Viewer:
    full = dataflow.sees_in_full(user, case.enterprise_id) if case.enterprise_id is not None else False
    return service.Viewer(enterprise=access.is_enterprise_user(user), personal=full,
                          reveal=lambda kind, record, clear: datadock.reveal(dataflow.cipher(), kind, record, clear))


def context_of(task: Task, user) -> list[dict]:
    """The task's context for ``user``, each item labelled and with its text."""
    labels.present_periods_of(task.case)  # a period it shows, labelled as the case's version counts it
    items = service.build(db.session, task.case, task, declaration(task.form_key), viewer_of(user, task.case))
    return [_present(item, task.form_key) for item in items]


def label_rows(form, items: list[dict]) -> None:
    """A form choosing among a batch's rows (``reject_rows``) names them as the context does."""
    field = getattr(form, "reject_rows", None)
    records = next((i["value"] for i in items if i["kind"] == "records"), None)
    if not hasattr(field, "choices") or not records:
        return
    heads = {r["ref"]: f"#{r['ref']} {r['summary']}" for r in records}
    field.choices = [(value, heads.get(value, label)) for value, label in field.choices]


def notice_text(s, case, row: Task) -> str | None:
    """The text of the notification of a new task: its name, and why it came back when it did (the reason
    of the send-back its form declares), so the enterprise reads why, not just "new task"."""
    decl = declaration(row.form_key)
    if not any(isinstance(p, service.LastReason) for p in decl):
        return None
    reason = service.notice(decl, service.completions_of(s, case.id, row), row.form_key)
    if not reason:
        return None
    return f"{row.title}（退回理由：{reason}）"


# ---- labels and text ------------------------------------------------------------------------
def _label(key: str, form_key: str | None = None) -> str:
    own = _form_fields(form_key)[0].get(key) if form_key else None
    if own is not None:
        return str(own)
    if key in LABELS:
        return str(LABELS[key])
    if (period := labels.period_label(key)) is not None:
        return period
    form_labels, _choices = labels.form_labels()
    found = form_labels.get(key) or labels.EXTRA_FIELDS.get(key)
    return str(found) if found is not None else str(labels.presenter().field_label(key))


def _choice(key: str, value, form_key: str | None = None) -> str:
    own = _form_fields(form_key)[1].get((key, value)) if form_key else None
    # A value kept under another name than the field that chose it (the notified penalty type).
    key = labels.CHOICE_ALIASES.get(key, key)
    if own is None:
        own = CHOICES.get((key, value))
    if own is None:
        own = labels.form_labels()[1].get((key, value))
    # What no form offers (an accident's grade, a period's unit): the presentation layer's labels.
    return str(own) if own is not None else str(labels.presenter().value(key, value))


def money(value) -> str:
    return str(labels.presenter().money(value))


def number(value) -> str:
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def text_of(kind: str, key: str, value, item: dict | None = None, form_key: str | None = None,
            choices: dict | None = None) -> str:
    """How a value of ``kind`` reads."""
    if value is None or value == "":
        return "—"
    if kind == "money":
        return money(value)
    if kind == "bool":
        return _("Yes") if value else _("No")
    if kind == "number":
        return number(value) if isinstance(value, int | float) else str(value)
    if kind == "datetime":
        return labels.localtime(value) if isinstance(value, str | datetime) else str(value)
    if kind == "enum":
        if choices is not None:
            return str(choices.get(value, value))
        return _choice(key, value, form_key)
    if kind == "enterprise":
        return (item or {}).get("name") or "—"
    if kind == "files":
        return "、".join(f["filename"] for f in value) if isinstance(value, list) else str(value)
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


def _present(item: dict, form_key: str | None, round_form: str | None = None) -> dict:
    out = dict(item)
    key, kind, value = item["key"], item["kind"], item["value"]
    out["label"] = str(MONEY_LABELS[key]) if kind == "money" and key in MONEY_LABELS else _label(key, round_form)
    if kind == "rounds":
        out["value"] = [{**r, "at_text": labels.localtime(r["at"]) if r.get("at") else "",
                         "items": [_present(i, form_key, r.get("form")) for i in r["items"]]} for r in value]
        out["text"] = _("%(n)d earlier steps", n=len(value))
    elif kind == "records":
        data_kind = KINDS_BY_KEY.get(item.get("data_kind") or "")
        fields = data_kind.field_map if data_kind else {}
        records = []
        for record in value:
            presented = []
            for f in record["fields"]:
                declared = fields.get(f["key"])
                choices = dict(declared.choices) if declared is not None and declared.choices else None
                presented.append({**f, "label": str(declared.label) if declared is not None else f["key"],
                                  "text": text_of(f["kind"], f["key"], f["value"], choices=choices or {})
                                  if f["kind"] == "enum" else text_of(f["kind"], f["key"], f["value"])})
            if data_kind is not None and presented:
                # The record named by its external id and summary fields, as read (not "王小明 · residential").
                texts = {f["key"]: f["text"] for f in presented}
                head = [record.get("external_id") or "", *(texts[n] for n in data_kind.summary if n in texts)]
                record = {**record, "summary": " · ".join(p for p in head if p)}
            if record.get("files"):
                record = {**record, "files": [{**f, "file_kind_label": label_of(f.get("file_kind")),
                                               "size_text": file_size(f.get("size"))}
                                              for f in record["files"]]}
            records.append({**record, "fields": presented})
        out["value"] = records
        out["text"] = _("%(n)d rows", n=len(records))
    else:
        out["text"] = text_of(kind, key, value, item, round_form)
    return out
