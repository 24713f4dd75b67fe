"""Reading a BPMN file into a deployable process definition, or the list of reasons it is refused."""
import ast
import hashlib
from dataclasses import dataclass, field

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.exceptions import SpiffWorkflowException

from workflows.errors import InvalidModel
from workflows.roles import lane_role

from .bounded import expression_refused, script_unbounded
from .scripting import ScriptRejected, compile_script
from .serialization import spec_to_dict
from .timer_values import check_constant

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
NS = {"bpmn": BPMN, "camunda": CAMUNDA}

# Flow elements the engine runs. Anything else in a process is refused up front
# rather than failing when a case reaches it.
SUPPORTED = {
    "startEvent", "endEvent", "userTask", "scriptTask", "exclusiveGateway", "parallelGateway",
    "inclusiveGateway", "eventBasedGateway", "sequenceFlow", "boundaryEvent", "intermediateCatchEvent",
    "intermediateThrowEvent", "laneSet", "lane", "childLaneSet", "flowNodeRef", "incoming", "outgoing",
    "timerEventDefinition", "terminateEventDefinition", "conditionExpression", "timeDate", "timeDuration",
    "timeCycle", "documentation", "extensionElements", "script", "textAnnotation", "association", "text",
    "task", "businessRuleTask", "messageEventDefinition", "multiInstanceLoopCharacteristics",
    "loopCardinality", "completionCondition",
}
# Messages a model may throw that no process catches: "start:<process key>" opens a linked case,
# the others are the engine's handlers (updating registers, notifying people).
START_PREFIX = "start:"
STARTER_ROLES = {"city_admin", "county_supervisor", "inspector", "enterprise_admin", "enterprise_staff"}
MAX_BPMN_BYTES = 2 * 1024 * 1024


@dataclass
class ProcessDefinition:
    key: str
    name: str
    checksum: str
    xml: str
    spec: dict
    meta: dict = field(default_factory=dict)


def _local(tag) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _check_timer(kind: str, text: str) -> str | None:
    """A timer given as a constant is parsed now, as the engine will parse it when the timer starts."""
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return None
    if isinstance(node, ast.Constant):
        try:
            check_constant(kind, node.value)
        except (ValueError, TypeError, AttributeError, OverflowError) as exc:
            return str(exc) or "not an ISO 8601 value"
    return None


def _check_expressions(process, reasons):
    for el in process.iter(f"{{{BPMN}}}conditionExpression", f"{{{BPMN}}}timeDate",
                           f"{{{BPMN}}}timeDuration", f"{{{BPMN}}}timeCycle", f"{{{BPMN}}}loopCardinality",
                           f"{{{BPMN}}}completionCondition"):
        text = (el.text or "").strip()
        kind = _local(el.tag)
        owner = el.getparent().get("id") if kind == "conditionExpression" else el.getparent().getparent().get("id")
        if not text:
            reasons.append(f"{owner}: empty {kind}")
            continue
        refused = expression_refused(text) or (_check_timer(kind, text) if kind.startswith("time") else None)
        if refused:
            reasons.append(f"{owner}: expression '{text}' refused: {refused}")
    for el in process.iter(f"{{{BPMN}}}script"):
        try:
            compile_script(el.text or "")
        except (ScriptRejected, SyntaxError) as exc:
            reasons.append(f"{el.getparent().get('id')}: script refused: {exc}")
            continue
        refused = _calendar_in_sandbox(el.text or "")
        if refused:
            reasons.append(f"{el.getparent().get('id')}: script refused: {refused}")


# What a model calls to count on the working-day calendar (China's holidays and the city's adjustments).
CALENDAR_FUNCTIONS = ("add_working_days", "add_period")


def _calendar_in_sandbox(script: str) -> str | None:
    """A script that runs in the sandbox (its form does not bound its cost) cannot count working days:
    the sandbox's workers hold no database, so not the city's calendar, and would count other dates
    than the same call in a plain script. Refused at upload rather than give a wrong deadline."""
    unbounded = script_unbounded(script)
    if unbounded is None:
        return None
    called = sorted({node.id for node in ast.walk(ast.parse(script))
                     if isinstance(node, ast.Name) and node.id in CALENDAR_FUNCTIONS})
    if not called:
        return None
    return (f"{', '.join(called)} counts on the working-day calendar, which a script run in the sandbox "
            f"({unbounded}) does not have: count the period in a script without loops, try or functions, "
            "and do the rest in another")


