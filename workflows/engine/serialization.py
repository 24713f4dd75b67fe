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
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG

from . import quiet_logging
from .census import speed_up
from .scripting import restricted_script_engine

quiet_logging.install()


class StatelessSpecWorkflowConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow):
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        dct = dict(dct)
        workflow = self.target_class(spec, subprocess_specs or {}, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dict(dct["subprocesses"]), workflow)
        workflow.bpmn_events = self.registry.restore(dct.get("bpmn_events", []))
        return workflow


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
