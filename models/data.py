"""Enterprise-reported data (tables 1–4): batches as they arrive, records with every version kept.

One generic record table serves every data kind (declared in ``forms/data_kinds.py``): the kind's
fields live in ``data``; personal fields are stored encrypted (``models/crypto.py``) and found by
exact value through ``data_lookups``. A record's versions share (kind, enterprise, external_id);
the accepted one is ``official``, the one it replaced ``superseded``.
"""
from datetime import date, datetime

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .org import Enterprise
from .types import UTCDateTime

REC_PENDING, REC_OFFICIAL, REC_REJECTED, REC_SUPERSEDED = "pending", "official", "rejected", "superseded"
BATCH_IN_REVIEW, BATCH_REVIEWED, BATCH_UNCHANGED = "in_review", "reviewed", "unchanged"


class DataBatch(Base):
    __tablename__ = "data_batches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    source: Mapped[str] = mapped_column(String(16))  # api, web, excel
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Of the submitted records as sent: the same batch sent again is recognised and changes nothing.
    checksum: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=BATCH_IN_REVIEW)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    # The answer given when the batch arrived, returned as it was when the batch is sent again.
    result: Mapped[dict] = mapped_column(JSON, default=dict)
    enterprise: Mapped[Enterprise] = relationship()


Index("ix_data_batches_resend", DataBatch.enterprise_id, DataBatch.kind, DataBatch.checksum)


class DataRecord(Base):
    __tablename__ = "data_records"
    __table_args__ = (
        UniqueConstraint("kind", "enterprise_id", "external_id", "version", name="uq_data_records_version"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    external_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=REC_PENDING)
    data: Mapped[dict] = mapped_column(JSON)
    # Compared to tell an unchanged resubmission (personal fields are encrypted with a random nonce).
    fingerprint: Mapped[str] = mapped_column(String(64))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    batch_id: Mapped[int] = mapped_column(ForeignKey("data_batches.id"), index=True)
    review_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Files of earlier versions this version keeps (attachment ids); its own files name it themselves.
    kept_files: Mapped[list | None] = mapped_column(JSON)
    enterprise: Mapped[Enterprise] = relationship()


Index("ix_data_records_current", DataRecord.kind, DataRecord.enterprise_id, DataRecord.status)
Index("ix_data_records_external", DataRecord.kind, DataRecord.enterprise_id, DataRecord.external_id)


class DataLookup(Base):
    """Keyed digests of personal values: exact-value search without storing the value in clear."""

    __tablename__ = "data_lookups"
    record_id: Mapped[int] = mapped_column(ForeignKey("data_records.id"), primary_key=True)
    field: Mapped[str] = mapped_column(String(32), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))


Index("ix_data_lookups_digest", DataLookup.field, DataLookup.digest)


class CylinderNotice(Base):
    """That the enterprise was told a cylinder's inspection falls due on ``due_on``: one row per cylinder
    and due date, so the daily round tells once however often it runs (the unique key settles a race)."""

    __tablename__ = "cylinder_notices"
    __table_args__ = (UniqueConstraint("enterprise_id", "code", "due_on", name="uq_cylinder_notices_due"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    code: Mapped[str] = mapped_column(String(64))
    due_on: Mapped[date] = mapped_column(Date)
    notified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
