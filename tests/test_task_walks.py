"""A transition's walks of the task tree (workflows/engine/census.py, steps.py): found by task ids, once, and
always what SpiffWorkflow's own iterator would have found. And the tree as a transition stores and restores
it (workflows/engine/serialization.py): always what SpiffWorkflow's own converter would have written and read."""
from copy import deepcopy
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from conftest import future
from flows import ACCEPT, children, complete, end_of, open_order
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import WorkflowConverter
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.util import task as spiff_task
from SpiffWorkflow.util.task import TaskState

import workflows.engine.case_engine as case_engine
import workflows.engine.census as census
import workflows.engine.serialization as serialization


@pytest.fixture
def spiff_walks(monkeypatch):
    """How many times SpiffWorkflow's iterator is set walking (its subclasses included)."""
    made = []
    init = spiff_task.TaskIterator.__init__

    def counted(self, *args, **kwargs):
        made.append(1)
        init(self, *args, **kwargs)
    monkeypatch.setattr(spiff_task.TaskIterator, "__init__", counted)
    return made


def test_a_rectification_walks_its_tree_through_spiffworkflow_only_where_it_must(app, api, spiff_walks):
    # Opening the order and answering it took 25 and 26 walks of SpiffWorkflow's iterator: one per round
    # of engine steps and per completed task (the waiting tasks' update), six after the steps for what the
    # case mirrors, a second round of steps with nothing to do. Three are left of each (an event's or a
    # join's own search, whether the workflow has ended).
    staff = api("kq_bottled_staff")
    case = open_order(api, app)
    assert len(spiff_walks) <= 3, len(spiff_walks)
    spiff_walks.clear()
    complete(staff, case["id"], "Task_respond", {"response": "已更换报警器"})
    assert len(spiff_walks) <= 3, len(spiff_walks)


@pytest.fixture
def checked_walks(monkeypatch):
    """Every list the engine's own walks give, checked against SpiffWorkflow's iterator on the same tree at
    the same moment; and after the engine steps, none left to run (what leaving out a round relies on)."""
    seen = {"census": 0, "get_tasks": 0, "waiting updates": 0}

    class CheckedCensus(census.TaskCensus):
        def __init__(self, workflow):
            super().__init__(workflow)
            seen["census"] += 1
            assert self.ready_manual() == BpmnWorkflow.get_tasks(workflow, state=TaskState.READY, manual=True)
            assert self.waiting() == BpmnWorkflow.get_tasks(workflow, state=TaskState.WAITING)
            assert self.completed() == BpmnWorkflow.get_tasks(workflow, state=TaskState.COMPLETED)
            assert BpmnWorkflow.get_tasks(workflow, state=TaskState.READY, manual=False) == []

    def checked_speed_up(workflow):
        census.speed_up(workflow)
        fast_get_tasks = workflow.get_tasks

        def get_tasks(first_task=None, **kwargs):
            found = fast_get_tasks(first_task, **kwargs)
            assert found == BpmnWorkflow.get_tasks(workflow, first_task, **kwargs), kwargs
            seen["get_tasks"] += 1
            return found

        def update_waiting_tasks():
            # Lazily, in step with SpiffWorkflow's iterator over the tree as each update leaves it.
            ours = census._tasks(workflow, TaskState.WAITING)
            theirs = spiff_task.TaskIterator(workflow.task_tree, state=TaskState.WAITING)
            while (task := next(ours, None)) is next(theirs, None) and task is not None:
                seen["waiting updates"] += 1
                task.task_spec._update(task)
            assert task is None, "the walks parted"
        workflow.get_tasks, workflow.update_waiting_tasks = get_tasks, update_waiting_tasks
        return workflow
    monkeypatch.setattr(case_engine, "TaskCensus", CheckedCensus)
    monkeypatch.setattr(serialization, "speed_up", checked_speed_up)
    return seen


