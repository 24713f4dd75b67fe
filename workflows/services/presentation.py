"""How a value reads for a person, in one place: pages, notifications, case history, ledgers, Excel exports
and PDFs all go through here (web/common/labels.py is the thin adapter for Jinja and Flask-Babel).

Flask-free: the caller gives the translator (``gettext``), the locale and, where names are to be looked up
(enterprises, people, files), the database session. Labels here are English msgids marked with ``_l`` (a
no-op that ``pybabel extract -k _l`` picks up) and translated by the given ``gettext`` when presented.

What a person reads:
- field labels, and the labels of enum values, from the forms of the case's own process first (so a
  data record's "accept" is not the rectification's "accept"), then the labels of what the models compute;
- yes/no (是/否), never True/False/None; an empty value as "—";
- money as ``80,000.00 元``; other numbers without a trailing ``.0``;
- instants in Beijing time (Asia/Shanghai), to the minute;
- people by display name, enterprises and files by name, never a username or an id;
- end states by their BPMN element's name, process models by their label in the reader's language
  (a shipped model named "整改 Rectification" reads 整改 in Chinese and Rectification in English).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from workflows.titles import case_title  # noqa: F401  (a case's title from its model's template)

SHANGHAI = ZoneInfo("Asia/Shanghai")
EMPTY = "—"


def _l(text: str) -> str:
    """Marks an English msgid for extraction; translated when presented."""
    return text


YES, NO = _l("Yes"), _l("No")

# Case-data fields that hold money (yuan), people (usernames), enterprises (ids) and files (attachment ids).
MONEY_FIELDS = frozenset({"amount", "paid_amount", "economic_loss", "fine", "fine_amount", "proposed_amount",
                          "notified_amount", "decided_amount", "total_due", "surcharge",
                          "total_amount", "amount_total"})
PERSON_FIELDS = frozenset({"inspectors", "inspector", "assignee", "user", "actor", "reviewer", "approver",
                           "created_by", "handled_by", "candidate_users"})
ENTERPRISE_FIELDS = frozenset({"enterprise_id", "enterprise_ids"})
FILE_FIELDS = frozenset({"photos", "attachments", "files", "evidence", "documents", "attachment_ids"})
# Case-data fields that are kept for the engine, never shown. A checklist template's id: the template's
# name, kind and version are kept beside it (forms/inspection.py) and shown instead of a number.
HIDDEN_FIELDS = frozenset({"case_id", "end", "template_id"})
# History details a person does not read: the engine's element ids beside their names.
HISTORY_HIDDEN = frozenset({"end", "case_id", "task_id", "element"})
# An inspector's location check-in on a case (the browser's position: latitude, longitude, accuracy_m).
CHECKIN_FIELD = "checkin"

# Messages the models wait for (history "message handled"), by name.
MESSAGES = {"certificate.register": _l("Certificate registered"), "certificate.update": _l("Certificate updated"),
            "data.reviewed": _l("Data reviewed"), "document.issue": _l("Document issued"),
            "notify.enterprise": _l("Enterprise notified"), "start:accident": _l("Accident case opened"),
            "start:inspection": _l("Inspection opened"), "start:penalty": _l("Penalty case opened"),
            "start:rectification": _l("Rectification order opened")}

_ISO_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")
_LATIN_WORD = re.compile(r"[A-Za-z]")


def split_bilingual(name: str) -> tuple[str, str]:
    """"整改 Rectification" → ("整改", "Rectification"); a name in one language is both halves."""
    if not name or not _CJK.search(name) or not _LATIN_WORD.search(name):
        return name, name
    words = name.split()
    chinese = " ".join(w for w in words if _CJK.search(w))
    english = " ".join(w for w in words if not _CJK.search(w))
    return chinese or name, english or name


def model_name(name: str | None, locale: str) -> str:
    """A model's (process's, element's) name in the reader's language."""
    if not name:
        return ""
    chinese, english = split_bilingual(name)
    if locale.startswith("zh"):
        return _HALF_WIDTH_AFTER_CJK.sub(lambda m: _FULL_WIDTH[m.group(1)], chinese)
    return english


_FULL_WIDTH = {",": "，", ";": "；", ":": "：", "(": "（", ")": "）", "?": "？", "!": "！"}
_HALF_WIDTH_AFTER_CJK = re.compile(r"(?<=[\u3000-\u9fff\uff00-\uffef])([,;:?!()])\s*")


def to_local(value) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:  # the database's naive instants are UTC
        from datetime import UTC

        value = value.replace(tzinfo=UTC)
    return value.astimezone(SHANGHAI)


def instant(value) -> str:
    """An instant in Beijing time to the minute: 2026-12-06 16:05; "" for none."""
    if value is None or value == "":
        return ""
    local = to_local(value)
    if local is None:
        return str(value)
    return local.strftime("%Y-%m-%d %H:%M")


def money_number(value) -> str:
    """80000 → "80,000.00"; "" for no number."""
    if value is None or value == "" or isinstance(value, bool):
        return ""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    return f"{number:,.2f}"


def number(value, grouped: bool = False) -> str:
    """A number as a person writes it: no trailing .0, at most two decimals, thousands grouped if asked."""
    if isinstance(value, bool) or value is None:
        return EMPTY if value is None else str(value)
    if isinstance(value, float | Decimal):
        if value == int(value):
            value = int(value)
        else:
            text = f"{value:,.2f}" if grouped else f"{value:.2f}"
            return text.rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}" if grouped else str(value)
    return str(value)


def file_size(size) -> str:
    """A file's size as a person reads it: 512 B, 40.5 KB, 3.2 MB (never 0.0 KB)."""
    if not isinstance(size, int | float) or size < 0:
        return EMPTY
    if size < 1024:
        return f"{int(size)} B"
    if size < 1024 * 1024:
        return f"{number(round(size / 1024, 1))} KB"
    return f"{number(round(size / 1024 / 1024, 1))} MB"


