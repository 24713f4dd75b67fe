"""The city's own adjustments to the working-day calendar (a local holiday, a working Saturday),
laid over the State Council's published holidays and make-up working days."""
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow
from .types import UTCDateTime


class CalendarAdjustment(Base):
    """One day the city admin declared a working day (``working``) or a day off, whatever the
    national calendar says. One row per day."""

    __tablename__ = "calendar_adjustments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    working: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
