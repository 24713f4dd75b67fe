"""Password hashes (argon2) and bearer tokens (random, stored as SHA-256)."""
import hashlib
import secrets
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from models import ApiToken, User

_hasher = PasswordHasher()
# Verified against when the username is unknown, so timing does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(user: User | None, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash if user else _DUMMY_HASH, password) and user is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token(session, user: User, name: str, expires_at: datetime | None = None) -> str:
    raw = "gf_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, name=name, token_hash=_digest(raw), prefix=raw[:10],
                         expires_at=expires_at))
    return raw


def user_for_token(session, raw: str) -> User | None:
    # The user comes in the same statement: every API request asks, so one round trip, not two.
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(raw))
                           .options(joinedload(ApiToken.user)))
    now = datetime.now(UTC)
    if token is None or token.revoked_at is not None or (token.expires_at and token.expires_at <= now):
        return None
    if not token.user.active:
        return None
    # Last-use time at minute resolution: enough to see that a key is alive without a write per request.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        token.last_used_at = now
        session.commit()
    return token.user


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()
