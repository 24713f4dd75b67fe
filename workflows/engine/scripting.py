"""The script engine SpiffWorkflow runs BPMN conditions, timer expressions, DMN entries and scripts with.

Everything is compiled by ``restricted``. Code whose form bounds its cost (``bounded``: no loops,
only linear builtins; every expression of a model uploaded since) runs here in the engine's
thread, in microseconds; anything else runs in the ``sandbox``, under the per-step CPU time and
memory limits.
"""
import ast
from functools import lru_cache

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from . import clock, period_notes, sandbox
from .bounded import expression_unbounded, script_unbounded
from .restricted import (
    ScriptLimitExceeded,
    ScriptRejected,
    base_globals,
    compile_expression,
    compile_script,
    periods_counted,
)

__all__ = ["ScriptLimitExceeded", "ScriptRejected", "compile_expression", "compile_script",
           "restricted_script_engine"]


def _now() -> str:
    """The engine's current instant as ISO 8601 text (case data holds text, not datetimes)."""
    return clock.now().isoformat()


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    def evaluate(self, expression, context, external_context=None):
        code = compile_expression(expression)
        if expression_unbounded(expression) is not None:
            return sandbox.run("eval", expression, context, external_context, clock.now())
        scope = base_globals(_now)
        scope.update(external_context or {})
        scope.update(context)
        return eval(code, scope)  # noqa: S307 - restricted bytecode

    def execute(self, script, context, external_context=None):
        code = compile_script(script)
        if script_unbounded(script) is not None:
            context.update(sandbox.run("exec", script, context, external_context, clock.now()))
            return True
        base = base_globals(_now)
        scope = dict(base)
        scope.update(external_context or {})
        scope.update(context)
        exec(code, scope)  # noqa: S102 - restricted bytecode
        for key, value in scope.items():
            if key in base or key.startswith("_") or callable(value) or (external_context and key in external_context):
                continue
            context[key] = value
        return True

    def call_service(self, context, **kwargs):
        raise ScriptRejected("service tasks are not supported")


@lru_cache(maxsize=4096)
def _syntax_error(expression: str) -> tuple | None:
    try:
        ast.parse(expression)
    except SyntaxError as exc:
        return exc.args
    return None


class RestrictedScriptEngine(PythonScriptEngine):
    def execute(self, task, script, external_context=None):
        # What each date the script counts is counted in, noted beside the case's state (period_notes). Only
        # scripts run here count periods: one that would in the sandbox is refused at upload.
        names = period_notes.assigned(script)
        if not names:
            return super().execute(task, script, external_context)
        before = {name: task.data.get(name) for name in names}
        with periods_counted() as counted:
            done = super().execute(task, script, external_context)
        if counted:
            period_notes.note_script(task.workflow, task.data, before, counted)
        return done

    def validate(self, expression):
        # SpiffWorkflow's DMN engine asks this of every rule's input and entry on every decision (and
        # tells "a" from "< 3" by the SyntaxError of the first): parsed once per process, not each time.
        problem = _syntax_error(expression)
        if problem is not None:
            raise SyntaxError(*problem)


def restricted_script_engine() -> PythonScriptEngine:
    return RestrictedScriptEngine(environment=RestrictedEnvironment())
