"""How codes read on the pages (translated): roles, statuses, history events, data fields."""
from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

from forms import FORMS

LOCAL_TZ = ZoneInfo("Asia/Shanghai")

ROLES = {
    "city_admin": _l("City authority admin"), "county_supervisor": _l("County supervisor"),
    "inspector": _l("Inspector"), "enterprise_admin": _l("Enterprise admin"),
    "enterprise_staff": _l("Enterprise staff"), "enterprise": _l("Enterprise"),
}
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
EXTRA_FIELDS = {"overdue_count": _l("Times overdue"), "send_back_count": _l("Times sent back"),
                "user": _l("User"), "process": _l("Process"), "version": _l("Version"), "due": _l("Due"),
                "end": _l("End"), "end_name": _l("Outcome"), "follow_up_at": _l("Follow-up date"),
                "text": _l("Comment"), "attachments": _l("Files"), "case": _l("Case"), "title": _l("Title"),
                "message": _l("Message"), "parent": _l("Opened from")}


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


def register(app):
    labels, choices = _form_labels()

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

            from .extensions import db

            enterprise = db.session.get(Enterprise, value)
            return enterprise.name if enterprise else value
        if isinstance(value, str) and (name, value) in choices:
            return choices[(name, value)]
        if isinstance(value, str) and len(value) >= 16 and value[4:5] == "-" and "T" in value:
            return localtime(value)
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return value

    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.globals.update(
        role_label=lambda r: ROLES.get(r, r), status_label=lambda s: STATUSES.get(s, s),
        event_label=lambda e: EVENTS.get(e, e),
        field_label=lambda n: labels.get(n) or EXTRA_FIELDS.get(n, n), value_label=value_label,
    )
