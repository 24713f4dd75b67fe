"""SQLAlchemy models. Plain SQLAlchemy: the engine uses them without Flask."""
from .base import Base, utcnow
from .case import (
    CASE_ACTIVE,
    CASE_CANCELLED,
    CASE_COMPLETED,
    TASK_CANCELLED,
    TASK_COMPLETED,
    TASK_OPEN,
    Attachment,
    Case,
    CaseEvent,
    ProcessModel,
    Task,
)
from .org import (
    AUTHORITY_ROLES,
    CITY,
    COUNTY,
    ENTERPRISE_KINDS,
    ENTERPRISE_ROLES,
    ROLE_CITY_ADMIN,
    ROLE_COUNTY_SUPERVISOR,
    ROLE_ENTERPRISE_ADMIN,
    ROLE_ENTERPRISE_STAFF,
    ROLE_INSPECTOR,
    ROLES,
    ApiToken,
    Enterprise,
    Region,
    Setting,
    User,
)

__all__ = [name for name in dir() if not name.startswith("_")]
