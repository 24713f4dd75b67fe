"""Supervision measures (issue 15 item 4): the daily safety score of an enterprise with every rule's
contribution, and the quarterly credit grade the city admin approves before enterprises see it."""
from datetime import date, datetime

from sqlalchemy import JSON, Date, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .org import Enterprise, User
from .types import UTCDateTime

GRADE_DRAFT, GRADE_PUBLISHED = "draft", "published"


class SafetyScore(Base):
    """One enterprise's safety score on one day (Shanghai date): the base, the rules of the ``safety_score``
    decision table that matched with their points, and the measures they were read from."""

    __tablename__ = "safety_scores"
    __table_args__ = (UniqueConstraint("enterprise_id", "day", name="uq_safety_scores_enterprise_day"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))
    day: Mapped[date] = mapped_column(Date, index=True)
    score: Mapped[float] = mapped_column(Float)
    # {"base": 100, "rules": [{"row", "description", "points"}], "inputs": {...}}
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    decision_version: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    enterprise: Mapped[Enterprise] = relationship()


class CreditGrade(Base):
    """A quarter's credit grade (A/B/C/D) from the average daily score: a draft until the city admin
    publishes it; enterprises see published grades only."""

    __tablename__ = "credit_grades"
    __table_args__ = (UniqueConstraint("enterprise_id", "quarter", name="uq_credit_grades_enterprise_quarter"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))
    quarter: Mapped[str] = mapped_column(String(7), index=True)  # 2026-Q4
    average_score: Mapped[float] = mapped_column(Float)
    grade: Mapped[str] = mapped_column(String(1))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=GRADE_DRAFT)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    enterprise: Mapped[Enterprise] = relationship()
    published_by: Mapped[User | None] = relationship()
