"""What a model version counts its periods in, read from its own scripts: which dates are the ends of periods
in working days, in calendar days as the law counts them, or plain instants, and in what unit each amount (a
decision table's output such as ``defence_days``) is counted.

A model counts a period with ``add_working_days(start, n)`` (working days), ``add_period(start, n, unit)``
(``days``: calendar days ending at 24:00 of the last day, rolled off rest days; ``hours``; ``working_days``),
or ``add_days(start, n)`` (n × 24 hours from the instant: older versions, warnings' minutes and hours). A date
the model takes as it is (from a form, such as an inspector's rectification deadline or a hearing's time), or
counts with a unit it reads at run time, is of no known kind here: it is an instant, unless the engine noted the
unit as the script counted it (``period_notes``).

Versions never change once stored, so each one is read once per restored spec.
"""
import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from threading import Lock
from weakref import WeakKeyDictionary

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ProcessModel

WORKING_DAYS, DAYS, HOURS = "working_days", "days", "hours"
INSTANT = "instant"  # add_days: an exact length of time from an instant
_UNITS = (HOURS, DAYS, WORKING_DAYS)
_NONE = "none"  # a branch that gives no date (``... if hearing_right else None``)


@dataclass(frozen=True)
class PeriodKinds:
    dates: Mapping[str, str] = field(default_factory=dict)    # variable -> WORKING_DAYS, DAYS, HOURS or INSTANT
    amounts: Mapping[str, str] = field(default_factory=dict)  # amount variable -> DAYS, WORKING_DAYS or HOURS
    # A date in calendar days -> the (start, amount) of the add_period(start, amount, "days") it may come from
    # (start: a variable; amount: a variable or a number): its last day before it was moved off a rest day is
    # the start's day plus the amount.
    counts: Mapping[str, tuple[tuple[str, str | int | float], ...]] = field(default_factory=dict)

    def unit_of(self, amount: str, date: str | None = None) -> str | None:
        """The unit the version counts ``amount`` in; where it counts the period ``date`` ends without reading
        ``amount`` (a number of its own in the script), the unit of that count (add_days: calendar days)."""
        if amount in self.amounts:
            return self.amounts[amount]
        kind = self.dates.get(date) if date else None
        return DAYS if kind == INSTANT else kind

    def of_expression(self, expression: str | None) -> str | None:
        """The kind of date a timer's or a due date's expression gives (None: not known)."""
        tree = _expression(expression)
        return None if tree is None else _kind(tree, lambda name: self.dates.get(name))

    def counted_from(self, expression: str | None) -> tuple[tuple[str, str | int | float], ...]:
        """The (start, amount) a date in calendar days that ``expression`` gives may be counted from."""
        tree = _expression(expression)
        return () if tree is None else tuple(dict.fromkeys(_counts(tree, lambda name: self.counts.get(name, ()))))


def _expression(expression: str | None) -> ast.expr | None:
    if not expression or not isinstance(expression, str):
        return None
    try:
        return ast.parse(expression.strip(), mode="eval").body
    except SyntaxError:
        return None


def read(scripts: Iterable[str]) -> PeriodKinds:
    """The kinds of the dates the scripts assign, and the units their period amounts are counted in."""
    assigned: dict[str, list[ast.expr]] = {}
    amounts: dict[str, set[str]] = {}
    for script in scripts:
        try:
            tree = ast.parse(script)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        assigned.setdefault(target.id, []).append(node.value)
            elif isinstance(node, ast.Call) and (unit := _call_unit(node)) is not None and len(node.args) >= 2:
                amount = node.args[1]
                if isinstance(amount, ast.Name):
                    amounts.setdefault(amount.id, set()).add(DAYS if unit == INSTANT else unit)

    resolving: set[str] = set()
    dates: dict[str, str | None] = {}

    def of_name(name: str) -> str | None:
        if name in dates:
            return dates[name]
        if name in resolving:  # counted on from itself (an extension): the kind of its other assignments
            return _NONE
        if name not in assigned:  # a date from a form or the start
            return None
        resolving.add(name)
        kinds = {_kind(value, of_name) for value in assigned[name]}
        resolving.discard(name)
        dates[name] = kinds.pop() if len(kinds) == 1 else None
        return dates[name]

    counting: set[str] = set()
    counts: dict[str, tuple] = {}

    def counts_of(name: str) -> tuple:
        if name in counts:
            return counts[name]
        if name in counting or name not in assigned:
            return ()
        counting.add(name)
        found = tuple(dict.fromkeys(pair for value in assigned[name] for pair in _counts(value, counts_of)))
        counting.discard(name)
        counts[name] = found
        return found

    for name in assigned:
        of_name(name)
    kinds = {k: v for k, v in dates.items() if v not in (None, _NONE)}
    return PeriodKinds(kinds, {k: next(iter(v)) for k, v in amounts.items() if len(v) == 1},
                       {k: found for k in kinds if kinds[k] == DAYS and (found := counts_of(k))})


