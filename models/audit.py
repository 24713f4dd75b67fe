"""Security audit trail (GB/T 22239 level 3): entries chained by SHA-256, the chain's head, purge
anchors, abnormal-operation rules and the alerts they raised."""
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow
from .types import UTCDateTime

GENESIS_HASH = "0" * 64
# What an entry records: a sign-in, a write, a download, a refused read, a retention purge, a read
# that failed with an unhandled exception (a failed write is a write with outcome "error").
AUDIT_KINDS = ("login_success", "login_failure", "login_locked", "write", "export", "denied", "purge", "error")


class AuditEntry(Base):
    """One audited event. Append-only: on PostgreSQL a trigger refuses UPDATE and DELETE (except the
    retention purge, which records an anchor first). ``id`` is the position in the chain, given out
    under the chain head's lock, so the ids have no gaps and a missing row shows."""

    __tablename__ = "audit_entries"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(16))
    # No foreign keys: the trail outlives the accounts and tokens it names.
    user_id: Mapped[int | None] = mapped_column(Integer)
    username: Mapped[str] = mapped_column(String(64), default="")
    token_id: Mapped[int | None] = mapped_column(Integer)
    address: Mapped[str] = mapped_column(String(64), default="")
    method: Mapped[str] = mapped_column(String(8), default="")
    endpoint: Mapped[str] = mapped_column(String(128), default="")
    path: Mapped[str] = mapped_column(String(512), default="")
    object_ids: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16), default="")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


Index("ix_audit_entries_at", AuditEntry.at)
Index("ix_audit_entries_user", AuditEntry.user_id, AuditEntry.at)
Index("ix_audit_entries_address", AuditEntry.address, AuditEntry.at)
Index("ix_audit_entries_kind", AuditEntry.kind, AuditEntry.at)


class AuditChainHead(Base):
    """One row (id 1): the last entry's id and hash. Every append updates it first, which takes the
    row lock on PostgreSQL and the write lock on SQLite, so appends from all processes line up."""

    __tablename__ = "audit_chain_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)


class AuditAnchor(Base):
    """Left by a retention purge: the first entry kept and the hash it links back to, so the rest of
    the chain still verifies from there."""

    __tablename__ = "audit_anchors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    before: Mapped[datetime] = mapped_column(UTCDateTime)
    first_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    prev_hash: Mapped[str] = mapped_column(String(64))
    removed: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(64), default="")


class AuditRule(Base):
    """An abnormal-operation rule as the city admin set it; a rule without a row uses its default."""

    __tablename__ = "audit_rules"
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    threshold: Mapped[int] = mapped_column(Integer)
    window_minutes: Mapped[int] = mapped_column(Integer)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_by_id: Mapped[int | None] = mapped_column(Integer)


class AuditAlert(Base):
    """One episode of a rule matching for one subject (a user, a token or an address): raised once,
    then only extended while matches keep coming within the rule's window."""

    __tablename__ = "audit_alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(96))
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
    matches: Mapped[int] = mapped_column(Integer, default=1)
    first_entry_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    text: Mapped[str] = mapped_column(Text, default="")


Index("ix_audit_alerts_episode", AuditAlert.rule, AuditAlert.subject, AuditAlert.last_at)
