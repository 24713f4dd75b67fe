"""Who may see and act on which cases and tasks.

Authority users see their county (the city admin sees everything); enterprise
users see their own enterprise's cases and the tasks addressed to enterprises.
Everything a caller may not see is reported as not found, never as forbidden,
so ids of other tenants' cases leak nothing.
"""
from dataclasses import dataclass

from sqlalchemy import Boolean, Integer, and_, bindparam, exists, false, or_, select, true

from models import ENTERPRISE_ROLES, ROLE_CITY_ADMIN, Case, EarlyWarning, Enterprise, Task, TaskCandidate

from .permissions import has_right, may_work
from .roles import ENTERPRISE, user_plays


def is_enterprise_user(user) -> bool:
    return user.enterprise_id is not None and user.role in ("enterprise_admin", "enterprise_staff")


@dataclass(frozen=True)
class Area:
    """What a user sees, the one rule every scope below applies: the city admin everything, an enterprise's
    people their enterprise, the authority's people their county; anyone else (no county) nothing."""
    everything: bool = False
    enterprise_id: int | None = None
    county_id: int | None = None

    def holds(self, enterprise_id, county_id) -> bool:
        """Whether a row of ``enterprise_id`` in ``county_id`` is in the area."""
        return self.everything or (self.enterprise_id is not None and enterprise_id == self.enterprise_id) \
            or (self.county_id is not None and county_id == self.county_id)

    def clause(self, enterprise_column, county_column):
        """``holds`` as a WHERE clause over the two columns."""
        if self.everything:
            return true()
        if self.enterprise_id is not None:
            return enterprise_column == self.enterprise_id
        if self.county_id is not None:
            return county_column == self.county_id
        return false()


def area_of(user) -> Area:
    if user.role == ROLE_CITY_ADMIN:
        return Area(everything=True)
    if user.role in ENTERPRISE_ROLES:
        # An enterprise's account is of its enterprise only: one that names none (left so by a change of the
        # register) sees nothing, not the county its record may still carry.
        return Area(enterprise_id=user.enterprise_id)
    return Area(county_id=user.county_id)


def case_scope(user):
    """A WHERE clause selecting the cases ``user`` may see."""
    return area_of(user).clause(Case.enterprise_id, Case.county_id)


def warning_scope(user):
    """A WHERE clause selecting the early warnings ``user`` may see (the same rule as cases)."""
    return area_of(user).clause(EarlyWarning.enterprise_id, EarlyWarning.county_id)


def task_scope(user):
    """A WHERE clause selecting the tasks ``user`` may see in queues: an enterprise's people only the tasks
    addressed to enterprises."""
    area = area_of(user)
    clause = area.clause(Task.enterprise_id, Task.county_id)
    return and_(clause, Task.role == ENTERPRISE) if area.enterprise_id is not None else clause


def group_queue(user):
    """Open tasks the user's role may pick up within the user's scope."""
    role = ENTERPRISE if is_enterprise_user(user) else user.role
    named = select(TaskCandidate.task_id).where(TaskCandidate.task_id == Task.id)
    return and_(task_scope(user), Task.role == role,
                or_(Task.assignee_id == user.id,
                    and_(Task.assignee_id.is_(None),
                         or_(~exists(named), exists(named.where(TaskCandidate.user_id == user.id))))))


def enterprise_scope(user):
    area = area_of(user)
    return Enterprise.id.isnot(None) if area.everything else area.clause(Enterprise.id, Enterprise.county_id)


def can_see_enterprise(user, enterprise) -> bool:
    """``enterprise_scope`` for one enterprise in hand."""
    return area_of(user).holds(enterprise.id, enterprise.county_id)


def can_see_case(user, case) -> bool:
    return area_of(user).holds(case.enterprise_id, case.county_id)


# ``can_see_case`` as a clause of parameters (``visible_case_params`` gives their values), for a statement
# built once: ``case_scope`` writes the user's values into a statement built per request. A NULL value
# matches nothing.
VISIBLE_CASE = or_(bindparam("see_all", type_=Boolean()),
                   Case.enterprise_id == bindparam("see_enterprise", type_=Integer()),
                   Case.county_id == bindparam("see_county", type_=Integer()))


def visible_case_params(user) -> dict:
    area = area_of(user)
    return {"see_all": area.everything, "see_enterprise": area.enterprise_id, "see_county": area.county_id}


def can_see_task(user, task) -> bool:
    area = area_of(user)
    return area.holds(task.enterprise_id, task.county_id) and (area.enterprise_id is None or task.role == ENTERPRISE)


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