def _call_unit(node: ast.Call) -> str | None:
    name = node.func.id if isinstance(node.func, ast.Name) else None
    if name == "add_working_days":
        return WORKING_DAYS
    if name == "add_days":
        return INSTANT
    if name == "add_period" and len(node.args) >= 3:
        unit = node.args[2]
        if isinstance(unit, ast.Constant) and unit.value in _UNITS:
            return unit.value
    return None


def _kind(node: ast.expr, of_name) -> str | None:
    if isinstance(node, ast.Constant) and node.value is None:
        return _NONE
    if isinstance(node, ast.Name):
        return of_name(node.id)
    if isinstance(node, ast.IfExp):
        return _common([_kind(node.body, of_name), _kind(node.orelse, of_name)])
    if isinstance(node, ast.Call):
        unit = _call_unit(node)
        if unit is not None:
            return unit
        if isinstance(node.func, ast.Name) and node.func.id in ("max", "min") and node.args:
            return _common([_kind(arg, of_name) for arg in node.args])
    return None


def _counts(node: ast.expr, of_name) -> list:
    if isinstance(node, ast.Name):
        return list(of_name(node.id))
    if isinstance(node, ast.IfExp):
        return _counts(node.body, of_name) + _counts(node.orelse, of_name)
    if isinstance(node, ast.Call) and _call_unit(node) == DAYS and isinstance(node.args[0], ast.Name):
        amount = node.args[1]
        if isinstance(amount, ast.Name):
            return [(node.args[0].id, amount.id)]
        if isinstance(amount, ast.Constant) and type(amount.value) in (int, float):
            return [(node.args[0].id, amount.value)]
    return []


def _common(kinds: list) -> str | None:
    found = {k for k in kinds if k != _NONE}
    if None in found or len(found) > 1:
        return None
    return found.pop() if found else _NONE


# By restored spec: an engine keeps one per model version while it runs, and a version never changes (an id
# alone could name another model after a restore, or in another test's database).
_cache: "WeakKeyDictionary[object, PeriodKinds]" = WeakKeyDictionary()
_lock = Lock()
_SCRIPT = "{http://www.omg.org/spec/BPMN/20100524/MODEL}script"


def of_specs(spec, subprocess_specs: Mapping) -> PeriodKinds:
    """The kinds of one model version (its restored spec and subprocess specs), read once per spec."""
    found = _cache.get(spec)
    if found is None:
        found = read([task_spec.script for one in (spec, *subprocess_specs.values())
                      for task_spec in one.task_specs.values()
                      if isinstance(getattr(task_spec, "script", None), str)])
        with _lock:
            _cache[spec] = found
    return found


def of_engine(engine, session: Session, model_id: int) -> PeriodKinds:
    """The kinds of one model version, through ``engine``'s cache of restored specs."""
    model = engine.model(session, model_id)
    return of_specs(*engine.specs.get(model.id, lambda: session.get(ProcessModel, model.id).spec))


def of_model(session: Session, model_id: int | None) -> PeriodKinds:
    """The kinds of one model version, read from its stored BPMN (where no engine is at hand: a document)."""
    xml = session.scalar(select(ProcessModel.bpmn_xml).where(ProcessModel.id == model_id)) if model_id else None
    if not xml:
        return PeriodKinds()
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return read([node.text or "" for node in etree.fromstring(xml.encode("utf-8"), parser).iter(_SCRIPT)])


__all__ = ["DAYS", "HOURS", "INSTANT", "WORKING_DAYS", "PeriodKinds", "of_engine", "of_model", "of_specs",
           "read"]
