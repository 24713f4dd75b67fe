"""What a transition asks of the task tree once its engine steps are done, found by one walk.

After the steps a transition mirrors the tree into the case: the READY user tasks (the task table), the
data they hold and the branches waiting at joins (the case's data), the completed elements (the path on
the diagram, the end the case reached), the WAITING timers (``cases.next_timer_at``). Each asked
``workflow.get_tasks(state=...)``, and every call walks the whole tree through SpiffWorkflow's iterator,
which looks each parent and child up by its UUID: six walks a transition, for lists one walk gives.

The lists are those ``get_tasks`` gives, in its order (depth first, children in order), and with its
reach: SpiffWorkflow only looks below a task whose state is at least the lowest state the filter may
match (FUTURE for READY and WAITING, COMPLETED for COMPLETED), and never deeper than 1000 levels. Where
the walk could differ (a workflow with call activities, whose trees SpiffWorkflow walks as part of their
caller's; a tree deeper than that) each list is asked of SpiffWorkflow, as before.
"""
from SpiffWorkflow.util.task import TaskState

_MAX_DEPTH = 1000  # SpiffWorkflow's TaskIterator default: it expands no task this deep
_OPEN = 1 << 16  # above every state: the root has no ancestor to close the way down

_READY, _WAITING, _COMPLETED = TaskState.READY, TaskState.WAITING, TaskState.COMPLETED
_FUTURE = TaskState.FUTURE  # the lowest state get_tasks descends through for a definite state


class TaskCensus:
    """The READY manual, WAITING and COMPLETED tasks of ``workflow`` as it stands when made."""

    def __init__(self, workflow):
        self.workflow = workflow
        self._lists = None if workflow.subprocesses else _walk(workflow)

    def ready_manual(self) -> list:
        if self._lists is None:
            return self.workflow.get_tasks(state=_READY, manual=True)
        return self._lists[0]

    def waiting(self) -> list:
        """Valid after ``pruning.prune`` too: a waiting task is unfinished, so never cut, nor its ancestors."""
        if self._lists is None:
            return self.workflow.get_tasks(state=_WAITING)
        return self._lists[1]

    def completed(self) -> list:
        if self._lists is None:
            return self.workflow.get_tasks(state=_COMPLETED)
        return self._lists[2]

    def completed_kept(self) -> list:
        """The completed tasks still in the tree, after ``pruning.prune`` cut its finished past: the ones
        ``get_tasks`` then gives, in its order (the tasks it cut hung only above or beside what it kept, and
        every ancestor of what it kept is finished, so no task kept becomes reachable or unreachable)."""
        if self._lists is None:
            return self.workflow.get_tasks(state=_COMPLETED)
        tasks = self.workflow.tasks
        return [t for t in self._lists[2] if tasks.get(t.id) is t]


def _walk(workflow):
    """(ready manual, waiting, completed) in get_tasks' order, or None where get_tasks must be asked."""
    tasks = workflow.tasks
    ready, waiting, completed = [], [], []
    # Each entry: a task, the lowest state among its ancestors (a filter reaches it only if every ancestor
    # was expanded, i.e. had at least the filter's lowest state), its depth.
    stack = [(workflow.task_tree, _OPEN, 0)]
    while stack:
        task, gate, depth = stack.pop()
        state = task._state
        if state == _READY:
            if gate >= _FUTURE and task.task_spec.manual == True:  # noqa: E712 (get_tasks' own test)
                ready.append(task)
        elif state == _WAITING:
            if gate >= _FUTURE:
                waiting.append(task)
        elif state == _COMPLETED and gate >= _COMPLETED:
            completed.append(task)
        children = task._children
        if children:
            if depth >= _MAX_DEPTH:
                return None
            below = state if state < gate else gate
            for child_id in reversed(children):
                child = tasks.get(child_id)
                if child is None:
                    return None  # a dangling child: let SpiffWorkflow meet it as it did
                stack.append((child, below, depth + 1))
    return ready, waiting, completed


# ---- SpiffWorkflow's own walks ---------------------------------------------------------------------
# The engine steps ask ``get_tasks(state=READY)`` once a round, and every task that completes has the
# WAITING tasks updated (``update_waiting_tasks``): two more walks through the same iterator. A workflow
# the engine loads or makes walks its tree by task ids instead (``speed_up``), with the iterator's rules.

_FAST_FILTERS = frozenset({"state", "manual", "spec_name"})


def speed_up(workflow):
    """Give ``workflow`` (top level) the walks below in place of SpiffWorkflow's iterator, for itself
    only (its class and stored state are untouched). Returns it."""
    get_tasks = workflow.get_tasks

    def fast_get_tasks(first_task=None, **kwargs):
        if first_task is not None or workflow.subprocesses or not _FAST_FILTERS.issuperset(kwargs):
            return get_tasks(first_task, **kwargs)  # a subtree, call activities, other filters: Spiff's
        return list(_tasks(workflow, **kwargs))

    def fast_update_waiting_tasks():
        # SpiffWorkflow's Workflow.update_waiting_tasks: its plain TaskIterator never enters call
        # activities, and it updates each task as it reaches it (so the walk is lazy here too).
        for task in _tasks(workflow, _WAITING):
            task.task_spec._update(task)

    workflow.get_tasks = fast_get_tasks
    workflow.update_waiting_tasks = fast_update_waiting_tasks
    return workflow


def _tasks(workflow, state=TaskState.ANY_MASK, manual=None, spec_name=None):
    """SpiffWorkflow's TaskIterator from the root, depth first: it expands a task when it has children,
    its state is at least the lowest the filter may match and it is less than 1000 levels deep, and reads
    a task's children when it reaches the task; it yields the tasks that match the filter."""
    if state & TaskState.PREDICTED_MASK:
        lowest = TaskState.MAYBE
    elif state & TaskState.DEFINITE_MASK:
        lowest = TaskState.FUTURE
    else:
        lowest = TaskState.COMPLETED
    tasks = workflow.tasks
    stack = [(workflow.task_tree, 0)]
    while stack:
        task, depth = stack.pop()
        children = task._children
        if children and task._state >= lowest and depth < _MAX_DEPTH:
            stack.extend([(tasks.get(child_id), depth + 1) for child_id in reversed(children)])
        if task._state & state and (manual is None or task.task_spec.manual == manual) \
                and (spec_name is None or task.task_spec.name == spec_name):
            yield task
