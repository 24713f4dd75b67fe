"""What a BPMN timer's expression may give: ISO 8601 text of a bounded length of time.

SpiffWorkflow reads the value of a timer expression with ``.upper()`` (so ``12345`` failed with
"'int' object has no attribute 'upper'"), and turns a duration's years and months into days one
month at a time, in the engine's thread: ``P99999999999Y`` never returned. Its parsing functions
are wrapped here, for every timer of every model, to refuse both with a plain reason.
"""
from datetime import UTC, datetime

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)

MAX_MONTHS = 12 * 1000  # a thousand years: a timer further off never fires anyway

_parse_time_or_duration = TimerEventDefinition.parse_time_or_duration
_parse_iso_duration = TimerEventDefinition.parse_iso_duration
_parse_iso_recurring_interval = TimerEventDefinition.parse_iso_recurring_interval


class TimerValueError(ValueError):
    """A timer expression gave something that is not a usable ISO 8601 date, duration or cycle."""


def _text(value) -> str:
    if not isinstance(value, str):
        raise TimerValueError(f"a timer must give ISO 8601 text (a date, a duration such as 'P30D' or a cycle "
                              f"such as 'R3/PT1H'), not {value!r} ({type(value).__name__})")
    return value


def parse_time_or_duration(expression):
    return _parse_time_or_duration(_text(expression))


def parse_iso_duration(expression):
    parsed = _parse_iso_duration(_text(expression))
    if parsed.get("years", 0) * 12 + parsed.get("months", 0) > MAX_MONTHS:
        raise TimerValueError(f"the timer duration {expression!r} is longer than {MAX_MONTHS // 12} years")
    return parsed


def parse_iso_recurring_interval(expression):
    return _parse_iso_recurring_interval(_text(expression))


def _naming_the_event(method):
    """The timer's own task goes with the error, so the engine can name the element."""
    def checked(self, my_task):
        try:
            return method(self, my_task)
        except TimerValueError as exc:
            raise WorkflowTaskException(str(exc), task=my_task, exception=exc) from exc
    return checked


TimeDateEventDefinition.has_fired = _naming_the_event(TimeDateEventDefinition.has_fired)
DurationTimerEventDefinition.has_fired = _naming_the_event(DurationTimerEventDefinition.has_fired)
CycleTimerEventDefinition.cycle_complete = _naming_the_event(CycleTimerEventDefinition.cycle_complete)
TimerEventDefinition.parse_time_or_duration = staticmethod(parse_time_or_duration)
TimerEventDefinition.parse_iso_duration = staticmethod(parse_iso_duration)
TimerEventDefinition.parse_iso_recurring_interval = staticmethod(parse_iso_recurring_interval)


def check_constant(kind: str, value) -> None:
    """Parse a timer's constant value as the engine will when the timer starts; raises ValueError."""
    if kind == "timeCycle":
        parse_iso_recurring_interval(value)
    elif kind == "timeDuration":
        parse_iso_duration(value)
    else:
        parse_time_or_duration(value)


def parse_instant(value) -> datetime:
    """The instant a timer's value names (a waiting timer keeps it as ISO text), with a time zone."""
    if isinstance(value, datetime):
        instant = value
    else:
        instant = TimerEventDefinition.get_datetime(str(value))
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)
