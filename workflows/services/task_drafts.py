"""Drafts of task forms kept on the server (an inspector's checklist on a phone that loses its
connection): one per task and user, saved as the form changes, read back when the task is opened
again, dropped once the task is completed. A draft is never handed to the engine.

What a draft may hold is checked by the form layer (``forms.drafts``) before it is saved here."""
from datetime import datetime

from sqlalchemy import delete, select

from models import TASK_OPEN, Task, TaskDraft
from workflows.errors import Conflict


def load(session, task: Task, user) -> TaskDraft | None:
    """The user's draft of ``task``; none once the task is no longer open."""
    if task.status != TASK_OPEN:
        return None
    return session.scalar(select(TaskDraft).where(TaskDraft.task_id == task.id, TaskDraft.user_id == user.id))


def save(session, task: Task, user, data: dict, now: datetime) -> TaskDraft:
    """Keep ``data`` (already checked) as the user's draft of ``task``, replacing the one before."""
    if task.status != TASK_OPEN:
        raise Conflict("task is no longer open")
    draft = load(session, task, user)
    if draft is None:
        draft = TaskDraft(task_id=task.id, user_id=user.id)
        session.add(draft)
    draft.data, draft.saved_at = dict(data), now
    session.flush()
    return draft


def discard(session, task_id: int, user=None) -> int:
    """Drop the drafts of a task (the user's only, if given). Returns how many went."""
    stmt = delete(TaskDraft).where(TaskDraft.task_id == task_id)
    if user is not None:
        stmt = stmt.where(TaskDraft.user_id == user.id)
    return session.execute(stmt).rowcount or 0
