"""Keeping a case's stored state the size of its present, not of its history.

SpiffWorkflow keeps every finished task in the tree, and a loop (an order sent back again and
again) adds a new branch per round with a full copy of the case data in each task: the stored
state, and the time to load and save it, grow with every round. The history people see is kept
apart, in ``case_events``, so the finished past of the tree is not needed: after each transition
everything above the lowest common ancestor of the unfinished tasks (ready, waiting and predicted)
is cut away and that ancestor hangs directly under the root. Below it nothing changes, so open
joins, boundary events and timers see exactly what they saw before.
"""
from SpiffWorkflow.util.task import TaskState


def _path(task, tasks) -> list:
    # Parents and children are looked up in the task map ``tasks`` directly: ``Task.parent`` and
    # ``Task.children`` make the same lookups through properties, a few hundred calls a transition.
    out = []
    while task is not None:
        out.append(task)
        task = tasks.get(task._parent)
    out.reverse()
    return out


def _subtree(task, tasks) -> list:
    out, stack = [], [task]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend([tasks.get(child_id) for child_id in node._children])
    return out


def prune(workflow) -> int:
    """Drop the finished past of the task tree; returns the number of tasks removed."""
    if workflow.subprocesses:
        return 0  # call activities keep their own trees keyed by task id; left alone
    tasks = workflow.tasks
    unfinished = [t for t in tasks.values() if not t._state & TaskState.FINISHED_MASK]
    if not unfinished:
        return 0  # a completed case is not loaded for work again
    common = _path(unfinished[0], tasks)
    for task in unfinished[1:]:
        other, n = _path(task, tasks), 0
        while n < len(common) and n < len(other) and common[n] is other[n]:
            n += 1
        common = common[:n]
    root = workflow.task_tree
    if len(common) <= 2 or common[0] is not root:
        return 0  # the common ancestor already hangs under the root: nothing in between
    lca = common[-1]
    keep = {id(t) for t in _subtree(lca, tasks)}
    removed = [t for t in _subtree(root, tasks) if t is not root and id(t) not in keep]
    for task in removed:
        workflow.tasks.pop(task.id, None)
    root.children = [lca]
    lca.parent = root
    if workflow.last_task is not None and workflow.last_task.id not in workflow.tasks:
        workflow.last_task = lca
    return len(removed)
