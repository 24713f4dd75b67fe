"""What a model's code may do: RestrictedPython's compiler and the globals it runs with.

Models can be uploaded by any city admin, so what they execute is compiled with
RestrictedPython: no imports, no open(), no dunder access, only a small set of
builtins. A model can compute with its case data and nothing else.

The operators that make a large value from small operands in a single C call (``'a' * 10**9``,
``10 ** 10**8``, ``1 << 10**9``, ``'%0999999999d' % 1``) are compiled into calls of guards that
refuse before anything is allocated: no interrupt can stop a C call half-way, and the in-process
path (see ``bounded``) has no memory limit of its own.

This module imports neither SpiffWorkflow nor the engine: the sandbox's worker process runs
what it compiles.
"""
import ast
import builtins
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from RestrictedPython import (
    RestrictingNodeTransformer,
    compile_restricted_eval,
    compile_restricted_exec,
    limited_builtins,
    safe_builtins,
)
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import full_write_guard, guarded_iter_unpack_sequence, safer_getattr


class ScriptRejected(Exception):
    """A model's expression or script does not compile under the restrictions."""


class ScriptLimitExceeded(Exception):
    """A model's expression or script went over its CPU time or memory limit and was stopped."""


@dataclass(frozen=True)
class Limits:
    cpu_seconds: float = 2.0
    memory_bytes: int = 128 * 1024 * 1024

    @property
    def max_result_bytes(self) -> int:
        """The largest text or list one ``*`` or ``%`` may make: an eighth of the step's memory, so that
        plain code in the engine's thread (``bounded``), which may combine up to eight of them, stays
        within the memory limit too."""
        return self.memory_bytes // 8

    @property
    def max_values(self) -> int:
        """Values a step may make, counted as JSON would write them (about 16 bytes or more each there)."""
        return self.memory_bytes // 256

    @property
    def max_int_bits(self) -> int:
        # Far above any amount or count a model handles, far below a slow multiplication; ints
        # beyond 4300 digits cannot even be printed (sys.int_max_str_digits).
        return 1 << 16


limits = Limits()


def configure(cpu_seconds: float, memory_mb: float) -> Limits:
    """Set the per-step limits of this process (the web app does, from its configuration)."""
    global limits
    if cpu_seconds <= 0 or memory_mb <= 0:
        raise ValueError("the CPU time and memory limits of model scripts must be positive")
    limits = Limits(cpu_seconds=float(cpu_seconds), memory_bytes=int(memory_mb * 2**20))
    return limits


# ---- guards of the operators that build large values in one C call ---------------------------------
_SEQUENCES = (str, bytes, list, tuple)
_CONTAINERS = (list, tuple, dict, set, frozenset)


def _too_big(what: str) -> ScriptLimitExceeded:
    return ScriptLimitExceeded(f"{what} would make more than {limits.max_result_bytes // 2**20} MB at once "
                               f"(an eighth of the memory limit of {limits.memory_bytes // 2**20} MB)")


def _check_int_bits(bits: int) -> None:
    if bits > limits.max_int_bits:
        raise ScriptLimitExceeded(f"an integer of more than {limits.max_int_bits} bits is not allowed")


def _nodes(value, cap: int) -> int:
    """How many values ``value`` holds counted as a tree (shared parts counted each time they
    appear, as JSON would write them), stopping once past ``cap``."""
    count, stack = 0, [value]
    while stack and count <= cap:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, _CONTAINERS):
            stack.extend(item)
    return count


def _check_repeat(seq, times: int) -> None:
    if times <= 1 or not seq:
        return
    if isinstance(seq, str | bytes):
        if (sys.getsizeof(seq) - sys.getsizeof(seq[:0])) * times > limits.max_result_bytes:
            raise _too_big(f"repeating a text of {len(seq)} characters {times} times")
        return
    cap = limits.max_values
    if len(seq) * times * 8 > limits.max_result_bytes or _nodes(seq, cap) * times > cap:
        raise _too_big(f"repeating a list of {len(seq)} items {times} times")


