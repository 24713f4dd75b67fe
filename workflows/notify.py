"""Who hears about what: notification rows written in the transaction that caused them.

The web layer shows unread ones (at login and in the header); a job mails them when SMTP is set.
"""
from datetime import datetime

from sqlalchemy import or_, select

from models import ROLE_CITY_ADMIN, ROLE_COUNTY_SUPERVISOR, ROLE_INSPECTOR, Notification, Task, TaskCandidate, User

from .roles import ENTERPRISE

TASK_CREATED, TASK_ASSIGNED, TASK_OVERDUE, MESSAGE = "task_created", "task_assigned", "task_overdue", "message"


def enterprise_users(s, enterprise_id: int | None) -> list[int]:
    if enterprise_id is None:
        return []
    return list(s.scalars(select(User.id).where(User.enterprise_id == enterprise_id, User.active.is_(True))))


# Whom a model's ``notify.authority`` message reaches: the county's supervisor and inspectors, its
# supervisor only, or the city.
AUTHORITY_AUDIENCES = {"county": (ROLE_COUNTY_SUPERVISOR, ROLE_INSPECTOR), "supervisor": (ROLE_COUNTY_SUPERVISOR,),
                       "city": (ROLE_CITY_ADMIN,)}


def authority_users(s, audience: str, county_id: int | None) -> list[int]:
    """The active authority users of ``audience`` (a key of AUTHORITY_AUDIENCES) for a county."""
    roles = AUTHORITY_AUDIENCES[audience]
    where = [User.role.in_(roles), User.active.is_(True)]
    if audience != "city":
        if county_id is None:
            return []
        where.append(User.county_id == county_id)
    return list(s.scalars(select(User.id).where(*where).order_by(User.id)))


def task_audience(s, row: Task, named: list[int] | None = None) -> list[int]:
    """The assignee; else the named candidates; else everyone who may pick the task up.

    ``named``: the candidates when the caller has just made them (saves reading them back)."""
    if row.assignee_id:
        return [row.assignee_id]
    if named is None:
        named = list(s.scalars(select(TaskCandidate.user_id).where(TaskCandidate.task_id == row.id)))
    if named:
        return named
    if row.role == ENTERPRISE:
        return enterprise_users(s, row.enterprise_id)
    where = [User.role == row.role, User.active.is_(True)]
    if row.role != ROLE_CITY_ADMIN:
        where.append(or_(User.county_id == row.county_id, User.county_id.is_(None)) if row.county_id is None
                     else User.county_id == row.county_id)
    return list(s.scalars(select(User.id).where(*where)))


def add(s, user_ids, kind: str, now: datetime, case_id=None, task_id=None, text: str = "") -> None:
    for user_id in dict.fromkeys(user_ids):
        s.add(Notification(user_id=user_id, kind=kind, case_id=case_id, task_id=task_id,
                           text=(text or "")[:512], created_at=now))


def task_created(s, row: Task, now: datetime, named: list[int] | None = None) -> None:
    add(s, task_audience(s, row, named), TASK_CREATED, now, row.case_id, row.id, row.title)


def task_assigned(s, row: Task, now: datetime) -> None:
    add(s, [row.assignee_id], TASK_ASSIGNED, now, row.case_id, row.id, row.title)


def task_overdue(s, row: Task, now: datetime) -> None:
    add(s, task_audience(s, row), TASK_OVERDUE, now, row.case_id, row.id, row.title)
    row.overdue_notified_at = now
