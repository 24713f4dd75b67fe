"""Reporting periods of the periodic data kinds (§7.1.2) that went wrong: one row per enterprise, kind and
period whose report was missing at its limit or arrived after it. A period reported in time leaves no row."""
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .org import Enterprise
from .types import UTCDateTime

PERIOD_MISSING, PERIOD_LATE = "missing", "late"


class ReportPeriod(Base):
    __tablename__ = "report_periods"
    __table_args__ = (UniqueConstraint("enterprise_id", "kind", "period", name="uq_report_periods_period"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    county_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    kind: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(10))  # 2035-03-19, 2035-03, 2035-Q1, 2035
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the first report of the period arrived; None while it is missing.
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(8), default=PERIOD_MISSING)
    warning_id: Mapped[int | None] = mapped_column(ForeignKey("warnings.id"))
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    enterprise: Mapped[Enterprise] = relationship()


Index("ix_report_periods_enterprise", ReportPeriod.enterprise_id, ReportPeriod.due_at)