def guarded_mul(x, y):
    if isinstance(x, int) and isinstance(y, int):
        _check_int_bits(x.bit_length() + y.bit_length())
    elif isinstance(x, _SEQUENCES) and isinstance(y, int):
        _check_repeat(x, y)
    elif isinstance(y, _SEQUENCES) and isinstance(x, int):
        _check_repeat(y, x)
    return x * y


def guarded_pow(x, y, z=None):
    if z is None and isinstance(x, int) and isinstance(y, int) and y > 0 and abs(x) > 1:
        _check_int_bits(x.bit_length() * y)
    return pow(x, y) if z is None else pow(x, y, z)


def guarded_lshift(x, y):
    if isinstance(x, int) and isinstance(y, int) and x and y > 0:
        _check_int_bits(x.bit_length() + y)
    return x << y


_CONVERSION = re.compile(r"%(?:\(([^)]*)\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.)")
_CONVERSION_B = re.compile(_CONVERSION.pattern.encode())
_MAX_FORMAT_WIDTH = 10_000


def _text_size(value) -> int:
    """At most how many characters ``%s`` of ``value`` writes (a number: at most 4300 digits)."""
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, int | float | bool | type(None)):
        return 4400
    return _nodes(value, limits.max_values) * 32


def guarded_mod(x, y):
    """``%`` formatting, refused when the text it would make is too large: a width or precision above
    10,000 or given by ``*``, or ``%(key)s`` repeated over a long value."""
    if isinstance(x, str | bytes):
        args, position, size = (y if isinstance(y, tuple) else (y,)), 0, len(x)
        for key, width, precision, kind in (_CONVERSION if isinstance(x, str) else _CONVERSION_B).findall(x):
            if kind in ("%", b"%"):
                continue
            for n in (width, precision):
                if n and (n in ("*", b"*") or int(n) > _MAX_FORMAT_WIDTH):
                    raise ScriptLimitExceeded(f"a % format width or precision above {_MAX_FORMAT_WIDTH} "
                                              "(or given by *) is not allowed")
            size += int(width or 0) + int(precision or 0)
            if key:
                try:
                    size += _text_size(y[key.decode() if isinstance(key, bytes) else key])
                except (KeyError, TypeError, IndexError):
                    pass  # formatting fails on it just the same
            elif position < len(args):
                size += _text_size(args[position])
                position += 1
            if size > limits.max_result_bytes:
                raise _too_big("formatting a text")
    return x % y


GUARDED_OPERATORS = {ast.Mult: "_mul_", ast.Pow: "_pow_", ast.LShift: "_lshift_", ast.Mod: "_mod_"}


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's policy, with ``*``, ``**``, ``<<`` and ``%`` compiled into guard calls."""

    def visit_BinOp(self, node: ast.BinOp):
        node = self.node_contents_visit(node)
        guard = GUARDED_OPERATORS.get(type(node.op))
        if guard is None:
            return node
        call = ast.Call(func=ast.copy_location(ast.Name(guard, ast.Load()), node), args=[node.left, node.right],
                        keywords=[])
        return ast.copy_location(call, node)


_INPLACE = {"+=": lambda x, y: x + y, "-=": lambda x, y: x - y, "*=": guarded_mul, "/=": lambda x, y: x / y}


def _inplace(op, x, y):
    if op not in _INPLACE:
        raise ScriptRejected(f"operator {op} is not allowed")
    return _INPLACE[op](x, y)


# ---- builtins and globals ---------------------------------------------------------------------------
BUILTINS = dict(safe_builtins)
BUILTINS.update(limited_builtins)
BUILTINS.update({name: getattr(builtins, name)
                 for name in ("min", "max", "sum", "any", "all", "sorted", "enumerate", "dict", "list", "map",
                              "filter")})
