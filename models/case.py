"""Process models, cases, their task table, history and attachments."""
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .org import Enterprise, Region, User
from .types import UTCDateTime

CASE_ACTIVE, CASE_COMPLETED, CASE_CANCELLED = "active", "completed", "cancelled"
CASE_SUSPENDED = "suspended"  # paused by a supervisor: timers stopped, tasks not to be completed
CASE_OPEN_STATUSES = (CASE_ACTIVE, CASE_SUSPENDED)  # not yet closed: a suspended case is still work in hand
TASK_OPEN, TASK_COMPLETED, TASK_CANCELLED = "open", "completed", "cancelled"


class ProcessModel(Base):
    """One version of a BPMN model. The parsed spec is stored here once, not in every case."""

    __tablename__ = "process_models"
    __table_args__ = (
        UniqueConstraint("key", "version", name="uq_process_models_key_version"),
        UniqueConstraint("key", "checksum", name="uq_process_models_key_checksum"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(128))
    checksum: Mapped[str] = mapped_column(String(64))
    # Deferred: every transition reads its case's model, but only needs these once per process
    # (the engine caches the restored spec), so they are not loaded with the row.
    bpmn_xml: Mapped[str] = mapped_column(Text, deferred=True)
    spec: Mapped[dict] = mapped_column(JSON, deferred=True)
    # What the engine needs without deserializing the spec: start form, starter roles,
    # lane → role and task → form maps.
    meta: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Case(Base):
    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_model_id: Mapped[int] = mapped_column(ForeignKey("process_models.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=CASE_ACTIVE)
    title: Mapped[str] = mapped_column(String(256), default="")
    county_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"))
    # Workflow data visible to users (the workflow's own data dictionary).
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    # Serialized workflow state without its spec (the spec lives on the process model).
    state: Mapped[dict] = mapped_column(JSON, default=dict)
    # Bumped by every transition; the UPDATE that bumps it is also the case's row lock.
    revision: Mapped[int] = mapped_column(Integer, default=0)
    next_timer_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The case that opened this one (an inspection's rectifications, an overdue order's penalty).
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    # When the case was suspended (None unless it is): resuming shifts its timers by the time paused.
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The BPMN elements the case has passed through, for the diagram (the task tree is pruned).
    path: Mapped[list | None] = mapped_column(JSON)
    process_model: Mapped[ProcessModel] = relationship()
    county: Mapped[Region | None] = relationship()
    enterprise: Mapped[Enterprise | None] = relationship()
    created_by: Mapped[User | None] = relationship()


class Task(Base):
    """A READY user task of a case, mirrored from the workflow so queues are plain queries."""

    __tablename__ = "tasks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    spiff_id: Mapped[str] = mapped_column(String(36))
    spec_name: Mapped[str] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(256))
    form_key: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    county_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16), default=TASK_OPEN)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the assignee means to look at it again (Camunda's follow-up date); set by people, not models.
    follow_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set once the overdue notice went out, so the periodic job notifies once per task.
    overdue_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Who handed the task to its assignee (委托): he keeps it in his "delegated by me" list.
    delegated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    case: Mapped[Case] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    candidates: Mapped[list["TaskCandidate"]] = relationship(lazy="selectin")

    @property
    def candidate_ids(self) -> set[int]:
        return {c.user_id for c in self.candidates}


class TaskCandidate(Base):
    """Named users who may pick up a task (camunda:candidateUsers), on top of its role and area."""

    __tablename__ = "task_candidates"
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)


class DecisionModel(Base):
    """One version of a DMN decision table. Business rule tasks use the latest version when they run,
    so an admin changes thresholds by uploading a table, without redeploying processes."""

    __tablename__ = "decision_models"
    __table_args__ = (
        UniqueConstraint("key", "version", name="uq_decision_models_key_version"),
        UniqueConstraint("key", "checksum", name="uq_decision_models_key_checksum"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(128))
    checksum: Mapped[str] = mapped_column(String(64))
    dmn_xml: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Notification(Base):
    """Something a user should see: a new task, an overdue task, a warning a model sent.

    Written in the transaction that caused it; shown at login and mailed by a job when SMTP is set.
    """

    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32))  # task_created, task_overdue, message
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    text: Mapped[str] = mapped_column(String(512), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # False when the user chose no mail for this notification's category (models/delivery.py).
    mail: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


Index("ix_notifications_user", Notification.user_id, Notification.read_at)
Index("ix_notifications_mail", Notification.emailed_at)
Index("ix_tasks_queue", Task.status, Task.role, Task.county_id, Task.enterprise_id)
Index("ix_tasks_assignee", Task.assignee_id, Task.status)
Index("ix_tasks_spiff", Task.case_id, Task.spiff_id)
Index("ix_cases_scope", Case.status, Case.county_id, Case.enterprise_id)
# Open tasks in due order, city-wide, per county and per enterprise: the queues' priority sort and
# overdue count (migration 0011; measured by `python -m bench queue`).
_OPEN = text("status = 'open'")
# role and assignee_id close each key so the tab counts are answered from the index alone.
_COVER = (Task.due_at, Task.id, Task.role, Task.assignee_id)
Index("ix_tasks_open_due", *_COVER, sqlite_where=_OPEN, postgresql_where=_OPEN)
Index("ix_tasks_open_county", Task.county_id, *_COVER, sqlite_where=_OPEN, postgresql_where=_OPEN)
Index("ix_tasks_open_enterprise", Task.enterprise_id, *_COVER, sqlite_where=_OPEN, postgresql_where=_OPEN)


class CaseEvent(Base):
    """Append-only history of a case: who did what, when."""

    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    event: Mapped[str] = mapped_column(String(32))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    task_name: Mapped[str] = mapped_column(String(256), default="")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    actor: Mapped[User | None] = relationship()


class Attachment(Base):
    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    filename: Mapped[str] = mapped_column(String(256))
    content_type: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Owner scope until the attachment is bound to a case by a task completion.
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A file of a reported data record (its licence, contract, photos): the version it came with, and what it
    # is (a code of the kind's declared files, forms/data_files.py). Seen by whoever sees the record.
    data_record_id: Mapped[int | None] = mapped_column(ForeignKey("data_records.id"), index=True)
    file_kind: Mapped[str | None] = mapped_column(String(32))
