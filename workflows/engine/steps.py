"""The engine steps of a transition, without the rounds that can find nothing to do.

A transition runs what the engine can (gateways, scripts, events), brings the timers up to date (a timer
due at the transition's instant fires: its task becomes READY) and runs again what that set off:
``do_engine_steps``, ``refresh_waiting_tasks``, ``do_engine_steps`` in SpiffWorkflow's words. The second
round walks the whole task tree to find READY engine tasks, and every timer refresh copies its parent's
data into each waiting timer again. When no timer is waiting, or none fired, the second round would find
nothing READY (the first ran them all) and its refreshes would repeat the first one at the same frozen
instant: it is left out, which is most transitions (a rectification's deadline waits for days).
"""
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

# The tasks BpmnWorkflow.refresh_timers updates: the event manager's waiting timers and event-based gateways.
_TIMERS = (TimerEventDefinition, MultipleEventDefinition)


def run_engine_steps(workflow, did_complete_task) -> None:
    """``do_engine_steps``, ``refresh_timers``, ``do_engine_steps``, as SpiffWorkflow would run them, the
    second round only when the refresh may have set something off. ``did_complete_task`` is called after
    each step (the transition's step budget)."""
    if workflow.subprocesses:
        # A round also updates the task of each active call activity: run every round, as before.
        _both_rounds(workflow, did_complete_task)
        return
    # do_engine_steps' own loop (it then refreshes the timers once).
    while workflow._do_engine_steps(did_complete_task=did_complete_task):
        pass
    timers = [t for t in workflow.event_manager.tasks.values() if isinstance(t.task_spec.event_definition, _TIMERS)]
    before = [(t.state, len(t._children)) for t in timers]
    workflow.refresh_timers()
    # A refresh sets something off only through a timer it updates: the timer's task becomes READY (it fired),
    # or a cycle timer adds a child. Neither happened: a second refresh at the same instant and a round of
    # steps would change nothing.
    if [(t.state, len(t._children)) for t in timers] == before:
        return
    workflow.refresh_timers()  # what refresh_waiting_tasks did, without its deprecation warning
    workflow.do_engine_steps(did_complete_task=did_complete_task)


def _both_rounds(workflow, did_complete_task) -> None:
    workflow.do_engine_steps(did_complete_task=did_complete_task)
    workflow.refresh_timers()
    workflow.do_engine_steps(did_complete_task=did_complete_task)
