"""A half-filled task form kept on the server, so it survives a lost connection (an inspector's
checklist on a phone). One draft per task and user; a draft is only ever read back into the form:
it never completes the task, and it goes once the task is completed."""
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow
from .types import UTCDateTime


class TaskDraft(Base):
    __tablename__ = "task_drafts"
    __table_args__ = (UniqueConstraint("task_id", "user_id", name="uq_task_drafts_task_user"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The form's fields as posted: name → text, or a list of texts. No files.
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