BUILTINS["pow"] = guarded_pow


def add_days(instant, days) -> str:
    """``instant`` (ISO text or datetime) moved by ``days``, as ISO text: deadlines in models."""
    value = instant if isinstance(instant, datetime) else datetime.fromisoformat(str(instant))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value + timedelta(days=float(days))).isoformat()


def _weekdays_only(instant: datetime, amount, unit: str) -> datetime:
    """Periods before a calendar is installed (a bare engine): Monday to Friday work."""
    if unit == "hours":
        return instant + timedelta(hours=float(amount))
    if unit == "days":  # calendar days, the last one moved off a weekend (as the calendar does, Civil Code art. 203)
        day = instant + timedelta(days=int(amount))
        while day.weekday() >= 5:
            day += timedelta(days=1)
        return day
    day, left = instant, int(amount)
    while left > 0:
        day += timedelta(days=1)
        left -= day.weekday() < 5
    return day


# Where a period counted in hours, days or working days ends: the working-day calendar is the
# domain's (workflows/services/working_days.py installs it); the engine knows only this signature.
_period_provider = _weekdays_only


def set_period_provider(provider) -> None:
    global _period_provider
    _period_provider = provider


@dataclass(frozen=True, slots=True)
class CountedPeriod:
    """One ``add_period`` a script ran: its end (as the script got it), its unit, start and amount."""

    end: str
    unit: str
    start: str
    amount: object


# The periods the script running in this thread counted (None: nobody is noting them).
_counted: ContextVar[list[CountedPeriod] | None] = ContextVar("gasflow_counted_periods", default=None)


@contextmanager
def periods_counted() -> Iterator[list[CountedPeriod]]:
    """The periods the code run inside counts with ``add_period`` (and ``add_working_days``), in order."""
    found: list[CountedPeriod] = []
    token = _counted.set(found)
    try:
        yield found
    finally:
        _counted.reset(token)


def add_period(instant, amount, unit) -> str:
    """``instant`` moved by a period (``unit``: hours, days, working_days), as ISO text."""
    value = instant if isinstance(instant, datetime) else datetime.fromisoformat(str(instant))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    end = _period_provider(value, amount, str(unit)).isoformat()
    counted = _counted.get()
    if counted is not None:
        counted.append(CountedPeriod(end, str(unit), value.isoformat(), amount))
    return end


def add_working_days(instant, days) -> str:
    """The end of the ``days``-th working day after ``instant``, as ISO text."""
    return add_period(instant, days, "working_days")


def base_globals(now) -> dict:
    """The globals of one run; ``now()`` is the engine's current instant as ISO text (case data holds
    text, not datetimes)."""
    return {
        "__builtins__": BUILTINS,
        "_getattr_": safer_getattr,
        "_getitem_": default_guarded_getitem,
        "_getiter_": default_guarded_getiter,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_write_": full_write_guard,
        "_inplacevar_": _inplace,
        "_mul_": guarded_mul,
        "_pow_": guarded_pow,
        "_lshift_": guarded_lshift,
        "_mod_": guarded_mod,
        "now": now,
        "add_days": add_days,
        "add_period": add_period,
        "add_working_days": add_working_days,
    }


@lru_cache(maxsize=2048)
def compile_expression(source: str):
    result = compile_restricted_eval(source.strip(), policy=_Policy)
    if result.errors:
        raise ScriptRejected("; ".join(result.errors))
    return result.code


@lru_cache(maxsize=1024)
def compile_script(source: str):
    # RestrictedPython accepts import statements and fails them when run; refuse them up front
    # so a model that tries is rejected at upload with a reason, not half-way through a case.
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            raise ScriptRejected(f"line {node.lineno}: imports are not allowed")
    result = compile_restricted_exec(source, policy=_Policy)
    if result.errors:
        raise ScriptRejected("; ".join(result.errors))
    return result.code
