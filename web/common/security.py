"""Password hashes (argon2) and API keys: bearer tokens (random, stored as SHA-256), scoped and expiring."""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from models import ApiToken, User, UserRight
from models.json_rows import JsonRows
from models.org import scope_list
from workflows import permissions, reference_cache

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


@dataclass(frozen=True, slots=True)
class Bearer:
    """The API key a request came with, as a request reads it: its id (named in the audit entry), its
    user (an entity of the request's session) and its scopes. Not the ApiToken entity: no request reads
    more of the key, and building one cost a sixth of the key's read."""

    id: int
    user: User
    scope_list: list[str]


def token_for(session, raw: str, address: str | None = None, rights: bool = True) -> Bearer | None:
    """The live key ``raw`` names (not revoked, not expired, its user active), its last use noted.
    ``rights``: the user's rights come with him (False: loaded if and when a right is checked)."""
    # The user and his rights come in the same statement: every API request asks, and every writing
    # one checks a right, so one round trip, not three. A read checks none as a rule: it leaves the
    # rights' column out.
    row = session.connection().execute(_BEARER_WITH_RIGHTS if rights else _BEARER,
                                       {"digest": _digest(raw)}).one_or_none()
    if row is None:  # unknown, revoked, or its user deactivated
        return None
    token_id, _user_id, expires_at, last_used_at, last_used_address, scopes = row[:6]
    now = datetime.now(UTC)
    if expires_at and expires_at <= now:
        return None
    # The reference revision rides along (workflows/reference_cache.py): the request's transaction knows
    # it, so a start or a transition after this reads no statement of its own to check its caches.
    reference_cache.seen(session, row.reference_token)
    user = _user(session, row, rights)
    address = (address or "")[:64] or None
    # Last use at minute resolution (and on a new address): enough to see a key is alive, and from
    # where, without a write per request.
    if last_used_at is None or (now - last_used_at).total_seconds() > 60 or last_used_address != address:
        session.connection().execute(_NOTE_USE, {"id_": token_id, "last_used_at": now, "last_used_address": address})
        session.commit()
    return Bearer(token_id, user, scope_list(scopes))


def _user(session, row, rights: bool) -> User:
    """The key's user as an entity of ``session``, as if loaded by a query of the columns read: ``s.get``
    finds it, any other column loads when first read, and with ``rights`` his rights are loaded. Built
    from the Core row: the ORM's joined eager load of the key, the user and his rights (its loaders,
    unique()) was a fifth of every API request's authentication (token_for 0.38-0.52 ms, now 0.31-0.41,
    over the API bench's case, old and new alternated in one process)."""
    known = session.identity_map.get(identity_key(User, row.user_id))
    if known is not None:  # read earlier in the session's transaction: kept, as a query would keep it
        return known
    user = User(id=row.user_id, username=row.username, display_name=row.display_name, role=row.role,
                county_id=row.county_id, enterprise_id=row.enterprise_id, active=True)
    make_transient_to_detached(user)
    if rights:
        set_committed_value(user, "right_overrides", [_override(session, user.id, r) for r in _RIGHTS.rows(row.rights)])
    session.add(user)  # cascades to the rights
    return user


def _override(session, user_id: int, right) -> UserRight:
    """One of the rights read with the key, as an entity of ``session`` (the user's collection holds them)."""
    known = session.identity_map.get(identity_key(UserRight, (user_id, right.right)))
    if known is not None:
        return known
    override = UserRight(user_id=user_id, right=right.right, granted=right.granted)
    make_transient_to_detached(override)
    return override


# Only the columns a request reads, by Core: the statement's cost is per column (the driver describes
# each one, SQLAlchemy builds a getter for each), and the user row is mostly credentials (password hash,
# second factor, contact details) no API request reads; any column left out loads when first read. A
# revoked key and a deactivated user are left out by the database, so no column is read to refuse them.
_TOKENS, _USERS, _USER_RIGHTS = ApiToken.__table__, User.__table__, UserRight.__table__
# One row whatever the number of the user's grants and revocations (a LEFT JOIN made one per right).
_RIGHTS = JsonRows("rights", select(_USER_RIGHTS.c.right, _USER_RIGHTS.c.granted)
                   .where(_USER_RIGHTS.c.user_id == _USERS.c.id))
_BEARER = select(_TOKENS.c.id, _TOKENS.c.user_id, _TOKENS.c.expires_at, _TOKENS.c.last_used_at,
                 _TOKENS.c.last_used_address, _TOKENS.c.scopes, _USERS.c.username, _USERS.c.display_name,
                 _USERS.c.role, _USERS.c.county_id, _USERS.c.enterprise_id,
                 reference_cache.TOKEN_COLUMN.label("reference_token")).join_from(
    _TOKENS, _USERS, _USERS.c.id == _TOKENS.c.user_id).where(
    _TOKENS.c.token_hash == bindparam("digest"), _TOKENS.c.revoked_at.is_(None), _USERS.c.active.is_(True))
_BEARER_WITH_RIGHTS = _BEARER.add_columns(_RIGHTS.column)
_NOTE_USE = update(_TOKENS).where(_TOKENS.c.id == bindparam("id_"))


def revoke_token(session, token: ApiToken, actor: User) -> bool:
    """Revoke ``token``; False when it already was. The caller commits."""
    if token.revoked_at is not None:
        return False
    token.revoked_at, token.revoked_by_id = datetime.now(UTC), actor.id
    return True


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()