def _lanes(process) -> dict[str, str | None]:
    """flow node id → lane name (innermost lane wins)."""
    found = {}
    for lane in process.iter(f"{{{BPMN}}}lane"):
        for ref in lane.findall("bpmn:flowNodeRef", NS):
            found[(ref.text or "").strip()] = lane.get("name") or lane.get("id")
    return found


def _messages(root, process, reasons, known_messages) -> None:
    names = {m.get("id"): m.get("name") or "" for m in root.findall("bpmn:message", NS)}
    for med in process.iter(f"{{{BPMN}}}messageEventDefinition"):
        owner = med.getparent()
        ref = med.get("messageRef")
        name = names.get(ref)
        if name is None:
            reasons.append(f"{owner.get('id')}: message '{ref}' is not defined")
            continue
        throws = _local(owner.tag) in ("intermediateThrowEvent", "endEvent")
        if throws and not name.startswith(START_PREFIX) and name not in known_messages:
            reasons.append(f"{owner.get('id')}: unknown message '{name}' (known: start:<process>, "
                           f"{', '.join(sorted(known_messages))})")
        payload = med.get(f"{{{CAMUNDA}}}expression")
        if throws and not payload:
            reasons.append(f"{owner.get('id')}: a thrown message needs camunda:expression (its payload)")
        elif payload:
            refused = expression_refused(payload)
            if refused:
                reasons.append(f"{owner.get('id')}: payload '{payload}' refused: {refused}")


def _expression_attr(el, name: str, reasons: list) -> str | None:
    value = el.get(f"{{{CAMUNDA}}}{name}")
    if value:
        refused = expression_refused(value)
        if refused:
            reasons.append(f"{el.get('id')}: {name} '{value}' refused: {refused}")
    return value or None


def _hidden(process, name: str = "gasflow.hidden") -> list[str]:
    """Case data the case page leaves out (payloads, copies): the process's Camunda extension
    property ``gasflow.hidden``, a comma-separated list of names, set in any modeller.

    The same form names the other lists a process may declare: ``gasflow.party``, the case data the
    party (the case's enterprise) may see, where the model keeps the rest internal; ``gasflow.watch``,
    user tasks of a watching branch (a time limit's extension), whose data is not the case's;
    ``gasflow.appointments``, the dates of an event set for a time the party was told (a hearing), which
    stay where they are when the case resumes."""
    names = []
    ext = process.find("bpmn:extensionElements", NS)
    if ext is not None:
        for prop in ext.iter(f"{{{CAMUNDA}}}property"):
            if prop.get("name") == name:
                names += [n.strip() for n in (prop.get("value") or "").split(",") if n.strip()]
    return names


def _title(process) -> str | None:
    """How the model names a new case (when its opener gives no title): the Camunda extension property
    ``gasflow.title``, a template such as ``整改 · {hazard_description:24} · {enterprise}``
    (workflows/services/presentation.py, ``case_title``)."""
    ext = process.find("bpmn:extensionElements", NS)
    if ext is not None:
        for prop in ext.iter(f"{{{CAMUNDA}}}property"):
            if prop.get("name") == "gasflow.title" and (prop.get("value") or "").strip():
                return prop.get("value").strip()[:256]
    return None


def _declared(process) -> dict:
    """``party``, ``watch`` and ``appointments`` (see ``_hidden``), in the meta only where the model declares
    them, so the meta of the models that do not stays as it was."""
    out = {}
    for key in ("party", "watch", "appointments"):
        if process.find(f"bpmn:extensionElements/camunda:properties/camunda:property[@name='gasflow.{key}']",
                        NS) is not None:
            out[key] = _hidden(process, f"gasflow.{key}")
    return out


