"""DMN decision tables: read and checked at upload, bound to business rule tasks when a case runs.

A business rule task names its table by ``camunda:decisionRef``. When a case reaches the task
the engine hands it the newest version of that table, so an admin changes a threshold by
uploading a new table (made in Camunda Modeler or bpmn.io), without deploying processes again.
The expressions in a table run in the same restricted environment as scripts.
"""
import hashlib
import weakref
from dataclasses import dataclass
from threading import Lock

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.exceptions import SpiffWorkflowException
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import DecisionModel
from models.versions import newest_versions
from workflows import reference_cache, transaction_memo
from workflows.errors import InvalidModel

from .bounded import expression_refused

DMN_NAMESPACES = (
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
)
MAX_DMN_BYTES = 512 * 1024


@dataclass
class DecisionDefinition:
    key: str
    name: str
    checksum: str
    xml: str
    table: dict  # inputs, outputs and rules as text, for people to read


def is_dmn(content: bytes) -> bool:
    head = content[:2048]
    return any(ns.encode() in head for ns in DMN_NAMESPACES) and b"definitions" in head


def _parse(root, filename: str):
    parser = CamundaParser()
    parser.add_dmn_xml(root, filename=filename)
    if len(parser.dmn_parsers) != 1:
        raise InvalidModel([f"expected one decision, found {len(parser.dmn_parsers)}"])
    (key, dmn_parser), = parser.dmn_parsers.items()
    dmn_parser.parse()
    decision = dmn_parser.decision
    if len(decision.decisionTables) != 1:
        raise InvalidModel([f"{key}: expected one decision table, found {len(decision.decisionTables)}"])
    return key, decision


def read_dmn(content: bytes) -> DecisionDefinition:
    if len(content) > MAX_DMN_BYTES:
        raise InvalidModel([f"file is larger than {MAX_DMN_BYTES // 1024} KiB"])
    try:
        root = etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise InvalidModel([f"not well-formed XML: {exc}"]) from None
    if etree.QName(root).localname != "definitions" or etree.QName(root).namespace not in DMN_NAMESPACES:
        raise InvalidModel(["not a DMN file (root element must be dmn:definitions)"])
    try:
        key, decision = _parse(root, "upload.dmn")
    except (ValidationException, SpiffWorkflowException, KeyError, IndexError, SyntaxError) as exc:
        raise InvalidModel([f"decision table refused: {exc}"]) from None
    table = decision.decisionTables[0]
    reasons = []
    for inp in table.inputs:
        _check(reasons, f"input '{inp.label or inp.id}'", inp.expression, required=True)
    for rule in table.rules:
        for entry in rule.inputEntries:
            for lhs in entry.lhs:
                if lhs is not None:
                    _check_entry(reasons, f"rule {rule.row_number}", lhs)
        for entry in rule.outputEntries:
            _check(reasons, f"rule {rule.row_number} output", entry.text)
    if reasons:
        raise InvalidModel(reasons)
    return DecisionDefinition(
        key=key, name=decision.name or key, checksum=hashlib.sha256(content).hexdigest(),
        xml=content.decode("utf-8"), table=describe(table),
    )


def _check(reasons: list, where: str, text: str | None, required: bool = False) -> None:
    if not text or not text.strip():
        if required:
            reasons.append(f"{where}: empty expression")
        return
    refused = expression_refused(text)
    if refused:
        reasons.append(f"{where}: expression '{text}' refused: {refused}")


def _check_entry(reasons: list, where: str, text: str) -> None:
    """An input entry is a value ("'fine'", "5"), a test ("> 50000", "in ('a', 'b')") or uses "?"
    for the input; the engine reads it the same three ways, so it is checked the same three ways."""
    text = text.strip()
    candidates = [text.replace("?", "dmninputexpr")] if "?" in text else [text, f"dmninputexpr {text}"]
    errors = []
    for candidate in candidates:
        refused = expression_refused(candidate)
        if refused is None:
            return
        errors.append(refused)
    reasons.append(f"{where}: input entry '{text}' refused: {errors[-1]}")


def describe(table) -> dict:
    return {
        "hit_policy": table.hit_policy,
        "inputs": [{"label": i.label or i.name or i.id, "expression": i.expression} for i in table.inputs],
        "outputs": [{"label": o.label or o.name or o.id, "name": o.name} for o in table.outputs],
        "rules": [{"row": r.row_number, "description": r.description or "",
                   "inputs": [e.text or "-" for e in r.inputEntries],
                   "outputs": [e.text or "" for e in r.outputEntries]} for r in table.rules],
    }


