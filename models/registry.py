"""Regulatory records that cases read and write: checklist templates (A5.1) and certificates (A4.3)."""
from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .org import Enterprise, User
from .types import UTCDateTime

# The seven template kinds of A5.1.
TEMPLATE_KINDS = (
    "enterprise_safety",   # 企业安全管理
    "user_safety",         # 用户安全管理
    "high_pressure",       # 城市高压燃气
    "medium_low_pressure",  # 中低压输配
    "cng_station",         # CNG 场站
    "lng_station",         # LNG 场站
    "lpg_station",         # LPG 场站
)

CERT_VALID, CERT_RENEWING, CERT_EXPIRED, CERT_REVOKED = "valid", "renewing", "expired", "revoked"


class ChecklistTemplate(Base):
    """A checklist an inspection is filled from. An inspection copies the items it was planned with,
    so editing a template never changes inspections already under way."""

    __tablename__ = "checklist_templates"
    __table_args__ = (UniqueConstraint("kind", "version", name="uq_checklist_templates_kind_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer, default=1)
    name: Mapped[str] = mapped_column(String(128))
    # [{"code": "ES-01", "text": "...", "points": 5, "problem_class": "I"|"II"|"III"}]
    items: Mapped[list] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Certificate(Base):
    """A qualification certificate held by an enterprise or one of its people (A4.3)."""

    __tablename__ = "certificates"
    __table_args__ = (UniqueConstraint("kind", "number", name="uq_certificates_kind_number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    number: Mapped[str] = mapped_column(String(64))
    holder: Mapped[str] = mapped_column(String(64))
    issued_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(16), default=CERT_VALID)
    # The renewal case watching this certificate.
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # The last expiry notice the authority got (90, then 30 days ahead); cleared when the expiry moves.
    notified_days: Mapped[int | None] = mapped_column(Integer)
    enterprise: Mapped[Enterprise] = relationship()


class CertificateChange(Base):
    """The certificate register's history: registered, renewed, status changes and revocations."""

    __tablename__ = "certificate_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(16))
    changes: Mapped[dict] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(String(2000), default="")
    actor: Mapped[User | None] = relationship()
