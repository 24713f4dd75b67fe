"""The restricted environment BPMN conditions, timer expressions and scripts run in.

Models can be uploaded by any city admin, so what they execute is compiled with
RestrictedPython: no imports, no open(), no dunder access, only a small set of
builtins. A model can compute with its case data and nothing else.
"""
import ast
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from RestrictedPython import compile_restricted_eval, compile_restricted_exec, limited_builtins, safe_builtins
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import full_write_guard, guarded_iter_unpack_sequence, safer_getattr
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from . import clock


class ScriptRejected(Exception):
    """A model's expression or script does not compile under the restrictions."""


_BUILTINS = dict(safe_builtins)
_BUILTINS.update(limited_builtins)
_BUILTINS.update(
    {name: __builtins__[name] if isinstance(__builtins__, dict) else getattr(__builtins__, name)
     for name in ("min", "max", "sum", "any", "all", "sorted", "enumerate", "dict", "list", "map", "filter")}
)


def _inplace(op, x, y):
    ops = {"+=": lambda: x + y, "-=": lambda: x - y, "*=": lambda: x * y, "/=": lambda: x / y}
    if op not in ops:
        raise ScriptRejected(f"operator {op} is not allowed")
    return ops[op]()


def _now() -> str:
    """The engine's current instant as ISO 8601 text (case data holds text, not datetimes)."""
    return clock.now().isoformat()


def _add_days(instant, days) -> str:
    """``instant`` (ISO text or datetime) moved by ``days``, as ISO text: deadlines in models."""
    value = instant if isinstance(instant, datetime) else datetime.fromisoformat(str(instant))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value + timedelta(days=float(days))).isoformat()


def _base_globals() -> dict:
    return {
        "__builtins__": _BUILTINS,
        "_getattr_": safer_getattr,
        "_getitem_": default_guarded_getitem,
        "_getiter_": default_guarded_getiter,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_write_": full_write_guard,
        "_inplacevar_": _inplace,
        "now": _now,
        "add_days": _add_days,
    }


@lru_cache(maxsize=2048)
def compile_expression(source: str):
    result = compile_restricted_eval(source.strip())
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
    result = compile_restricted_exec(source)
    if result.errors:
        raise ScriptRejected("; ".join(result.errors))
    return result.code


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    def evaluate(self, expression, context, external_context=None):
        scope = _base_globals()
        scope.update(external_context or {})
        scope.update(context)
        return eval(compile_expression(expression), scope)  # noqa: S307 - restricted bytecode

    def execute(self, script, context, external_context=None):
        base = _base_globals()
        scope = dict(base)
        scope.update(external_context or {})
        scope.update(context)
        exec(compile_script(script), scope)  # noqa: S102 - restricted bytecode
        for key, value in scope.items():
            if key in base or key.startswith("_") or callable(value) or (external_context and key in external_context):
                continue
            context[key] = value
        return True

    def call_service(self, context, **kwargs):
        raise ScriptRejected("service tasks are not supported")


def restricted_script_engine() -> PythonScriptEngine:
    return PythonScriptEngine(environment=RestrictedEnvironment())
