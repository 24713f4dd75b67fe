"""Regions, enterprises, users and their credentials."""
from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .types import UTCDateTime

CITY, COUNTY = "city", "county"
ENTERPRISE_KINDS = ("bottled", "pipeline", "vehicle")

ROLE_CITY_ADMIN = "city_admin"
ROLE_COUNTY_SUPERVISOR = "county_supervisor"
ROLE_INSPECTOR = "inspector"
ROLE_ENTERPRISE_ADMIN = "enterprise_admin"
ROLE_ENTERPRISE_STAFF = "enterprise_staff"
AUTHORITY_ROLES = (ROLE_CITY_ADMIN, ROLE_COUNTY_SUPERVISOR, ROLE_INSPECTOR)
ENTERPRISE_ROLES = (ROLE_ENTERPRISE_ADMIN, ROLE_ENTERPRISE_STAFF)
ROLES = AUTHORITY_ROLES + ENTERPRISE_ROLES


class Region(Base):
    __tablename__ = "regions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(8))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    parent: Mapped["Region | None"] = relationship(remote_side="Region.id")


class Enterprise(Base):
    __tablename__ = "enterprises"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    address: Mapped[str] = mapped_column(String(256), default="")
    # WGS84; on PostgreSQL the migration adds a PostGIS geography column derived
    # from these two, with a spatial index, so the database can answer distance queries.
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The register (issue 15): a deactivated enterprise keeps its cases and data, but its accounts are
    # deactivated with it and no new case offers it; licences as [{"kind", "number", "valid_until"}].
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    licences: Mapped[list | None] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    county: Mapped[Region] = relationship()


class EnterpriseChange(Base):
    """One change of the enterprise register: who, when, from where (page, API, import, an accepted
    enterprise_profile), and each field's old and new value."""

    __tablename__ = "enterprise_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    source: Mapped[str] = mapped_column(String(16))
    changes: Mapped[dict] = mapped_column(JSON, default=dict)
    actor: Mapped["User | None"] = relationship()


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(32))
    county_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    email: Mapped[str] = mapped_column(String(128), default="")
    # For SMS (personal data: encrypted with the field cipher); and the user's own choice of channels
    # per notification category ({"warning_l1": ["mail", "sms"], ...}; None: the defaults).
    mobile: Mapped[str | None] = mapped_column(Text)
    notify_channels: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Identification and authentication (O8): a new account and a reset password must be changed at
    # the next sign-in; authority passwords expire counted from password_changed_at (or created_at).
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # TOTP second factor: the secret encrypted with the field cipher; enrolled once confirmed with a
    # code; the last accepted time step, so a code is never accepted twice.
    totp_secret: Mapped[str | None] = mapped_column(Text)
    totp_enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    county: Mapped[Region | None] = relationship()
    enterprise: Mapped[Enterprise | None] = relationship()

    # Flask-Login protocol, kept here so the web layer needs no wrapper class.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)


class ApiToken(Base):
    """A bearer token (an API key): shown once, stored as its SHA-256; scoped, expiring, revocable."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_address: Mapped[str | None] = mapped_column(String(64))
    # Space-separated scopes (workflows.permissions.SCOPES): short, and the same on every database.
    scopes: Mapped[str] = mapped_column(String(256), default="")
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    user: Mapped[User] = relationship(foreign_keys=[user_id])

    @property
    def scope_list(self) -> list[str]:
        return scope_list(self.scopes)


def scope_list(scopes: str | None) -> list[str]:
    """A key's scopes column as its list (the stored text, or a row read by Core)."""
    return scopes.split() if scopes else []


class Setting(Base):
    """Small key/value facts about the installation (e.g. demo seeded)."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class LoginFailure(Base):
    """A failed sign-in, by the name typed and the address it came from: lockout and throttling
    count these, so they hold across every web process, and a name that does not exist locks the
    same way as one that does (nothing tells which accounts exist)."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    username: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))


class PasswordHistory(Base):
    """Hashes of a user's earlier passwords (the current one included), so none is used again too soon."""

    __tablename__ = "password_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecoveryCode(Base):
    """A one-time second-factor code for a lost authenticator: shown once, stored as its SHA-256
    (the codes are random and long, so a fast hash is enough)."""

    __tablename__ = "recovery_codes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UserSession(Base):
    """One sign-in of a browser: the signed cookie carries a random key, only its SHA-256 is kept here.
    Deleting the row ends that session on every web process at its next request (sign-out, password
    change, deactivation, "sign out my other sessions"). ``seen_at`` is coarse (refreshed every few
    minutes), for the account page: the idle limit itself is checked from the signed cookie."""

    __tablename__ = "user_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(256), default="")
    user: Mapped[User] = relationship()


Index("ix_login_failures_user", LoginFailure.username, LoginFailure.at)
Index("ix_login_failures_address", LoginFailure.address, LoginFailure.at)
Index("ix_users_role_county", User.role, User.county_id)
