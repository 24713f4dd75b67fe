"""Industry information (A6) and enterprise services (A4.1, A4.2).

Policies and announcements are written by the authority and published on the public site; an item
is never deleted once published, only withdrawn, so what was once announced can still be shown.
Training sessions and publicity activities are entered by enterprises for themselves; a session's
trainees are rows of their own, so a person's training record can be listed and the session's counts
are always what its roster says.
"""
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .org import Enterprise, Region, User
from .types import UTCDateTime

INFO_POLICY, INFO_ANNOUNCEMENT = "policy", "announcement"
INFO_CATEGORIES = (INFO_POLICY, INFO_ANNOUNCEMENT)
INFO_DRAFT, INFO_PUBLISHED, INFO_WITHDRAWN = "draft", "published", "withdrawn"
INFO_STATUSES = (INFO_DRAFT, INFO_PUBLISHED, INFO_WITHDRAWN)

TRAINEE_QUALIFIED, TRAINEE_UNQUALIFIED = "qualified", "unqualified"
PUBLICITY_KINDS = ("campaign", "rules", "slogan", "other")


class InfoItem(Base):
    """A policy document (政策法规) or an announcement (公告公示)."""

    __tablename__ = "info_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    # Plain text, shown escaped with its line breaks; never rendered as HTML.
    body: Mapped[str] = mapped_column(Text, default="")
    # A policy's document number (文号), e.g. 浙建〔2026〕12号; empty for announcements.
    doc_number: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), default=INFO_DRAFT)
    # The issuing county; NULL for the city's own items. A county supervisor writes for his county only.
    county_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    view_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    county: Mapped[Region | None] = relationship()
    author: Mapped[User | None] = relationship()
    attachments: Mapped[list["InfoAttachment"]] = relationship(
        order_by="InfoAttachment.id", back_populates="item", lazy="selectin",
        # The file bodies stay in the database until one is downloaded.
    )


Index("ix_info_items_public", InfoItem.status, InfoItem.category, InfoItem.published_at)


class InfoAttachment(Base):
    """A file of an information item, kept in the database as case attachments are."""

    __tablename__ = "info_attachments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("info_items.id"), index=True)
    filename: Mapped[str] = mapped_column(String(256))
    content_type: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    item: Mapped[InfoItem] = relationship(back_populates="attachments")


class TrainingSession(Base):
    """One session of an enterprise's safety education and training (A4.1)."""

    __tablename__ = "training_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    # Copied from the enterprise so county scope and county statistics are plain WHERE/GROUP BY.
    county_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))
    name: Mapped[str] = mapped_column(String(128))
    held_on: Mapped[date] = mapped_column(Date)
    topic: Mapped[str] = mapped_column(String(256))
    trainer: Mapped[str] = mapped_column(String(64), default="")
    # How the trainees were assessed (written exam, practical test...).
    assessment: Mapped[str] = mapped_column(String(256), default="")
    trainee_count: Mapped[int] = mapped_column(Integer, default=0)
    qualified_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    enterprise: Mapped[Enterprise] = relationship()
    trainees: Mapped[list["Trainee"]] = relationship(order_by="Trainee.id", back_populates="session")


Index("ix_training_sessions_scope", TrainingSession.county_id, TrainingSession.enterprise_id, TrainingSession.held_on)


class Trainee(Base):
    """A person trained in a session and the result of the assessment: the staff's training record."""

    __tablename__ = "training_trainees"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("training_sessions.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    position: Mapped[str] = mapped_column(String(64), default="")
    result: Mapped[str] = mapped_column(String(16))
    session: Mapped[TrainingSession] = relationship(back_populates="trainees")


class PublicityActivity(Base):
    """A safety publicity activity of an enterprise (A4.2)."""

    __tablename__ = "publicity_activities"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    county_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))
    activity: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    held_on: Mapped[date] = mapped_column(Date)
    audience: Mapped[str] = mapped_column(String(256))
    audience_count: Mapped[int | None] = mapped_column(Integer)
    materials: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    enterprise: Mapped[Enterprise] = relationship()


Index("ix_publicity_activities_scope", PublicityActivity.county_id, PublicityActivity.enterprise_id,
      PublicityActivity.held_on)
