"""Password hashes (argon2) and API keys: bearer tokens (random, stored as SHA-256), scoped and expiring."""
import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload, load_only

from models import ApiToken, User, UserRight
from workflows import permissions

# argon2-cffi's default (RFC 9106's low-memory profile). "cheapest" exists for the test suite only, where
# hundreds of sign-ins would otherwise spend most of its time hashing; a hash carries its own parameters,
# so verifying one is as cheap or as dear as the profile it was made with.
HASH_PROFILES = {"production": profiles.RFC_9106_LOW_MEMORY, "cheapest": profiles.CHEAPEST}
_hashers: dict[str, tuple[PasswordHasher, str]] = {}


def _hasher() -> tuple[PasswordHasher, str]:
    """The hasher of the current app's PASSWORD_HASH_PROFILE, with a dummy hash of its own: verified
    against when the username is unknown, so timing does not reveal which usernames exist."""
    name = current_app.config.get("PASSWORD_HASH_PROFILE", "production") if has_app_context() else "production"
    found = _hashers.get(name)
    if found is None:
        hasher = PasswordHasher.from_parameters(HASH_PROFILES[name])
        found = _hashers[name] = (hasher, hasher.hash("not-a-real-password"))
    return found


def hash_password(password: str) -> str:
    return _hasher()[0].hash(password)


def verify_hash(hashed: str, password: str) -> bool:
    try:
        return _hasher()[0].verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_password(user: User | None, password: str) -> bool:
    hasher, dummy = _hasher()
    return verify_hash(user.password_hash if user else dummy, password) and user is not None


MAX_TOKEN_DAYS = 365


class TokenError(ValueError):
    """A key that may not be made as asked; ``field`` names what to change."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def new_token(session, user: User, name: str, expires_at: datetime | None = None,
              scopes: list[str] | tuple[str, ...] | None = None) -> str:
    """A new API key for ``user``, returned once (only its SHA-256 is kept). Without ``scopes`` it gets
    every scope the user's rights allow; without ``expires_at`` it lives the longest a key may."""
    now = datetime.now(UTC)
    expires_at = expires_at or now + timedelta(days=MAX_TOKEN_DAYS)
    if expires_at <= now:
        raise TokenError("expires_at", "The expiry must be in the future.")
    if expires_at > now + timedelta(days=MAX_TOKEN_DAYS, minutes=5):
        raise TokenError("expires_at", f"A key lives at most {MAX_TOKEN_DAYS} days.")
    allowed = permissions.allowed_scopes(user)
    chosen = list(allowed) if scopes is None else [s for s in permissions.SCOPES if s in set(scopes)]
    unknown = sorted(set(scopes or ()) - set(permissions.SCOPES))
    if unknown:
        raise TokenError("scopes", f"Unknown scope: {', '.join(unknown)}.")
    beyond = [s for s in chosen if s not in allowed]
    if beyond:
        raise TokenError("scopes", f"The user's rights do not allow: {', '.join(beyond)}.")
    if not chosen:
        raise TokenError("scopes", "Choose at least one scope.")
    name = (name or "").strip()
    if not name or len(name) > 64:
        raise TokenError("name", "A name of 1 to 64 characters is required.")
    raw = "gf_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, name=name, token_hash=_digest(raw), prefix=raw[:10],
                         expires_at=expires_at, scopes=" ".join(chosen), created_at=now))
    return raw


def token_for(session, raw: str, address: str | None = None, rights: bool = True) -> ApiToken | None:
    """The live token ``raw`` names (not revoked, not expired, its user active), its last use noted.
    ``rights``: the user's rights come with it (False: loaded if and when a right is checked)."""
    # The user and his rights come in the same statement: every API request asks, and every writing
    # one checks a right, so one round trip, not three. A read checks none as a rule, and the rights'
    # joined collection cost it a sixth of the token's read (the LEFT JOIN, a collection loader, unique()).
    if rights:
        token = session.execute(_TOKEN_WITH_RIGHTS, {"digest": _digest(raw)}).unique().scalar_one_or_none()
    else:
        token = session.execute(_TOKEN_WITH_USER, {"digest": _digest(raw)}).scalar_one_or_none()
    now = datetime.now(UTC)
    if token is None or token.revoked_at is not None or (token.expires_at and token.expires_at <= now):
        return None
    if not token.user.active:
        return None
    address = (address or "")[:64] or None
    # Last use at minute resolution (and on a new address): enough to see a key is alive, and from
    # where, without a write per request.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60 \
            or token.last_used_address != address:
        token.last_used_at, token.last_used_address = now, address
        session.commit()
    return token


# Only the columns a request needs: the statement's cost is per column (the driver describes each
# one, the ORM builds a loader for each), and the user row is mostly credentials (password hash,
# second factor, contact details) no API request reads; any column left out loads when first read.
_TOKEN_COLUMNS = load_only(ApiToken.user_id, ApiToken.expires_at, ApiToken.revoked_at, ApiToken.last_used_at,
                           ApiToken.last_used_address, ApiToken.scopes)
_USER_COLUMNS = load_only(User.username, User.display_name, User.role, User.county_id, User.enterprise_id,
                          User.active)
_TOKEN_WITH_USER = select(ApiToken).where(ApiToken.token_hash == bindparam("digest")).options(
    _TOKEN_COLUMNS, joinedload(ApiToken.user).options(_USER_COLUMNS))
_TOKEN_WITH_RIGHTS = select(ApiToken).where(ApiToken.token_hash == bindparam("digest")).options(
    _TOKEN_COLUMNS, joinedload(ApiToken.user).options(
        _USER_COLUMNS, joinedload(User.right_overrides).load_only(UserRight.granted)))


def user_for_token(session, raw: str, address: str | None = None) -> User | None:
    token = token_for(session, raw, address)
    return token.user if token is not None else None


def revoke_token(session, token: ApiToken, actor: User) -> bool:
    """Revoke ``token``; False when it already was. The caller commits."""
    if token.revoked_at is not None:
        return False
    token.revoked_at, token.revoked_by_id = datetime.now(UTC), actor.id
    return True


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()
