"""Workflow state ↔ JSON, with the process spec kept out of every case's state.

A case row stores only its task tree and data; the spec belongs to the process
model version and is restored once per process (cached), then shared by every
workflow built on it, as Spiff intends specs to be shared.
"""
from copy import deepcopy
from threading import Lock
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from . import quiet_logging
from .census import speed_up
from .scripting import restricted_script_engine

quiet_logging.install()


class StatelessSpecWorkflowConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow):
        registry = self.registry
        # WorkflowConverter.to_dict's keys, the task tree by _tasks_to_dict.
        tasks = _tasks_to_dict(workflow.tasks, registry)
        dct = {
            "data": registry.convert(registry.clean(workflow.data)),
            "correlations": workflow.correlations,
            "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
            "success": workflow.success,
            "completed": workflow.completed,
            "tasks": self.mapping_to_dict(workflow.tasks) if tasks is None else tasks,
            "root": str(workflow.task_tree.id),
        }
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        dct = dict(dct)
        workflow = self.target_class(spec, subprocess_specs or {}, deserializing=True)
        tasks = _tasks_from_dict(dct["tasks"], workflow, self.registry)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow) if tasks is None else tasks
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dict(dct["subprocesses"]), workflow)
        workflow.bpmn_events = self.registry.restore(dct.get("bpmn_events", []))
        return workflow


# ---- The task tree, as SpiffWorkflow's TaskConverter writes and reads it ---------------------------------
# Every transition reads a case's tree and writes it back. SpiffWorkflow converts each task through its
# registry (a type's name looked up, a partial called, a dict copied, the name added), parses each task's id
# four times (its key, its own, as a parent, as a child) and writes each twice: about a third of the state's
# round trip. Below, the same dicts and the same tasks, each id parsed once; a tree holding anything but
# SpiffWorkflow's plain Task goes through its registry as before. tests/test_task_walks.py checks both
# against SpiffWorkflow's own on every transition of the flows it drives.

def _tasks_to_dict(tasks: dict, registry) -> dict | None:
    """SpiffWorkflow's ``mapping_to_dict`` of a (top-level) workflow's tasks; None if one is not a plain Task."""
    typename = registry.typenames.get(Task)
    out = {}
    for task_id, task in tasks.items():
        if type(task) is not Task:
            return None
        key = str(task_id)
        parent = tasks.get(task._parent)
        if parent is None:
            data, delta = task.data, {}
        else:  # TaskConverter stores what differs from the parent's data (DeepMerge's two diffs)
            own, inherited = task.data, parent.data
            data = {}
            delta = {"updates": {k: own[k] for k in own if k not in inherited or own[k] != inherited[k]},
                     "deletions": [k for k in inherited if k not in own]}
        internal = task.internal_data
        out[key] = {
            "id": key if task.id is task_id else str(task.id),
            "parent": str(task._parent) if parent is not None else None,
            "children": [str(child) for child in task._children],
            "last_state_change": task.last_state_change,
            "state": task._state,
            "task_spec": task.task_spec.name,
            "triggered": task.triggered,
            "internal_data": {} if type(internal) is dict and not internal else registry.convert(internal),
            "data": data,
            "delta": delta,
            "typename": typename,
        }
    return out


def _tasks_from_dict(stored: dict, workflow, registry) -> dict | None:
    """SpiffWorkflow's ``mapping_from_dict`` of the tasks ``stored`` into ``workflow`` (which each task joins
    as it is made, parents first, as there); None if one is not a plain Task (nothing made then)."""
    typename = registry.typenames.get(Task)
    if any(dct.get("typename") != typename for dct in stored.values()):
        return None
    restore, specs, ids = registry.restore, workflow.spec.task_specs, {}

    def uuid(text: str) -> UUID:
        found = ids.get(text)
        if found is None:
            found = ids[text] = UUID(text)
        return found

    tasks = {}
    for key, dct in stored.items():
        task_spec = specs.get(dct["task_spec"])
        task = Task(workflow, task_spec, state=dct["state"], id=uuid(dct["id"]))
        task._parent = uuid(dct["parent"]) if dct["parent"] is not None else None
        task._children = [uuid(child) for child in dct["children"]]
        task.last_state_change = dct["last_state_change"]
        task.triggered = dct["triggered"]
        internal = dct["internal_data"]
        task.internal_data = {} if type(internal) is dict and not internal else restore(internal)
        if isinstance(task_spec, CatchingEvent) and task.has_state(TaskState.WAITING):
            task.workflow.top_workflow.event_manager.add_task(task)
        delta, parent = dct.get("delta"), task.parent
        if delta and parent is not None:
            data = DeepMerge.merge({}, parent.data)
            data.update(restore(delta.get("updates", {})))
            for name in delta.get("deletions", {}):
                if name in data:
                    del data[name]
        else:
            data = restore(dct["data"])
        task.data = data
        tasks[uuid(key)] = task
    return tasks


_config = deepcopy(CAMUNDA_CONFIG)
_config[BpmnWorkflow] = StatelessSpecWorkflowConverter
SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_config))


def spec_to_dict(spec, subprocess_specs) -> dict:
    return {
        "spec": SERIALIZER.to_dict(spec),
        "subprocess_specs": {name: SERIALIZER.to_dict(s) for name, s in subprocess_specs.items()},
    }


class SpecCache:
    """Restored specs by process model id; a model version never changes, so entries never go stale."""

    def __init__(self):
        self._specs = {}
        self._lock = Lock()

    def get(self, model_id: int, stored):
        """``stored`` is the serialized spec, or a callable giving it (only called on a cache miss)."""
        found = self._specs.get(model_id)
        if found is None:
            stored = stored() if callable(stored) else stored
            found = (
                SERIALIZER.from_dict(stored["spec"]),
                {name: SERIALIZER.from_dict(s) for name, s in stored["subprocess_specs"].items()},
            )
            with self._lock:
                self._specs[model_id] = found
        return found

    def forget(self, keep) -> None:
        with self._lock:
            self._specs = {k: v for k, v in self._specs.items() if k in keep}


def new_workflow(spec, subprocess_specs) -> BpmnWorkflow:
    return speed_up(BpmnWorkflow(spec, subprocess_specs, script_engine=restricted_script_engine()))


def dump_state(workflow: BpmnWorkflow) -> dict:
    return SERIALIZER.to_dict(workflow)


def load_state(state: dict, spec, subprocess_specs) -> BpmnWorkflow:
    workflow = SERIALIZER.from_dict(state, spec=spec, subprocess_specs=subprocess_specs)
    workflow.script_engine = restricted_script_engine()
    return speed_up(workflow)
