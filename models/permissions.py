"""Per-operator rights: grants and revocations on top of the role's defaults (workflows.permissions)."""
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .org import User
from .types import UTCDateTime


class UserRight(Base):
    """One right set for one user: granted (True) or revoked (False); no row means the role's default."""

    __tablename__ = "user_rights"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    right: Mapped[str] = mapped_column(String(48), primary_key=True)
    granted: Mapped[bool] = mapped_column(Boolean)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# Loaded with the user in each request's session (never cached across requests), so a change made by
# the city admin holds from the next request on.
User.right_overrides = relationship(UserRight, foreign_keys=[UserRight.user_id], cascade="all, delete-orphan",
                                    lazy="select")
