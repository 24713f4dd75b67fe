"""What the periods a case's scripts counted were counted in, noted as the scripts ran.

A model may count a period in a unit it reads at run time: the rectification model counts
``add_period(now(), period_amount, period_unit)`` with the amount and the unit from its decision table, which
the city admin may change. Reading the model's scripts (``period_kinds``) cannot tell what such a date is, and
``period_unit`` is overwritten by the table's next decision. So every ``add_period`` a script runs is noted
with the variable it set, in the workflow's own data (stored with its state): a resumed case gives such a date
the working days or the calendar days it had left, as it does a date whose unit the script names, and a date
in calendar days counted again after a second suspension counts from the day it was moved to.

A note holds while its variable holds the date it was made for; a variable a form or another script sets
later is of whatever kind ``period_kinds`` finds.
"""
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from .restricted import CountedPeriod

KEY = "gasflow.periods"  # in the top workflow's data; a script cannot name it (no dots in a name)


@dataclass(frozen=True)
class Note:
    name: str
    unit: str
    start: str  # what it was counted from (ISO text)
    amount: object
    end: datetime  # the date the variable was set to (or moved to on a resume)


def note_script(workflow, data: Mapping, before: Mapping, counted: Iterable[CountedPeriod]) -> None:
    """Note the variables a script set (``data`` after it, ``before`` it) to the end of a period it counted."""
    ends: dict[str, CountedPeriod] = {}
    for period in counted:
        # One end reached twice (the inspector's own date, taken as it is, equal to the period's end): the
        # period counted, not the date taken as it is.
        if period.end not in ends or _as_given(ends[period.end]):
            ends[period.end] = period
    notes = None
    for name, value in data.items():
        if isinstance(value, str) and value in ends and before.get(name) != value:
            if notes is None:
                notes = workflow.top_workflow.data.setdefault(KEY, {})
            period = ends[value]
            notes[name] = {"unit": period.unit, "start": period.start, "amount": period.amount, "end": value}


def _as_given(period: CountedPeriod) -> bool:
    return period.unit == "hours" and not period.amount


def notes_of(workflow) -> dict[str, Note]:
    out = {}
    for name, note in (workflow.top_workflow.data.get(KEY) or {}).items():
        try:
            out[name] = Note(name, str(note["unit"]), str(note["start"]), note["amount"], _instant(note["end"]))
        except (KeyError, TypeError, ValueError):
            continue  # not one this module wrote
    return out


def holding(notes: Mapping[str, Note], expression: str | None, end: datetime) -> Note | None:
    """The note of the variable ``expression`` names, if it still holds the date ``end`` it was made for."""
    if not isinstance(expression, str):
        return None
    note = notes.get(expression.strip())
    return note if note is not None and note.end == _aware(end) else None


def renote(workflow, note: Note, end: datetime, start: str) -> None:
    """``note``'s variable moved to ``end`` (a resume), its period now counted from ``start``."""
    stored = workflow.top_workflow.data.get(KEY, {}).get(note.name)
    if stored is not None:
        stored.update(end=end.isoformat(), start=start)


def _instant(value) -> datetime:
    return _aware(value if isinstance(value, datetime) else datetime.fromisoformat(str(value)))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


__all__ = ["KEY", "Note", "holding", "note_script", "notes_of", "renote"]
