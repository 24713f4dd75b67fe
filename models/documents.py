"""Official documents the platform issues (整改通知书, 行政处罚决定书) and their number counters."""
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow
from .types import UTCDateTime


class DocumentCounter(Base):
    """The last number given per kind of document and year: one row, bumped in the issuing
    transaction, so numbers are not skipped by a rolled-back case and never given twice."""

    __tablename__ = "document_counters"
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class IssuedDocument(Base):
    """A document of a case: its number, the wording fixed when it was issued, and the attachment
    holding the PDF. One per case and kind, so issuing it again renders the same number; a repeatable kind
    (templates.DocumentKind) is a new document each time, ``occurrence`` 1, 2, ... The PDF is rendered after
    the issuing transaction commits; until then ``rendered_at`` is empty."""

    __tablename__ = "issued_documents"
    __table_args__ = (
        UniqueConstraint("case_id", "kind", "occurrence", name="uq_issued_documents_case_kind_occurrence"),
        UniqueConstraint("kind", "year", "serial", name="uq_issued_documents_number"),
        Index("ix_issued_documents_pending", "id", sqlite_where=text("rendered_at IS NULL"),
              postgresql_where=text("rendered_at IS NULL")),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    # 0: the case's one document of its kind; 1, 2, ...: the nth of a repeatable kind.
    occurrence: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    year: Mapped[int] = mapped_column(Integer)
    serial: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(64))
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The placeholders' values as the issuing step left the case: the PDF says what was decided then,
    # however late it is rendered and whatever the case has become since.
    fields: Mapped[dict | None] = mapped_column(JSON)
    rendered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
