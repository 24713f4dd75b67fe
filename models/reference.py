"""What a transition reads every time and people change rarely (the working calendar's adjustments, the
decision tables' versions) is kept by each process; this one row says whether it is still what the
database holds."""
from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class ReferenceRevision(Base):
    """One row (id 1). ``token`` is new, random, in the same transaction as every write to
    ``calendar_adjustments`` or ``decision_models`` (``workflows.reference_cache``). Random rather than a
    counter: a database restored from a backup, or a test's fresh copy, may hold other rows under a counter's
    old value, while a token names one state of those tables wherever it is found."""

    __tablename__ = "reference_revision"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(32))
