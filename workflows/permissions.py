"""Named rights (GB/T 22239 level 3: central, per-operator access control) and API key scopes.

A right says what kind of thing a user may do; where he may do it is the scope of his county or
enterprise (``workflows.access``), which no right widens. Each right lists the roles it can ever
apply to and the roles that hold it by default; the city admin grants or revokes it per user
(``models.permissions.UserRight``). Nothing is cached: every check reads the user's overrides as
loaded in the current session, so a change holds from the next request on.
"""
from dataclasses import dataclass

from models import (
    AUTHORITY_ROLES,
    ENTERPRISE_ROLES,
    ROLE_CITY_ADMIN,
    ROLE_COUNTY_SUPERVISOR,
    ROLE_ENTERPRISE_ADMIN,
    ROLES,
)


@dataclass(frozen=True)
class Right:
    key: str
    description: str
    roles: tuple[str, ...]  # the roles it can apply to at all (granting it to another role does nothing)
    default: tuple[str, ...]  # the roles holding it unless revoked


CITY_ONLY = (ROLE_CITY_ADMIN,)
SUPERVISORS = (ROLE_CITY_ADMIN, ROLE_COUNTY_SUPERVISOR)

CATALOGUE = (
    Right("cases.start", "Open cases of the processes the role may start", ROLES, ROLES),
    Right("cases.comment", "Comment on cases and attach files to them", ROLES, ROLES),
    Right("tasks.work", "Claim and complete the tasks of the role", ROLES, ROLES),
    Right("tasks.assign", "Assign and release other users' tasks, set their follow-up dates",
          (*AUTHORITY_ROLES, ROLE_ENTERPRISE_ADMIN), SUPERVISORS),
    Right("tasks.delegate", "Hand a task of one's own to another user who may work it (委托), keeping sight of it",
          AUTHORITY_ROLES, AUTHORITY_ROLES),
    Right("cases.control", "Cancel, suspend and resume running cases of the user's area", SUPERVISORS, SUPERVISORS),
    Right("cases.transfer", "Transfer a running case of the user's area to another county", SUPERVISORS, SUPERVISORS),
    Right("cases.migrate", "Move running cases to a newer version of their process model", CITY_ONLY, CITY_ONLY),
    Right("penalty.approve", "Approve penalty decisions", SUPERVISORS, SUPERVISORS),
    Right("data.review", "Review data reported by enterprises", SUPERVISORS, (ROLE_COUNTY_SUPERVISOR,)),
    Right("data.submit", "Report and correct the enterprise's data", ENTERPRISE_ROLES, ENTERPRISE_ROLES),
    Right("data.personal", "See personal data (ID numbers, phones) in clear", ROLES,
          (*SUPERVISORS, ROLE_ENTERPRISE_ADMIN)),
    Right("readings.submit", "Send monitoring readings", ROLES, ROLES),
    Right("warnings.handle", "Dispose of and confirm warnings",
          (ROLE_COUNTY_SUPERVISOR, *ENTERPRISE_ROLES), (ROLE_COUNTY_SUPERVISOR, *ENTERPRISE_ROLES)),
    Right("map.view", "See the map", AUTHORITY_ROLES, AUTHORITY_ROLES),
    Right("models.manage", "Upload process models and decision tables", CITY_ONLY, CITY_ONLY),
    Right("templates.manage", "Upload checklist templates", CITY_ONLY, CITY_ONLY),
    Right("thresholds.manage", "Edit the monitoring threshold rules", CITY_ONLY, CITY_ONLY),
    Right("users.manage", "Manage user accounts, their rights and API keys", CITY_ONLY, CITY_ONLY),
    Right("enterprises.manage", "Register, edit and deactivate gas enterprises of the user's area",
          SUPERVISORS, SUPERVISORS),
    Right("certificates.revoke", "Revoke certificates of the user's area", SUPERVISORS, SUPERVISORS),
    Right("grades.publish", "Approve and publish the enterprises' quarterly credit grades", CITY_ONLY, CITY_ONLY),
    Right("regions.manage", "Add county-level units to the city (GB/T 2260 codes)", CITY_ONLY, CITY_ONLY),
    Right("staff.manage", "Create and deactivate the enterprise's own staff accounts",
          (ROLE_ENTERPRISE_ADMIN,), (ROLE_ENTERPRISE_ADMIN,)),
    Right("channels.manage", "Configure the group robots that notifications go to and watch their outbox",
          CITY_ONLY, CITY_ONLY),
    Right("audit.view", "Read, search and export the audit trail; edit its alert rules", CITY_ONLY, CITY_ONLY),
    Right("info.publish", "Write, publish and withdraw industry information of the user's area",
          SUPERVISORS, SUPERVISORS),
    Right("reports.view", "See the dashboard, the statistics and the enforcement ledgers of the user's area",
          AUTHORITY_ROLES, AUTHORITY_ROLES),
    Right("reports.export", "Export the dashboard, the statistics and the ledgers to Excel",
          AUTHORITY_ROLES, AUTHORITY_ROLES),
)
RIGHTS = {r.key: r for r in CATALOGUE}