def read_bpmn(content: bytes, known_forms: set[str], decisions: dict[str, str] | None = None,
              known_messages: set[str] = frozenset()) -> ProcessDefinition:
    """Check and parse a BPMN file. ``decisions`` maps decision keys to the DMN the business rule
    tasks are parsed against (at run time the newest version is used)."""
    decisions = decisions or {}
    reasons: list[str] = []
    if len(content) > MAX_BPMN_BYTES:
        raise InvalidModel([f"file is larger than {MAX_BPMN_BYTES // 1024} KiB"])
    try:
        parser_xml = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
        root = etree.fromstring(content, parser_xml)
    except etree.XMLSyntaxError as exc:
        raise InvalidModel([f"not well-formed XML: {exc}"]) from None
    if root.tag != f"{{{BPMN}}}definitions":
        raise InvalidModel(["not a BPMN 2.0 file (root element must be bpmn:definitions)"])
    processes = [p for p in root.findall("bpmn:process", NS) if p.get("isExecutable", "false") == "true"]
    if len(processes) != 1:
        raise InvalidModel([f"expected exactly one executable process, found {len(processes)}"])
    process = processes[0]
    key = process.get("id")

    for el in process.iterdescendants():
        name = _local(el.tag)
        if el.tag.startswith(f"{{{BPMN}}}") and name not in SUPPORTED:
            reasons.append(f"{el.get('id') or name}: unsupported element bpmn:{name}")

    for el in process.iterdescendants():
        if el.get("id") in ("Start", "End", f"{key}.EndJoin"):
            reasons.append(f"{el.get('id')}: this element id is reserved by the engine, rename it")

    lanes = _lanes(process)
    starters = [s.strip() for s in (process.get(f"{{{CAMUNDA}}}candidateStarterGroups") or "").split(",")
                if s.strip()]
    for role in starters:
        if role not in STARTER_ROLES:
            reasons.append(f"{key}: unknown starter group '{role}'")
    if not starters:
        reasons.append(f"{key}: no camunda:candidateStarterGroups (who may start a case)")

    starts = process.findall("bpmn:startEvent", NS)
    if len(starts) != 1:
        reasons.append(f"{key}: expected one start event, found {len(starts)}")
    start_form = starts[0].get(f"{{{CAMUNDA}}}formKey") if starts else None
    if start_form and start_form not in known_forms:
        reasons.append(f"{starts[0].get('id')}: unknown form '{start_form}'")

    tasks = {}
    for ut in process.iter(f"{{{BPMN}}}userTask"):
        tid = ut.get("id")
        form = ut.get(f"{{{CAMUNDA}}}formKey")
        role = lane_role(lanes.get(tid))
        if not form:
            reasons.append(f"{tid}: user task has no camunda:formKey")
        elif form not in known_forms:
            reasons.append(f"{tid}: unknown form '{form}'")
        if role is None:
            reasons.append(f"{tid}: user task is in no lane naming a role (lane: {lanes.get(tid)!r})")
        tasks[tid] = {"name": ut.get("name") or tid, "form": form, "role": role,
                      "due": _expression_attr(ut, "dueDate", reasons),
                      "assignee": _expression_attr(ut, "assignee", reasons),
                      "candidates": _expression_attr(ut, "candidateUsers", reasons)}
    used_decisions = {}
    for brt in process.iter(f"{{{BPMN}}}businessRuleTask"):
        ref = brt.get(f"{{{CAMUNDA}}}decisionRef")
        if not ref:
            reasons.append(f"{brt.get('id')}: business rule task has no camunda:decisionRef")
        elif ref not in decisions:
            reasons.append(f"{brt.get('id')}: no decision table '{ref}' has been uploaded")
        else:
            used_decisions[brt.get("id")] = ref
    _messages(root, process, reasons, known_messages)
    _check_expressions(process, reasons)
    if reasons:
        raise InvalidModel(reasons)

    parser = CamundaParser()
    try:
        for ref in set(used_decisions.values()):
            parser.add_dmn_xml(etree.fromstring(decisions[ref].encode("utf-8")), filename=f"{ref}.dmn")
        parser.add_bpmn_xml(root, filename=f"{key}.bpmn")
        spec = parser.get_spec(key)
        subprocess_specs = parser.get_subprocess_specs(key)
    except (ValidationException, SpiffWorkflowException) as exc:
        raise InvalidModel([f"{key}: {exc}"]) from None

    return ProcessDefinition(
        key=key,
        name=process.get("name") or key,
        checksum=hashlib.sha256(content).hexdigest(),
        xml=content.decode("utf-8"),
        spec=spec_to_dict(spec, subprocess_specs),
        meta={"starters": starters, "start_form": start_form, "tasks": tasks, "decisions": used_decisions,
              "hidden": _hidden(process), "title": _title(process), **_declared(process)},
    )
