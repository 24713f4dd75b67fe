"""Server-side records of browser sign-ins, so a session can be ended on the server.

The signed cookie carries a random key; the database keeps its SHA-256 (a copy of the table cannot be
turned into cookies). Every process reads the same table, so an ended session ends everywhere, on
SQLite as on PostgreSQL, with no shared cache. The web layer reads the record and its user in one
statement per request (``find``) and writes only at sign-in, sign-out and every ``SEEN_EVERY``.
"""
import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import joinedload

from models import UserSession

# ``seen_at`` is refreshed at most this often: enough to show when a session was last used without a
# write per request.
SEEN_EVERY = timedelta(minutes=5)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def start(s, user_id: int, now: datetime, address: str = "", user_agent: str = "") -> str:
    """A new sign-in of ``user_id``; returns the key for the cookie (shown nowhere else). The caller commits."""
    raw = secrets.token_urlsafe(32)
    s.add(UserSession(user_id=user_id, key_hash=_digest(raw), created_at=now, seen_at=now,
                      address=(address or "")[:64], user_agent=(user_agent or "")[:256]))
    return raw


def find(s, raw: str | None) -> UserSession | None:
    """The live record ``raw`` names, its user loaded in the same statement; None when ended."""
    if not raw or not isinstance(raw, str):
        return None
    return s.scalar(select(UserSession).where(UserSession.key_hash == _digest(raw))
                    .options(joinedload(UserSession.user)))


def rekey(s, raw: str) -> str | None:
    """Give the record ``raw`` names a new key (kept: its sign-in time, address and agent), so copies of
    the old cookie end while this browser goes on. None when there is no such record."""
    new = secrets.token_urlsafe(32)
    done = s.execute(update(UserSession).where(UserSession.key_hash == _digest(raw))
                     .values(key_hash=_digest(new)))
    return new if done.rowcount else None


def end(s, raw: str | None) -> None:
    if raw and isinstance(raw, str):
        s.execute(delete(UserSession).where(UserSession.key_hash == _digest(raw)))


def end_all(s, user_id: int | None, keep: str | None = None) -> int:
    """End every session of ``user_id`` but the one ``keep`` names; returns how many ended."""
    if user_id is None:
        return 0
    stmt = delete(UserSession).where(UserSession.user_id == user_id)
    if keep:
        stmt = stmt.where(UserSession.key_hash != _digest(keep))
    return s.execute(stmt).rowcount


def seen(s, record: UserSession, now: datetime) -> bool:
    """Refresh ``seen_at`` when it is older than ``SEEN_EVERY``; True when a write is due (the caller commits)."""
    if now - record.seen_at < SEEN_EVERY:
        return False
    s.execute(update(UserSession).where(UserSession.id == record.id).values(seen_at=now))
    return True


def _stale(now: datetime, idle: timedelta, lifetime: timedelta):
    # seen_at lags by up to SEEN_EVERY, so a record idle for less than that longer may still be live.
    return or_(UserSession.created_at <= now - lifetime, UserSession.seen_at <= now - idle - SEEN_EVERY)


def purge(s, user_id: int, now: datetime, idle: timedelta, lifetime: timedelta) -> int:
    """Remove the user's records of sessions the limits have ended anyway (closed browsers never sign
    out). Only his: at most one batch of stale records per account is left waiting for its next sign-in."""
    return s.execute(delete(UserSession).where(UserSession.user_id == user_id, _stale(now, idle, lifetime))).rowcount


def live(s, user_id: int, now: datetime, idle: timedelta, lifetime: timedelta) -> list[UserSession]:
    """The user's sessions that may still be in use, most recently used first."""
    return list(s.scalars(select(UserSession).where(UserSession.user_id == user_id, ~_stale(now, idle, lifetime))
                          .order_by(UserSession.seen_at.desc(), UserSession.id.desc())))