# Tasks whose form is a decision of its own kind need that right besides tasks.work.
TASK_RIGHTS = {
    "penalty_approve": "penalty.approve",
    "data_review": "data.review",
    "data_correct": "data.submit",
    "data_batch": "data.submit",
    "warning_confirm": "warnings.handle",
    "warning_dispose": "warnings.handle",
}

# API key scopes: what a token may be used for, each available to users holding one of its rights
# (none listed: every user). A token never does more than its user's rights allow at the time of use.
SCOPES = {
    "read": (),
    "notifications:write": (),
    "cases:write": ("cases.start", "cases.comment", "cases.control", "cases.transfer", "cases.migrate"),
    "tasks:write": ("tasks.work", "tasks.assign", "tasks.delegate"),
    "data:submit": ("data.submit",),
    "readings:write": ("readings.submit",),
    "models:write": ("models.manage", "templates.manage"),
    "thresholds:write": ("thresholds.manage",),
    "enterprises:write": ("enterprises.manage",),
}


def overrides(user) -> dict[str, bool]:
    """The user's grants (True) and revocations (False), as loaded in the caller's session."""
    return {o.right: o.granted for o in getattr(user, "right_overrides", None) or ()}


def role_default(role: str, key: str) -> bool:
    right = RIGHTS[key]
    return role in right.roles and role in right.default


def has_right(user, key: str) -> bool:
    """May ``user`` do the kind of thing ``key`` names (inside his own scope)? Unknown keys are a bug."""
    right = RIGHTS[key]
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "active", False):
        return False
    if user.role not in right.roles:
        return False
    granted = overrides(user).get(key)
    return granted if granted is not None else user.role in right.default


def rights_of(user) -> list[str]:
    return [r.key for r in CATALOGUE if has_right(user, r.key)]


def grantable(role: str) -> list[Right]:
    """The rights that can apply to a user of ``role``: what the rights editor offers."""
    return [r for r in CATALOGUE if role in r.roles]


def may_work(user, task) -> bool:
    """The rights side of working a task: tasks.work, and the right its kind of decision needs."""
    needed = TASK_RIGHTS.get(task.form_key or "")
    return has_right(user, "tasks.work") and (needed is None or has_right(user, needed))


def may_start(user, meta: dict) -> bool:
    """The start check: may ``user`` open a case of the process model whose ``meta`` this is? His role is
    among the model's candidate starters and he holds cases.start. (Whether a person opens it at all,
    through a start form, is the model's ``start_form``.)"""
    return user.role in meta.get("starters", ()) and has_right(user, "cases.start")


def scope_allowed(user, scope: str) -> bool:
    needed = SCOPES[scope]
    return bool(user is not None and getattr(user, "active", False)) and (
        not needed or any(has_right(user, r) for r in needed))


def allowed_scopes(user) -> list[str]:
    """The scopes a key of ``user`` may carry, in catalogue order."""
    return [s for s in SCOPES if scope_allowed(user, s)]


def role_scopes(role: str) -> list[str]:
    """The scopes a role's defaults allow (what tokens made before scopes existed receive)."""
    return [s for s, needed in SCOPES.items() if not needed or any(role_default(role, r) for r in needed)]
