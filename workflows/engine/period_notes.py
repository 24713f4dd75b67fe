"""What the periods a case's scripts counted were counted in, noted as the scripts ran.

A model may count a period in a unit it reads at run time: the rectification model counts
``add_period(now(), period_amount, period_unit)`` with the amount and the unit from its decision table, which
the city admin may change. Reading the model's scripts (``period_kinds``) cannot tell what such a date is, and
``period_unit`` is overwritten by the table's next decision. So every ``add_period`` a script runs is noted
with the variable it set, in the workflow's own data (stored with its state): a resumed case gives such a date
the working days or the calendar days it had left, as it does a date whose unit the script names, and a date
in calendar days counted again after a second suspension counts from the day it was moved to.

A note holds for the date it was made for: a variable a form or another script sets to another date later is of
whatever kind ``period_kinds`` finds. One variable may hold several dates at once (parallel branches, the
instances of a multi-instance task): each has its note.
"""
import ast
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from .restricted import CountedPeriod

KEY = "gasflow.periods"  # in the top workflow's data; a script cannot name it (no dots in a name)
PER_NAME = 8  # the dates kept for one variable: the newest, enough for the branches of a model


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
    """Note the variables of ``before`` (the ones the script assigns, with their values before it) that the
    script set to the end of a period it counted (``data``: after it). A date taken as it is (zero hours, the
    inspector's own deadline) is no period. An end two periods of different units reach (3 working days and 3
    days from a Monday) is not noted: which of them a variable holds is for ``period_kinds`` to tell."""
    ends: dict[str, list[CountedPeriod]] = {}
    for period in counted:
        if period.unit != "hours" or period.amount:
            ends.setdefault(period.end, []).append(period)
    notes, changed = _stored(workflow), False
    for name, old in before.items():
        value = data.get(name)
        periods = ends.get(value) if isinstance(value, str) else None
        if periods and len({p.unit for p in periods}) == 1:
            _put(notes, name, [periods[0].unit, value, periods[0].start, periods[0].amount])
            changed = True
        elif value != old and name in notes:
            # Set to a date no period of the script reaches: a note of the same instant is no longer true.
            kept = [entry for entry in notes[name] if not _same_instant(entry[1], value)]
            if kept:
                notes[name] = kept
            else:
                del notes[name]
            changed = True
    if changed:
        _store(workflow, notes)


def _stored(workflow) -> dict[str, list[list]]:
    """The notes as stored, each a [unit, end, start, amount]; anything else is left out."""
    try:
        notes = json.loads(workflow.top_workflow.data.get(KEY) or "{}")
    except (TypeError, ValueError):
        return {}
    if not isinstance(notes, dict):
        return {}
    return {name: kept for name, entries in notes.items()
            if isinstance(entries, list) and (kept := [e for e in entries if isinstance(e, list) and len(e) == 4])}


def _store(workflow, notes: dict) -> None:
    # One JSON text, not nested lists: the state's serializer walks every container of the workflow's data on
    # every transition, and passes a string as it is.
    workflow.top_workflow.data[KEY] = json.dumps(notes, separators=(",", ":"), default=str)


def _put(notes: dict, name: str, entry: list) -> None:
    kept = [old for old in notes.get(name, ()) if not _same_instant(old[1], entry[1])]
    notes[name] = [*kept, entry][-PER_NAME:]


def notes_of(workflow) -> dict[str, list[Note]]:
    out: dict[str, list[Note]] = {}
    for name, entries in _stored(workflow).items():
        for entry in entries:
            try:
                unit, end, start, amount = entry
                out.setdefault(name, []).append(Note(name, str(unit), _instant(end), str(start), amount))
            except (TypeError, ValueError):
                continue  # not one this module wrote
    return out


def holding(notes: Mapping[str, list[Note]], expression: str | None, end: datetime) -> Note | None:
    """The note of the date ``end`` held by the variable ``expression`` names, if there is one."""
    if not isinstance(expression, str):
        return None
    end = _aware(end)
    return next((note for note in notes.get(expression.strip(), ()) if note.end == end), None)


def renote(workflow, moves: Iterable[tuple[Note, datetime, str]]) -> None:
    """The notes' dates moved (a resume): each ``(note, end, start)``, its date now ``end``, its period counted
    from ``start``."""
    # Each stored entry is matched against the ends as they were before any move, in one pass: a date moved to
    # where another of the same variable was must not be taken for that one and moved again.
    to = {(note.name, note.end): (end.isoformat(), start) for note, end, start in moves}
    notes = _stored(workflow)
    for name, entries in notes.items():
        for entry in entries:
            try:
                moved = to.get((name, _instant(entry[1])))
            except (TypeError, ValueError):
                continue
            if moved is not None:
                entry[1], entry[2] = moved
    _store(workflow, notes)


def _same_instant(text, other) -> bool:
    try:
        return _instant(text) == (_aware(other) if isinstance(other, datetime) else _instant(other))
    except (TypeError, ValueError):
        return False


def _instant(value) -> datetime:
    return _aware(value if isinstance(value, datetime) else datetime.fromisoformat(str(value)))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


__all__ = ["KEY", "PER_NAME", "Note", "assigned", "holding", "note_script", "notes_of", "renote"]
