"""Drafts of task forms kept on the server (an inspector's checklist on a phone that loses its
connection): one per task and user, saved as the form changes, read back when the task is opened
again, dropped once the task is completed. A draft is never handed to the engine.

What a draft may hold is checked by the form layer (``forms.drafts``) before it is saved here."""
from datetime import datetime

from sqlalchemy import bindparam, delete, exists, select

from models import TASK_OPEN, Task, TaskDraft
from workflows.errors import Conflict
from workflows.upsert import insert_for


def load(session, task: Task, user) -> TaskDraft | None:
    """The user's draft of ``task``; none once the task is no longer open."""
    if task.status != TASK_OPEN:
        return None
    return session.scalar(select(TaskDraft).where(TaskDraft.task_id == task.id, TaskDraft.user_id == user.id))


def save(session, task: Task, user, data: dict, now: datetime) -> TaskDraft:
    """Keep ``data`` (already checked) as the user's draft of ``task``, replacing the one before.

    One statement, written only while the task is open: a form autosaves as its task is being submitted,
    so the save can meet the completion that drops the drafts, or another save of the same draft (two
    tabs). Read first and written after, it answered 500 when the draft went in between."""
    if task.status != TASK_OPEN:
        raise Conflict("task is no longer open")
    columns = TaskDraft.__table__.c
    values = select(bindparam("task_id", task.id, type_=columns.task_id.type),
                    bindparam("user_id", user.id, type_=columns.user_id.type),
                    bindparam("data", dict(data), type_=columns.data.type),
                    bindparam("saved_at", now, type_=columns.saved_at.type)) \
        .where(exists().where(Task.id == task.id, Task.status == TASK_OPEN))
    stmt = insert_for(session)(TaskDraft).from_select(["task_id", "user_id", "data", "saved_at"], values)
    stmt = stmt.on_conflict_do_update(index_elements=[columns.task_id, columns.user_id],
                                      set_={"data": stmt.excluded.data, "saved_at": stmt.excluded.saved_at})
    if session.execute(stmt.returning(columns.id)).first() is None:
        raise Conflict("task is no longer open")
    return TaskDraft(task_id=task.id, user_id=user.id, data=dict(data), saved_at=now)


def discard(session, task_id: int, user=None) -> int:
    """Drop the drafts of a task (the user's only, if given). Returns how many went."""
    stmt = delete(TaskDraft).where(TaskDraft.task_id == task_id)
    if user is not None:
        stmt = stmt.where(TaskDraft.user_id == user.id)
    return session.execute(stmt).rowcount or 0
