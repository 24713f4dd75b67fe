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
import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from .restricted import CountedPeriod

KEY = "gasflow.periods"  # in the top workflow's data; a script cannot name it (no dots in a name)


@dataclass(frozen=True)
class Note:
    name: str
    unit: str
    end: datetime  # the date the variable was set to (or moved to on a resume)
    start: str  # what it was counted from (ISO text)
    amount: object


@lru_cache(maxsize=4096)
def assigned(script: str) -> tuple[str, ...]:
    """The variables a script assigns, if it counts a period at all (else none: nothing to note)."""
    if "add_period" not in script and "add_working_days" not in script:
        return ()
    try:
        tree = ast.parse(script)
    except SyntaxError:
        return ()
    names = (target.id for node in ast.walk(tree) if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign)
             for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
             if isinstance(target, ast.Name))
    return tuple(dict.fromkeys(names))


def note_script(workflow, data: Mapping, before: Mapping, counted: Iterable[CountedPeriod]) -> None:
    """Note the variables of ``before`` (their values before the script) that the script set to the end of a
    period it counted (``data``: after it). A date taken as it is (zero hours, the inspector's own deadline) is
    no period: it is not noted, and an end reached both ways is the period's."""
    ends = {period.end: period for period in counted if period.unit != "hours" or period.amount}
    if not ends:
        return
    notes = None
    for name, old in before.items():
        value = data.get(name)
        if isinstance(value, str) and value != old and value in ends:
            if notes is None:
                notes = workflow.top_workflow.data.setdefault(KEY, {})
            period = ends[value]
            # A list, not a dict: the state's serializer walks every container of it on every transition.
            notes[name] = [period.unit, value, period.start, period.amount]


def notes_of(workflow) -> dict[str, Note]:
    out = {}
    for name, note in (workflow.top_workflow.data.get(KEY) or {}).items():
        try:
            unit, end, start, amount = note
            out[name] = Note(name, str(unit), _instant(end), str(start), amount)
        except (TypeError, ValueError):
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
    notes = workflow.top_workflow.data.get(KEY, {})
    if note.name in notes:
        notes[note.name] = [note.unit, end.isoformat(), start, note.amount]


def _instant(value) -> datetime:
    return _aware(value if isinstance(value, datetime) else datetime.fromisoformat(str(value)))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


__all__ = ["KEY", "Note", "assigned", "holding", "note_script", "notes_of", "renote"]
