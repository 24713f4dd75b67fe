"""Which model code is cheap by construction, so it may run in the engine's own thread.

A sandbox process with CPU and memory limits (``sandbox``) costs a round trip of a few hundred
microseconds; a gateway condition such as ``score >= 60`` costs a microsecond. Code is run in
the thread without limits only when its form bounds its cost:

- no loop, comprehension, function, class, lambda, ``try`` or ``with``: every node runs at most once;
- calls only of builtins and methods whose time and result are linear in their arguments
  (``len``, ``str``, ``min``, ``add_days``, ``.get``, ``.strip``, ...), with plain arguments;
- the operators that multiply sizes (``*``, ``**``, ``<<``, ``%``) are guarded (``restricted``): one
  result of ``*`` or ``%`` is at most an eighth of the memory limit, ``**`` and ``<<`` make only
  integers of at most 65,536 bits; ``+`` adds sizes;
- a script assigns plain names only (no item or attribute writes: nothing shared is changed), and
  a value may be made of at most ``MAX_WEIGHT`` references to case data and constants, counted
  through the names it uses (``s = s + s`` repeated would double a text at every line), a result of
  ``*`` or ``%`` counting as ``MADE_BY_A_GUARD``.

Such code takes time linear in the case data it reads and makes values of at most ``MAX_WEIGHT``
times that data, or the memory limit. Everything else (and any script with a loop) goes to the sandbox. At upload,
expressions (conditions, timers, due dates, DMN entries) must be of this form: see ``loader``.
"""
import ast
from functools import lru_cache

from .restricted import ScriptRejected, compile_expression

MAX_WEIGHT = 64
# A text or list made by `*` or `%` counts as this many references: the guards let one be at most an
# eighth of the step's memory limit, so at most eight of them make up a value.
MADE_BY_A_GUARD = MAX_WEIGHT // 8
SAFE_FUNCTIONS = frozenset({"len", "str", "int", "float", "bool", "abs", "min", "max", "now", "add_days",
                            "add_period", "add_working_days"})
SAFE_METHODS = frozenset({"get", "strip", "lstrip", "rstrip", "lower", "upper", "startswith", "endswith",
                          "isoformat", "keys", "values", "items", "isdigit", "count", "find"})
_EXPRESSIONS = (ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.IfExp, ast.Dict, ast.Set, ast.List, ast.Tuple,
                ast.Compare, ast.Call, ast.Constant, ast.Attribute, ast.Subscript, ast.Slice, ast.Name,
                ast.JoinedStr, ast.FormattedValue)
_STATEMENTS = (ast.Assign, ast.AugAssign, ast.If, ast.Pass, ast.Expr)


class _Unbounded(Exception):
    pass


def _refuse(node, why: str):
    raise _Unbounded(f"line {getattr(node, 'lineno', 1)}: {why}")


class _Weigher:
    """Walks the code in the order it runs, giving each name the weight of the value it holds."""

    def __init__(self):
        self.weights: dict[str, int] = {}

    def expression(self, node) -> int:
        if not isinstance(node, _EXPRESSIONS):
            _refuse(node, f"{type(node).__name__.lower()} (a loop, comprehension or function) is not allowed")
        if isinstance(node, ast.Name):
            return self.weights.get(node.id, 1)
        if isinstance(node, ast.Constant):
            return 1
        if isinstance(node, ast.Call):
            parts = self._call(node)
        else:
            if isinstance(node, ast.FormattedValue) and node.format_spec is not None and _wide(node.format_spec):
                _refuse(node, "a computed format specification, or a width above 10000, is not allowed")
            parts = [child for child in ast.iter_child_nodes(node) if isinstance(child, ast.expr)]
        weight = sum(self.expression(part) for part in parts)
        if isinstance(node, ast.BinOp) and (isinstance(node.op, ast.Mod) or
                                            isinstance(node.op, ast.Mult) and not _numeric(node)):
            weight = max(weight, MADE_BY_A_GUARD)
        if weight > MAX_WEIGHT:
            _refuse(node, f"a value made of more than {MAX_WEIGHT} references to data")
        return weight

    def _call(self, node: ast.Call) -> list:
        """The parts whose values a call reads: its receiver and its arguments."""
        func = node.func
        if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
            _refuse(node, "keyword or starred arguments are not allowed")
        if isinstance(func, ast.Name) and func.id in SAFE_FUNCTIONS:
            return list(node.args)
        if isinstance(func, ast.Attribute) and func.attr in SAFE_METHODS:
            return [func.value, *node.args]
        _refuse(node, f"a call of {ast.unparse(func)} is not allowed")

    def statements(self, body) -> None:
        for node in body:
            if not isinstance(node, _STATEMENTS):
                _refuse(node, f"{type(node).__name__.lower()} statements are not allowed")
            if isinstance(node, ast.If):
                self.expression(node.test)
                before = dict(self.weights)
                self.statements(node.body)
                taken, self.weights = self.weights, before
                self.statements(node.orelse)
                for name, weight in taken.items():
                    self.weights[name] = max(weight, self.weights.get(name, 0))
            elif isinstance(node, ast.Assign):
                weight = self.expression(node.value)
                for target in node.targets:
                    self._store(target, weight)
            elif isinstance(node, ast.AugAssign):
                self._store(node.target, self.expression(node.target) + self.expression(node.value))
            elif isinstance(node, ast.Expr):
                self.expression(node.value)

    def _store(self, target, weight: int) -> None:
        if not isinstance(target, ast.Name):
            _refuse(target, "only plain names may be assigned")
        if target.id in SAFE_FUNCTIONS:
            _refuse(target, f"{target.id} may not be assigned")
        if weight > MAX_WEIGHT:
            _refuse(target, f"a value made of more than {MAX_WEIGHT} references to data")
        self.weights[target.id] = weight


def _numeric(node: ast.BinOp) -> bool:
    """``x * 0.5``: a float operand makes it arithmetic (a text or list cannot be repeated 0.5 times)."""
    return any(isinstance(side, ast.Constant) and isinstance(side.value, float) for side in (node.left, node.right))


def _wide(spec) -> bool:
    if not all(isinstance(v, ast.Constant) for v in spec.values):
        return True
    text = "".join(str(v.value) for v in spec.values)
    digits = "".join(ch if ch.isdigit() else " " for ch in text).split()
    return any(int(d) > 10_000 for d in digits)


def _reason(tree) -> str | None:
    try:
        weigher = _Weigher()
        if isinstance(tree, ast.Expression):
            weigher.expression(tree.body)
        else:
            weigher.statements(tree.body)
    except _Unbounded as exc:
        return str(exc)
    return None


@lru_cache(maxsize=4096)
def expression_unbounded(source: str) -> str | None:
    """Why an expression's cost is not bounded by its form, or None when it is."""
    return _reason(ast.parse(source.strip(), mode="eval"))


@lru_cache(maxsize=1024)
def script_unbounded(source: str) -> str | None:
    """Why a script's cost is not bounded by its form, or None when it is."""
    return _reason(ast.parse(source))


def expression_refused(text: str) -> str | None:
    """Why a model's expression cannot be deployed, or None.

    Expressions run in the engine's own thread, so they must be plain: no loops, comprehensions or
    functions, only builtins whose cost is linear in the case data (``bounded``). Work that needs
    more belongs in a script task, which runs in the sandbox under the step limits."""
    try:
        compile_expression(text)
    except (ScriptRejected, SyntaxError) as exc:
        return str(exc)
    reason = expression_unbounded(text)
    if reason:
        return f"not a plain expression ({reason}); compute it in a script task"
    return None
