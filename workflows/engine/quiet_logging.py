"""SpiffWorkflow's log messages, built only when they will be logged.

SpiffWorkflow logs each change of a task's state at INFO, and a workflow's creation and end, building the
message and its ``extra`` fields before the logger decides to drop them: the state's name (a dict built per
call), a dict of the task's details and, for a workflow, a walk of all its tasks (its logger's level is
unset, which it reads as "below INFO"). The platform logs neither, and that building was about 2 % of an
API completion's CPU. Here the same methods first ask the logger, as ``logger.info`` itself would: with
the logger enabled, SpiffWorkflow's own run, unchanged."""
import logging
import time

from SpiffWorkflow import task as spiff_task
from SpiffWorkflow import workflow as spiff_workflow

_task_set_state = spiff_task.Task._set_state
_workflow_extras = spiff_workflow.Workflow.collect_log_extras


def _set_state(self, value: int) -> None:
    changed = value != self.state
    if spiff_task.logger.isEnabledFor(logging.INFO if changed else logging.DEBUG):
        _task_set_state(self, value)
    elif changed:  # what SpiffWorkflow's method does besides logging
        self.last_state_change = time.time()
        self._state = value


def _collect_log_extras(self, dct: dict | None = None) -> dict:
    # Called only for the argument of a logger.info of its module's logger.
    if spiff_workflow.logger.isEnabledFor(logging.INFO):
        return _workflow_extras(self, dct)
    return dct or {}


def install() -> None:
    """Idempotent: SpiffWorkflow's classes take the methods above (the engine's package does this once)."""
    spiff_task.Task._set_state = _set_state
    spiff_workflow.Workflow.collect_log_extras = _collect_log_extras