def describe_xml(xml: str) -> dict:
    _key, decision = _parse(etree.fromstring(xml.encode("utf-8")), "stored.dmn")
    return describe(decision.decisionTables[0])


class _DecisionEngine(DMNEngine):
    """Spiff's DMN engine, reading a test entry such as ``in ("a", "b")`` or ``> 5`` as a test on the
    input: Spiff glues the two texts together with no space (``typein (...)``), which breaks on
    word operators; here they are joined as ``(input) test``."""

    def evaluate(self, input_expr, match_expr, task):
        if match_expr is None or "?" in match_expr:
            return super().evaluate(input_expr, match_expr, task)
        script_engine = task.workflow.script_engine
        if self.needs_eq(script_engine, match_expr):
            return script_engine.evaluate(task, f"({input_expr}) == ({match_expr})")
        return script_engine.evaluate(task, f"({input_expr}) {match_expr}")


class DecisionCache:
    """DMN engines by decision model id; a stored version never changes, so entries never go stale."""

    def __init__(self):
        self._engines: dict[int, DMNEngine] = {}
        self._lock = Lock()

    def engine(self, model_id: int | str, xml) -> DMNEngine:
        """The parsed table of version ``model_id`` (or of the text whose digest it is); ``xml`` is its text, or
        a function reading it (called only when the version is not parsed yet: the text is the row's bulk)."""
        found = self._engines.get(model_id)
        if found is None:
            xml = xml() if callable(xml) else xml
            _key, decision = _parse(etree.fromstring(xml.encode("utf-8")), f"decision-{model_id}.dmn")
            found = _DecisionEngine(decision.decisionTables[0])
            with self._lock:
                self._engines[model_id] = found
        return found

    def forget(self, keep) -> None:
        with self._lock:
            self._engines = {k: v for k, v in self._engines.items() if k in keep}


_NEWEST_ALL = newest_versions(DecisionModel, DecisionModel.key, DecisionModel.id, DecisionModel.version)
_newest = reference_cache.Kept()


def newest_decision(s: Session, key: str):
    """(id, version) of the newest version of decision table ``key``, or None. Every business rule task
    and every form proposing a period asks: the newest of every table is kept by the process while the
    reference revision stays (``workflows.reference_cache``), checked once a transaction; the table's text,
    the row's bulk, is read only by ``DecisionCache.engine`` when this process has not parsed that version."""
    return transaction_memo.once(s, ("decision", key), lambda: _newest.get(s, lambda: _read_newest(s)).get(key))


def _read_newest(s: Session) -> dict:
    return {row.key: row for row in s.execute(_NEWEST_ALL)}


def decision_xml(s: Session, model_id: int):
    """A function reading the text of decision version ``model_id``, for ``DecisionCache.engine``."""
    return lambda: s.scalar(select(DecisionModel.dmn_xml).where(DecisionModel.id == model_id))


class LatestDecision:
    """Stands in for a business rule task's DMN engine and asks the running transition for the
    newest version of the table when the task runs (see ``CaseEngine._advance``). It keeps the engine
    parsed with the model: SpiffWorkflow's spec diff (case migration) serializes ``decision_table``."""

    def __init__(self, key: str, resolve, parsed=None):
        self.key = key
        self._resolve = resolve
        self._parsed = parsed

    @property
    def decision_table(self):
        if self._parsed is None:
            raise AttributeError("decision_table")
        return self._parsed.decision_table

    def result(self, task):
        engine, version = self._resolve(self.key)
        outcome = engine.result(task)
        task.data.setdefault("decisions", {})[self.key] = {"version": version, **outcome}
        return outcome


# The specs already bound: a transition runs on a cached spec, and walking all its task specs again on each
# one was about 0.5 % of an API completion's CPU.
_bound: "weakref.WeakSet" = weakref.WeakSet()


def bind_latest(spec, subprocess_specs, decisions: dict[str, str], resolve) -> None:
    """Point each business rule task of a (cached, shared) spec at ``LatestDecision``. Idempotent."""
    if not decisions or spec in _bound:
        return
    for s in [spec, *subprocess_specs.values()]:
        for task_spec in s.task_specs.values():
            ref = decisions.get(getattr(task_spec, "bpmn_id", None) or "")
            if ref and not isinstance(getattr(task_spec, "dmnEngine", None), LatestDecision):
                task_spec.dmnEngine = LatestDecision(ref, resolve, getattr(task_spec, "dmnEngine", None))
    _bound.add(spec)
