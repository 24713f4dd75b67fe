"""Monitoring (A1.8, A2.5, A3.5): sensor readings from enterprise platforms, the threshold rules
they are checked against, and the warnings (A7) the checks raise."""
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .org import Enterprise, Region
from .types import UTCDateTime

SITE_KINDS = ("storage_station", "supply_station", "lng_station", "cng_station", "gate_station",
              "regulator_station", "pipeline_point", "vehicle_station")
QUANTITIES = ("temperature", "pressure", "level", "gas_concentration", "flow", "leak")
WARNING_CATEGORIES = ("station", "cylinder", "vehicle", "user", "certificate", "timeliness")  # A7.1–A7.4; A4.3; §7.1.2
WARNING_OPEN, WARNING_CLOSED = "open", "closed"
COMPARISONS = (">", "<")
LEVELS = (1, 2, 3)  # 1 is the most severe (一级)


class Reading(Base):
    """One sensor value. Append-only and by far the largest table: written in batches with Core
    inserts (or COPY), never one ORM object per row."""

    __tablename__ = "readings"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    site: Mapped[str] = mapped_column(String(64))
    site_kind: Mapped[str | None] = mapped_column(String(32))
    sensor: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[str] = mapped_column(String(32))
    value: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# Readings arrive roughly in time order, so a BRIN index on `at` stays tiny on PostgreSQL
# (a plain index elsewhere); one series' history is read through the composite btree.
Index("ix_readings_at", Reading.at, postgresql_using="brin")
Index("ix_readings_series", Reading.enterprise_id, Reading.site, Reading.sensor, Reading.at)


class ThresholdRule(Base):
    """A reading of ``quantity`` (at a site of ``site_kind``; None = any) beyond ``threshold`` raises
    a warning of ``level``. Edited by the city admin; the next batch is checked against the new rules."""

    __tablename__ = "threshold_rules"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quantity: Mapped[str] = mapped_column(String(32))
    site_kind: Mapped[str | None] = mapped_column(String(32))
    comparison: Mapped[str] = mapped_column(String(1))
    threshold: Mapped[float] = mapped_column(Float)
    level: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def matches(self, site_kind: str | None, value: float) -> bool:
        if self.site_kind is not None and self.site_kind != site_kind:
            return False
        return value > self.threshold if self.comparison == ">" else value < self.threshold


class EarlyWarning(Base):
    """An early warning (预警, A7): one episode of an abnormal condition. Opened by the first reading
    beyond a threshold, updated while it lasts, closed by the first reading back to normal. ``key`` names what is
    watched (for monitoring: site, sensor and quantity); at most one open warning per key."""

    __tablename__ = "warnings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    county_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    category: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(200))
    site: Mapped[str | None] = mapped_column(String(64))
    sensor: Mapped[str | None] = mapped_column(String(64))
    quantity: Mapped[str | None] = mapped_column(String(32))
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("threshold_rules.id"))
    level: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(512), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(8), default=WARNING_OPEN)
    peak_value: Mapped[float | None] = mapped_column(Float)
    reading_count: Mapped[int] = mapped_column(Integer, default=0)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    # The level the warning had when its case opened: a worse level opens a case of its own.
    case_level: Mapped[int | None] = mapped_column(Integer)
    enterprise: Mapped[Enterprise] = relationship()
    county: Mapped[Region | None] = relationship()
    rule: Mapped[ThresholdRule | None] = relationship()


Index("ix_warnings_county_open", EarlyWarning.status, EarlyWarning.county_id, EarlyWarning.level)
Index("ix_warnings_enterprise", EarlyWarning.enterprise_id, EarlyWarning.status)
# The database, not only the code, keeps one open warning per watched thing: two batches racing
# cannot both open one.
Index("uq_warnings_open_key", EarlyWarning.enterprise_id, EarlyWarning.category, EarlyWarning.key, unique=True,
      sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'"))
