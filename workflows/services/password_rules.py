"""Password rules graded by role (GB/T 22239 level 3, O8 §7.4.3): length, character classes, the
username, history and, for authority accounts, expiry. One place for the rules; no Flask.

Hashing is passed in (``hash_password`` / ``verify``) so this module stays free of the web layer.
"""
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from models import (
    AUTHORITY_ROLES,
    ENTERPRISE_ROLES,
    ROLE_CITY_ADMIN,
    ROLE_COUNTY_SUPERVISOR,
    ROLE_INSPECTOR,
    PasswordHistory,
    User,
)

from . import sign_ins


@dataclass(frozen=True)
class Policy:
    min_length: int
    min_classes: int
    history: int
    max_age: timedelta | None
    warn_before: timedelta | None


AUTHORITY_POLICY = Policy(min_length=12, min_classes=3, history=5, max_age=timedelta(days=90),
                          warn_before=timedelta(days=14))
ENTERPRISE_POLICY = Policy(min_length=10, min_classes=3, history=3, max_age=None, warn_before=None)
MAX_LENGTH = 128

# Each refusal is named by its rule, so the form can say exactly which rule a password broke.
RULE_LENGTH, RULE_CLASSES, RULE_USERNAME, RULE_HISTORY, RULE_MAX_LENGTH = (
    "length", "classes", "username", "history", "max_length")


def policy_for(role: str) -> Policy:
    return AUTHORITY_POLICY if role in AUTHORITY_ROLES else ENTERPRISE_POLICY


def character_classes(password: str) -> int:
    return sum((any(c.islower() for c in password), any(c.isupper() for c in password),
                any(c.isdigit() for c in password), any(not c.isalnum() for c in password)))


def broken_rules(password: str, username: str, role: str) -> list[str]:
    """The rules a new password breaks, apart from history (which needs the database)."""
    policy, broken = policy_for(role), []
    if len(password) < policy.min_length:
        broken.append(RULE_LENGTH)
    if len(password) > MAX_LENGTH:
        broken.append(RULE_MAX_LENGTH)
    if character_classes(password) < policy.min_classes:
        broken.append(RULE_CLASSES)
    if username and username.lower() in password.lower():
        broken.append(RULE_USERNAME)
    return broken


def recently_used(session, user: User, password: str, verify: Callable[[str, str], bool]) -> bool:
    """Whether the password is one of the user's last N (the current one included)."""
    depth = policy_for(user.role).history
    hashes = session.scalars(select(PasswordHistory.password_hash).where(PasswordHistory.user_id == user.id)
                             .order_by(PasswordHistory.created_at.desc(), PasswordHistory.id.desc())
                             .limit(depth)).all()
    return any(verify(h, password) for h in hashes)


def check(session, user: User, password: str, verify: Callable[[str, str], bool]) -> list[str]:
    broken = broken_rules(password, user.username, user.role)
    if not broken and user.id is not None and recently_used(session, user, password, verify):
        broken.append(RULE_HISTORY)
    return broken


def set_password(session, user: User, password: str, hash_password: Callable[[str], str], now: datetime,
                 must_change: bool = False, keep_session: str | None = None) -> None:
    """Store a password the rules have accepted (or a temporary one), and remember it in the history.
    Every session of the user ends but the one ``keep_session`` names: a change after a suspected
    break-in signs the intruder out."""
    hashed = hash_password(password)
    user.password_hash = hashed
    user.password_changed_at = now
    user.must_change_password = must_change
    session.flush()  # a new user needs its id for the history row
    session.add(PasswordHistory(user_id=user.id, password_hash=hashed, created_at=now))
    # Only as many as the rule looks at are kept.
    depth = policy_for(user.role).history
    old = session.scalars(select(PasswordHistory).where(PasswordHistory.user_id == user.id)
                          .order_by(PasswordHistory.created_at.desc(), PasswordHistory.id.desc())
                          .offset(depth)).all()
    for row in old:
        session.delete(row)
    sign_ins.end_all(session, user.id, keep=keep_session)


def expires_at(user: User) -> datetime | None:
    policy = policy_for(user.role)
    if policy.max_age is None:
        return None
    return (user.password_changed_at or user.created_at) + policy.max_age


def expired(user: User, now: datetime) -> bool:
    end = expires_at(user)
    return end is not None and now >= end


def days_left_to_warn(user: User, now: datetime) -> int | None:
    """Days until expiry when inside the warning period, else None."""
    end, policy = expires_at(user), policy_for(user.role)
    if end is None or policy.warn_before is None or now >= end or end - now > policy.warn_before:
        return None
    return max(1, (end - now).days)


def must_change(user: User, now: datetime) -> bool:
    return bool(user.must_change_password) or expired(user, now)


def temporary_password() -> str:
    """A one-time password that satisfies every role's rules (four classes, 16 characters)."""
    alphabet = string.ascii_letters + string.digits
    while True:
        body = "".join(secrets.choice(alphabet) for _ in range(14))
        candidate = f"{body[:7]}-{body[7:]}!"
        if character_classes(candidate) == 4:
            return candidate


def may_reset(actor: User, target: User) -> bool:
    """Who may reset whose password: the city admin anyone's but their own (they use the change
    page); a county supervisor their county's inspectors and their county's enterprise accounts."""
    if actor.id == target.id:
        return False
    if actor.role == ROLE_CITY_ADMIN:
        return True
    if actor.role == ROLE_COUNTY_SUPERVISOR and actor.county_id is not None:
        return target.county_id == actor.county_id and target.role in (ROLE_INSPECTOR,) + ENTERPRISE_ROLES
    return False