class _SpiffsOwn(serialization.StatelessSpecWorkflowConverter):
    """The engine's converter with SpiffWorkflow's own conversion of the task tree (as before the fast one)."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
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
_config[BpmnWorkflow] = _SpiffsOwn
SPIFFS_OWN = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_config))


@pytest.fixture
def checked_states(monkeypatch):
    """Every state a transition writes, checked against what SpiffWorkflow's converter writes of the same
    tree; every state it reads, against the tree SpiffWorkflow's converter restores from it."""
    seen = {"written": 0, "read": 0}
    dump, load = serialization.dump_state, serialization.load_state

    def checked_dump(workflow):
        ours = dump(workflow)
        assert ours == SPIFFS_OWN.to_dict(workflow)
        seen["written"] += 1
        return ours

    def checked_load(state, spec, subprocess_specs):
        ours = load(state, spec, subprocess_specs)
        theirs = SPIFFS_OWN.from_dict(state, spec=spec, subprocess_specs=subprocess_specs)
        assert SPIFFS_OWN.to_dict(ours) == SPIFFS_OWN.to_dict(theirs)
        assert [(t.id, t.parent and t.parent.id, t.state, t.data) for t in ours.get_tasks()] == \
            [(t.id, t.parent and t.parent.id, t.state, t.data) for t in theirs.get_tasks()]
        seen["read"] += 1
        return ours
    monkeypatch.setattr(case_engine, "dump_state", checked_dump)
    monkeypatch.setattr(case_engine, "load_state", checked_load)
    return seen


def test_the_walks_find_what_spiffworkflow_finds_through_a_rectification(app, api, engine, checked_walks,
                                                                          checked_states):
    # Late (a timer that fires: the county extends the deadline), late again: the order goes to a penalty
    # case, which opens with its own watches and joins.
    inspector, supervisor = api("keqiao_inspector"), api("keqiao_supervisor")
    case = open_order(api, app, hours=2)
    assert engine.run_due_timers(datetime.now(UTC) + timedelta(hours=3)) == 1
    complete(supervisor, case["id"], "Task_escalate",
             {"action": "extend", "deadline_at": future(hours=72), "comment": "延期三天"})
    assert engine.run_due_timers(datetime.now(UTC) + timedelta(hours=80)) == 1
    closed = inspector.get(f"/cases/{case['id']}").json
    assert closed["status"] == "completed" and end_of(closed) == "End_penalty"
    assert children(inspector, case["id"], "penalty")
    assert checked_walks["census"] >= 4 and checked_walks["get_tasks"] and checked_walks["waiting updates"]
    assert checked_states["written"] >= 4 and checked_states["read"] >= 3


def test_the_walks_find_what_spiffworkflow_finds_when_an_order_is_sent_back_and_accepted(app, api, checked_walks,
                                                                                        checked_states):
    inspector, staff = api("keqiao_inspector"), api("kq_bottled_staff")
    case = open_order(api, app)
    complete(staff, case["id"], "Task_respond", {"response": "已更换报警器"})
    complete(inspector, case["id"], "Task_verify", {"decision": "send_back", "comment": "照片不清晰"})
    complete(staff, case["id"], "Task_respond", {"response": "补充照片"})
    done = complete(inspector, case["id"], "Task_verify", ACCEPT)
    assert done["status"] == "completed" and end_of(done) == "End_closed"
    assert checked_walks["census"] == 5
    assert checked_states == {"written": 5, "read": 4}


def test_spiffworkflows_log_is_written_as_before_when_its_loggers_are_on(app, api, caplog):
    """workflows/engine/quiet_logging.py builds SpiffWorkflow's messages only for a logger that writes them:
    with its loggers on, a step logs each change of state with its details, as SpiffWorkflow does; off, none
    are built, and the case goes on all the same."""
    import logging

    case = open_order(api, app)
    with caplog.at_level(logging.INFO, logger="spiff"):
        complete(api("kq_bottled_staff"), case["id"], "Task_respond", {"response": "已更换报警器"})
    changes = [r for r in caplog.records if r.name == "spiff.task" and r.getMessage() == "State changed to COMPLETED"]
    assert {r.task_spec for r in changes} >= {"Task_respond"}
    assert all(r.workflow_spec and r.elapsed >= 0 and r.state == "COMPLETED" for r in changes)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="spiff"):
        complete(api("keqiao_inspector"), case["id"], "Task_verify", ACCEPT)
    assert not [r for r in caplog.records if r.name.startswith("spiff")]
    assert api("keqiao_inspector").get(f"/cases/{case['id']}").json["status"] == "completed"