def plain_number(value):
    """A float that is a whole number as an int (10.0 → 10), for a form field a person edits."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@dataclass
class Labels:
    """Labels of fields and of their values, by the form keys of a process (from the forms layer)."""
    fields: dict[str, str] = field(default_factory=dict)          # name → label (any form, first wins)
    choices: dict[tuple[str, str], str] = field(default_factory=dict)
    by_form: dict[str, tuple[dict, dict]] = field(default_factory=dict)  # form key → (fields, choices)
    forms_of: dict[str, list[str]] = field(default_factory=dict)  # process key → its form keys
    extra_fields: dict[str, str] = field(default_factory=dict)    # what the models compute
    extra_values: dict[str, dict[str, str]] = field(default_factory=dict)  # field → value → label
    # A period's amount (defence_days) → its label by the unit the case's model version counts it in.
    periods: dict[str, dict[str, str]] = field(default_factory=dict)
    money: frozenset = MONEY_FIELDS
    files: frozenset = FILE_FIELDS

    def field(self, name: str, process: str | None = None) -> str | None:
        for form in self.forms_of.get(process or "", ()):
            label = self.by_form.get(form, ({}, {}))[0].get(name)
            if label is not None:
                return label
        return self.fields.get(name) or self.extra_fields.get(name)

    def choice(self, name: str, value: str, process: str | None = None) -> str | None:
        for form in self.forms_of.get(process or "", ()):
            label = self.by_form.get(form, ({}, {}))[1].get((name, value))
            if label is not None:
                return label
        if (name, value) in self.choices:
            return self.choices[(name, value)]
        return self.extra_values.get(name, {}).get(value)


class Presenter:
    """Presents values for one reader: ``gettext`` translates msgids (and lazy labels, through str())."""

    def __init__(self, gettext: Callable[[str], str] | None = None, locale: str = "zh", session=None,
                 labels: Labels | None = None):
        self.gettext = gettext or (lambda text: text)
        self.locale = locale or "zh"
        self.session = session
        self.labels = labels or Labels()
        # The units the model version of the case being presented counts its periods' amounts in
        # (workflows/engine/period_kinds.py): a version counting defence_days in calendar days says so.
        self.period_units: Mapping[str, str] = {}

    # ---- plain values ---------------------------------------------------------------------------------
    def text(self, label) -> str:
        """A label: a msgid marked with _l is translated; a lazy string is already in the reader's language."""
        return self.gettext(label) if isinstance(label, str) else str(label)

    def yes_no(self, value) -> str:
        return self.text(YES if value else NO)

    def money(self, value) -> str:
        shown = money_number(value)
        if not shown:
            return EMPTY
        return f"{shown} 元" if self.locale.startswith("zh") else f"{shown} yuan"

    def instant(self, value) -> str:
        return instant(value) or EMPTY

    def number(self, value, grouped: bool = True) -> str:
        return number(value, grouped)

    def process_name(self, name: str | None) -> str:
        return model_name(name, self.locale)

    def process_label(self, key: str | None) -> str:
        """A process by its key (as the history keeps it): the newest model's name in the reader's language."""
        if not key:
            return EMPTY
        name = None
        if self.session is not None:
            from sqlalchemy import select

            from models import ProcessModel

            name = self.session.scalar(select(ProcessModel.name).where(ProcessModel.key == key)
                                       .order_by(ProcessModel.version.desc()).limit(1))
        return self.process_name(name) if name else key.replace("_", " ")

    def end_name(self, name: str | None) -> str:
        """An end state by its BPMN element's name (a model may name it in both languages)."""
        return model_name(name, self.locale) or EMPTY

    def message(self, name: str) -> str:
        label = MESSAGES.get(name)
        return self.text(label) if label else name.replace(".", " ").replace("_", " ")

    # ---- names from the database ------------------------------------------------------------------------
    def _names(self, model, key_column, values: Iterable, name_of) -> dict:
        values = [v for v in values if v is not None and not isinstance(v, bool)]
        if not values or self.session is None:
            return {}
        from sqlalchemy import select

        rows = self.session.scalars(select(model).where(key_column.in_(values))).all()
        return {getattr(row, key_column.key): name_of(row) for row in rows}

    def people(self, usernames: Iterable) -> list[str]:
        from models import User

        usernames = [u for u in usernames if isinstance(u, str)]
        names = self._names(User, User.username, usernames, lambda u: u.display_name or u.username)
        return [names.get(u, u) for u in usernames]

    def person(self, username) -> str:
        if username in (None, ""):
            return EMPTY
        if isinstance(username, int):
            from models import User

            user = self.session.get(User, username) if self.session is not None else None
            return (user.display_name or user.username) if user else EMPTY
        return self.people([username])[0]

    def enterprises(self, ids: Iterable) -> list[str]:
        from models import Enterprise

        ids = [i for i in ids if isinstance(i, int) and not isinstance(i, bool)]
        names = self._names(Enterprise, Enterprise.id, ids, lambda e: e.name)
        return [names.get(i, EMPTY) for i in ids]

    def files(self, ids: Iterable) -> list[str]:
        from models import Attachment

        ids = [i for i in ids if isinstance(i, int) and not isinstance(i, bool)]
        names = self._names(Attachment, Attachment.id, ids, lambda a: a.filename)
        return [names.get(i, EMPTY) for i in ids]

    def checkin(self, checkin: Mapping) -> str:
        """A location check-in in words: "纬度 30.085200，经度 120.492500，精度约 15 米"."""
        try:
            text = self.text(_l("latitude %(lat).6f, longitude %(lon).6f")) % {
                "lat": float(checkin["latitude"]), "lon": float(checkin["longitude"])}
        except (KeyError, TypeError, ValueError):
            return EMPTY
        accuracy = checkin.get("accuracy_m")
        if isinstance(accuracy, int | float) and not isinstance(accuracy, bool):
            text += self.text(_l(", accuracy about %(m)s m")) % {"m": round(accuracy)}
        return text

    # ---- fields of case data ------------------------------------------------------------------------------
    def field_label(self, name: str, process: str | None = None) -> str:
        unit = self.period_units.get(name)
        label = self.labels.periods.get(name, {}).get(unit) if unit is not None else None
        if label is not None:
            return self.text(label)
        label = self.labels.field(name, process)
        if label is None:
            # An unknown field (a model the city admin uploaded): its words, not its key.
            return name.replace("_", " ")
        return self.text(label)

    def value(self, name: str, value, process: str | None = None) -> str:
        """One case-data value, as text for a person."""
        if isinstance(value, bool):
            return self.yes_no(value)
        if value is None or value == "" or value == []:
            return EMPTY
        if name in self.labels.money:
            return self.money(value)
        if name in ENTERPRISE_FIELDS:
            return "、".join(self.enterprises(value if isinstance(value, list) else [value])) or EMPTY
        if name in PERSON_FIELDS and isinstance(value, str | list):
            return "、".join(self.people(value if isinstance(value, list) else [value])) or EMPTY
        if name in self.labels.files and isinstance(value, int | list):
            names = self.files(value if isinstance(value, list) else [value])
            return "、".join(names) or EMPTY
        if name == CHECKIN_FIELD and isinstance(value, Mapping):
            return self.checkin(value)
        if name == "message" and isinstance(value, str) and value in MESSAGES:
            return self.message(value)
        if isinstance(value, str):
            label = self.labels.choice(name, value, process)
            if label is not None:
                return self.text(label)
            if _ISO_INSTANT.match(value):
                return instant(value) or value
            return value
        if isinstance(value, int | float | Decimal):
            return self.number(value, grouped=False)
        if isinstance(value, datetime):
            return instant(value)
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, list):
            return "、".join(self.value(name, v, process) for v in value)
        if isinstance(value, Mapping):
            return "；".join(f"{self.field_label(k, process)}：{self.value(k, v, process)}"
                            for k, v in value.items() if k not in HIDDEN_FIELDS)
        return str(value)

    @staticmethod
    def shown(data: Mapping, hidden: Iterable[str] = ()) -> list[tuple[str, object]]:
        """The (key, value) pairs of case data a person is shown: not the model's ``hidden`` ones, nor the
        engine's own (HIDDEN_FIELDS). The case page renders these; ``rows`` words them."""
        hidden = set(hidden) | HIDDEN_FIELDS
        return [(k, v) for k, v in data.items() if k not in hidden]

    def rows(self, data: Mapping, process: str | None = None, hidden: Iterable[str] = ()) -> list[tuple[str, str]]:
        """Case data as (label, text) pairs, for a notification, an e-mail or a document."""
        return [(self.field_label(k, process), self.value(k, v, process)) for k, v in self.shown(data, hidden)]


    def history(self, detail, hidden: Iterable[str] = (), process: str | None = None) -> list[tuple[str, str]]:
        """A history entry's details as (label, text): the end state by its name, a process by its label,
        cases by number; ``hidden``: what the model leaves off its case page is left off its history too."""
        if not isinstance(detail, Mapping):
            return []
        out = []
        for key, value in detail.items():
            if key in HISTORY_HIDDEN or key in hidden or value is None or value == "" or value == []:
                continue
            if key == "end_name":
                out.append((self.field_label(key), self.end_name(value)))
            elif key == "process":
                out.append((self.field_label(key), self.process_label(value)))
            elif key in ("case", "parent"):
                out.append((self.field_label(key), f"#{value}"))
            else:
                out.append((self.field_label(key, process), self.value(key, value, process)))
        return out
