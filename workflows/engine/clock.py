"""The engine's notion of "now".

SpiffWorkflow's timer events read ``datetime.now()`` directly. The engine needs to
fire timers at a given instant (the periodic job passes the real time; tests move
time forward without sleeping), so Spiff's timer module is given a datetime class
whose ``now()`` honours the instant set for the current engine step.
"""
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer

_current: ContextVar[datetime | None] = ContextVar("gasflow_now", default=None)


class _EngineDatetime(datetime):
    @classmethod
    def now(cls, tz=None):
        fixed = _current.get()
        if fixed is None:
            return datetime.now(tz)
        return fixed.astimezone(tz) if tz else fixed.astimezone().replace(tzinfo=None)


_spiff_timer.datetime = _EngineDatetime


def now() -> datetime:
    return _current.get() or datetime.now(UTC)


@contextmanager
def frozen_at(instant: datetime | None):
    token = _current.set(instant)
    try:
        yield
    finally:
        _current.reset(token)
