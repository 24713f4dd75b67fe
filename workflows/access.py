"""Who may see and act on which cases and tasks.

Authority users see their county (the city admin sees everything); enterprise
users see their own enterprise's cases and the tasks addressed to enterprises.
Everything a caller may not see is reported as not found, never as forbidden,
so ids of other tenants' cases leak nothing.
"""
from sqlalchemy import Boolean, Integer, and_, bindparam, exists, false, or_, select, true

from models import ROLE_CITY_ADMIN, Case, EarlyWarning, Enterprise, Task, TaskCandidate

from .permissions import has_right, may_work
from .roles import ENTERPRISE, user_plays


def is_enterprise_user(user) -> bool:
    return user.enterprise_id is not None and user.role in ("enterprise_admin", "enterprise_staff")


def _area(user, model):
    """Rows that carry their enterprise and county: the city admin sees all, a county its own, an
    enterprise its own."""
    if user.role == ROLE_CITY_ADMIN:
        return true()
    if is_enterprise_user(user):
        return model.enterprise_id == user.enterprise_id
    if user.county_id is not None:
        return model.county_id == user.county_id
    return false()


def case_scope(user):
    """A WHERE clause selecting the cases ``user`` may see."""
    return _area(user, Case)


def warning_scope(user):
    """A WHERE clause selecting the early warnings ``user`` may see (the same rule as cases)."""
    return _area(user, EarlyWarning)


def task_scope(user):
    """A WHERE clause selecting the tasks ``user`` may see in queues."""
    if user.role == ROLE_CITY_ADMIN:
        return true()
    if is_enterprise_user(user):
        return and_(Task.enterprise_id == user.enterprise_id, Task.role == ENTERPRISE)
    if user.county_id is not None:
        return Task.county_id == user.county_id
    return false()


def group_queue(user):
    """Open tasks the user's role may pick up within the user's scope."""
    role = ENTERPRISE if is_enterprise_user(user) else user.role
    named = select(TaskCandidate.task_id).where(TaskCandidate.task_id == Task.id)
    return and_(task_scope(user), Task.role == role,
                or_(Task.assignee_id == user.id,
                    and_(Task.assignee_id.is_(None),
                         or_(~exists(named), exists(named.where(TaskCandidate.user_id == user.id))))))


def enterprise_scope(user):
    if user.role == ROLE_CITY_ADMIN:
        return Enterprise.id.isnot(None)
    if is_enterprise_user(user):
        return Enterprise.id == user.enterprise_id
    if user.county_id is not None:
        return Enterprise.county_id == user.county_id
    return false()


def can_see_enterprise(user, enterprise) -> bool:
    """``enterprise_scope`` for one enterprise in hand."""
    if user.role == ROLE_CITY_ADMIN:
        return True
    if is_enterprise_user(user):
        return enterprise.id == user.enterprise_id
    return user.county_id is not None and enterprise.county_id == user.county_id


def can_see_case(user, case) -> bool:
    if user.role == ROLE_CITY_ADMIN:
        return True
    if is_enterprise_user(user):
        return case.enterprise_id == user.enterprise_id
    return user.county_id is not None and case.county_id == user.county_id


# ``can_see_case`` as a clause of parameters (``visible_case_params`` gives their values), for a statement
# built once: ``case_scope`` writes the user's values into a statement built per request. A NULL value
# matches nothing.
VISIBLE_CASE = or_(bindparam("see_all", type_=Boolean()),
                   Case.enterprise_id == bindparam("see_enterprise", type_=Integer()),
                   Case.county_id == bindparam("see_county", type_=Integer()))


def visible_case_params(user) -> dict:
    if user.role == ROLE_CITY_ADMIN:
        return {"see_all": True, "see_enterprise": None, "see_county": None}
    if is_enterprise_user(user):
        return {"see_all": False, "see_enterprise": user.enterprise_id, "see_county": None}
    return {"see_all": False, "see_enterprise": None, "see_county": user.county_id}


def can_see_task(user, task) -> bool:
    if user.role == ROLE_CITY_ADMIN:
        return True
    if is_enterprise_user(user):
        return task.enterprise_id == user.enterprise_id and task.role == ENTERPRISE
    return user.county_id is not None and task.county_id == user.county_id


def can_work_task(user, task) -> bool:
    """Complete or claim: the task's role, the task's scope, the rights its kind needs, and not someone else's.

    A task naming candidate users is theirs to pick up; a supervisor can still assign it to anyone.
    """
    if not (can_see_task(user, task) and user_plays(user.role, task.role) and may_work(user, task)):
        return False
    if task.assignee_id is not None:
        return task.assignee_id == user.id
    named = task.candidate_ids
    return not named or user.id in named


def can_assign(user, task) -> bool:
    """Holders of tasks.assign (supervisors and the city admin by default) hand out the tasks of their area."""
    return has_right(user, "tasks.assign") and can_see_task(user, task)
