"""Acting once per key: the claim, the kept answer, the replay, the expiry.

A request carrying a key first inserts and commits the key's row, in its own short transaction,
before it acts. The unique constraint on (user, method and path, key) makes that insert succeed
for exactly one request, on SQLite and PostgreSQL alike and across processes: PostgreSQL makes a
second insert of the same key wait until the first commits, then refuses it; SQLite serialises
writers. The request that claimed the key acts and then keeps its answer in the row; any other
request with the key reads the row and gets that answer again, or waits while it is still empty.

An answer that changed nothing (a refusal, a server error) is not kept: the row is deleted, so the
same key may be sent again, with the input corrected.
"""
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from models import IdempotencyKey

TTL = timedelta(hours=24)
CLAIMED, REPLAY, BUSY, MISMATCH = "claimed", "replay", "busy", "mismatch"


@dataclass(frozen=True)
class Claim:
    state: str  # CLAIMED: act, then finish_in() or release_in(); REPLAY: send ``row``'s answer; BUSY; MISMATCH
    row_id: int | None = None
    row: IdempotencyKey | None = None


def scope_of(method: str, path: str) -> str:
    return hashlib.sha256(f"{method} {path}".encode()).hexdigest()


def claim(sessions, user_id: int, method: str, path: str, key: str, fingerprint: str, now: datetime) -> Claim:
    """Claim ``key`` for this request, or say what became of the request that claimed it first."""
    scope = scope_of(method, path)
    # A row found gone (its request failed and released it) or expired is claimed again; a few
    # rounds, since another request may be doing the same at the same moment.
    for _round in range(3):
        with sessions() as s:
            row = IdempotencyKey(user_id=user_id, scope=scope, key=key, method=method, path=path,
                                 fingerprint=fingerprint, created_at=now)
            s.add(row)
            try:
                s.commit()
                return Claim(CLAIMED, row.id)
            except IntegrityError:
                s.rollback()
            found = s.scalar(select(IdempotencyKey).where(IdempotencyKey.user_id == user_id,
                                                          IdempotencyKey.scope == scope, IdempotencyKey.key == key))
            if found is None:
                continue
            if found.created_at <= now - TTL:
                s.execute(delete(IdempotencyKey).where(IdempotencyKey.id == found.id))
                s.commit()
                continue
            if found.fingerprint != fingerprint:
                return Claim(MISMATCH, found.id, found)
            if found.status is None:
                return Claim(BUSY, found.id, found)
            s.expunge(found)
            return Claim(REPLAY, found.id, found)
    return Claim(BUSY)


def finish_in(s, row_id: int, status: int, content_type: str | None, location: str | None, body: bytes,
              now: datetime) -> None:
    """Keep the answer of the request that claimed the row, in ``s``'s transaction: with the work it answers
    for. The caller commits."""
    s.execute(update(IdempotencyKey).where(IdempotencyKey.id == row_id).values(
        status=status, content_type=content_type, location=location, body=body, completed_at=now))


def release_in(s, row_id: int) -> None:
    """Give the key back (the request that claimed it changed nothing), in ``s``'s transaction. The caller
    commits."""
    s.execute(delete(IdempotencyKey).where(IdempotencyKey.id == row_id, IdempotencyKey.status.is_(None)))


def prune(session, now: datetime) -> int:
    """Delete the keys older than their 24 hours; returns how many. The caller commits."""
    return session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < now - TTL)).rowcount
