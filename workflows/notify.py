"""Who hears about what: notification rows written in the transaction that caused them.

The web layer shows unread ones (at login and in the header); a job mails them when SMTP is set.
The same transaction writes the other channels' outbox rows (models/delivery.py): an SMS for each user
who chose SMS for the notification's category and gave a mobile number, and one message for each
group robot of an area whose authority people are told, so nothing is lost between event and send.
"""
from datetime import datetime

from sqlalchemy import and_, bindparam, insert, select

from models import (
    AUTHORITY_ROLES,
    CHANNEL_SMS,
    ROLE_CITY_ADMIN,
    ROLE_COUNTY_SUPERVISOR,
    ROLE_INSPECTOR,
    Case,
    Delivery,
    NotificationRobot,
    Task,
    TaskCandidate,
    User,
)

from . import held_rows
from .roles import ENTERPRISE

TASK_CREATED, TASK_ASSIGNED, TASK_OVERDUE, MESSAGE = "task_created", "task_assigned", "task_overdue", "message"

# What a person chooses channels for. Level-1 warnings and overdue penalties go by SMS unless the
# person turns it off; everything goes by mail unless turned off (mail needs an address, SMS a number).
CATEGORIES = ("task", "overdue", "overdue_penalty", "warning_l1", "message")
MAIL, SMS = "mail", CHANNEL_SMS
DEFAULT_CHANNELS = {"task": (MAIL,), "overdue": (MAIL,), "overdue_penalty": (MAIL, SMS),
                    "warning_l1": (MAIL, SMS), "message": (MAIL,)}


def category_of(kind: str, case: Case | None) -> str:
    """The category a notification belongs to, from its kind and its case."""
    # A warning case without a level is of a model that opens cases for level-1 warnings only.
    if case is not None and case.process_key == "warning" and str((case.data or {}).get("level", 1)) == "1":
        return "warning_l1"
    if kind == TASK_OVERDUE:
        return "overdue_penalty" if case is not None and case.process_key == "penalty" else "overdue"
    if kind in (TASK_CREATED, TASK_ASSIGNED):
        return "task"
    return "message"


def chosen_channels(user_choice: dict | None, category: str) -> tuple[str, ...]:
    """The channels a user gets a category by: the user's own choice, else the default."""
    if isinstance(user_choice, dict) and isinstance(user_choice.get(category), list):
        return tuple(c for c in user_choice[category] if c in (MAIL, SMS))
    return DEFAULT_CHANNELS.get(category, (MAIL,))


def enterprise_users(s, enterprise_id: int | None) -> list[int]:
    if enterprise_id is None:
        return []
    return list(s.scalars(select(User.id).where(User.enterprise_id == enterprise_id, User.active.is_(True))))


# Whom a model's ``notify.authority`` message reaches: the county's supervisor and inspectors, its
# supervisor only, the inspector in charge of the case (else the county's inspectors), or the city.
AUTHORITY_AUDIENCES = {"county": (ROLE_COUNTY_SUPERVISOR, ROLE_INSPECTOR), "supervisor": (ROLE_COUNTY_SUPERVISOR,),
                       "inspector": (ROLE_INSPECTOR,), "city": (ROLE_CITY_ADMIN,)}


def authority_users(s, audience: str, county_id: int | None, in_charge: int | None = None) -> list[int]:
    """The active authority users of ``audience`` (a key of AUTHORITY_AUDIENCES) for a county;
    ``in_charge``: the user who opened the case, the one inspector told when the audience is "inspector"."""
    if audience == "inspector" and in_charge is not None:
        return [in_charge]
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
    told, params = _audience(s, row, named)
    if told is _TOLD_BY_ID:
        return params["ids"]
    return list(dict.fromkeys(user_id for user_id, *_rest in s.execute(told, params)))


def _audience(s, row: Task, named: list[int] | None) -> tuple:
    """task_audience's people as the statement reading them with what they are told by (one of _TOLD_*),
    and its parameters."""
    if row.assignee_id:
        return _TOLD_BY_ID, {"ids": [row.assignee_id]}
    if named is None:
        named = list(s.scalars(select(TaskCandidate.user_id).where(TaskCandidate.task_id == row.id)))
    if named:
        return _TOLD_BY_ID, {"ids": named}
    if row.role == ENTERPRISE:
        if row.enterprise_id is None:
            return _TOLD_BY_ID, {"ids": []}
        return _TOLD_OF_ENTERPRISE, {"enterprise_id": row.enterprise_id}
    if row.role == ROLE_CITY_ADMIN:
        return _TOLD_OF_ROLE, {"role": row.role}
    if row.county_id is None:
        return _TOLD_OF_ROLE_WITHOUT_COUNTY, {"role": row.role}
    return _TOLD_OF_ROLE_IN_COUNTY, {"role": row.role, "county_id": row.county_id}


def add(s, user_ids, kind: str, now: datetime, case_id=None, task_id=None, text: str = "",
        category: str | None = None) -> None:
    ids = [u for u in dict.fromkeys(user_ids) if u is not None]
    _tell(s, _TOLD_BY_ID, {"ids": ids}, kind, now, case_id, task_id, text, category)


def _tell(s, told, params: dict, kind: str, now: datetime, case_id, task_id, text: str,
          category: str | None) -> None:
    """Notify the people ``told`` (a _TOLD_* statement) reads with ``params``, and their areas' robots."""
    if told is _TOLD_BY_ID and not params["ids"]:
        return
    # On the session's connection, after the flush Session.execute would do: a read of plain columns, for
    # which the ORM's execution path cost more than the statement.
    s.flush()
    rows = s.connection().execute(told, params).all()
    if not rows:
        return
    text = (text or "")[:512]
    if category is None:
        category = category_of(kind, s.get(Case, case_id) if case_id is not None else None)
    notes, deliveries, robots, seen = [], [], {}, set()
    for user_id, _role, _county, mobile, choice, robot_id, robot_channel, robot_categories in rows:
        if robot_id is not None:
            robots[robot_id] = (robot_channel, robot_categories)
        if user_id in seen:  # a row per robot of the user's area
            continue
        seen.add(user_id)
        channels = chosen_channels(choice, category)
        notes.append({"user_id": user_id, "kind": kind, "case_id": case_id, "task_id": task_id, "text": text,
                      "created_at": now, "mail": MAIL in channels})
        if SMS in channels and mobile:
            deliveries.append(_delivery(SMS, category, case_id, task_id, text, now, user_id=user_id))
    # One message per group robot whose area has authority people among those told.
    for robot_id, (channel, categories) in sorted(robots.items()):
        if category in (categories or ()):
            deliveries.append(_delivery(channel, category, case_id, task_id, text, now, robot_id=robot_id))
    # Inserted by Core statements (the notifications, the outbox): nothing reads them back in the
    # transaction that writes them, and the ORM's unit of work cost more than the INSERT (the rows they
    # name, a case and its task, are in the database by now). A transition holds the notifications for
    # its end, with its history (workflows/held_rows.py).
    held_rows.held_or_written(s, "notifications", notes)
    if deliveries:
        s.execute(_DELIVERIES, deliveries)


def _told(*where):
    """The people ``where`` picks (in id order), each with the active group robots of his area when he is
    of the authority (a row per robot, none: NULLs), read by one statement instead of one for the people
    and one for the robots. An area is a county, or none (the city's): a robot of no region is the city's."""
    return (select(User.id, User.role, User.county_id, User.mobile, User.notify_channels,
                   NotificationRobot.id, NotificationRobot.channel, NotificationRobot.categories)
            .outerjoin(NotificationRobot, and_(NotificationRobot.active.is_(True), User.role.in_(AUTHORITY_ROLES),
                                               NotificationRobot.region_id.is_not_distinct_from(User.county_id)))
            .where(*where).order_by(User.id, NotificationRobot.id))


# Built once (building a statement costs SQLAlchemy more than running it): by ids, and task_audience's
# queues (an enterprise's staff; a role's people, city-wide for city admins, else of the task's county).
_TOLD_BY_ID = _told(User.id.in_(bindparam("ids", expanding=True)))
_TOLD_OF_ENTERPRISE = _told(User.enterprise_id == bindparam("enterprise_id"), User.active.is_(True))
_TOLD_OF_ROLE = _told(User.role == bindparam("role"), User.active.is_(True))
_TOLD_OF_ROLE_WITHOUT_COUNTY = _told(User.role == bindparam("role"), User.active.is_(True), User.county_id.is_(None))
_TOLD_OF_ROLE_IN_COUNTY = _told(User.role == bindparam("role"), User.active.is_(True),
                                User.county_id == bindparam("county_id"))
_DELIVERIES = insert(Delivery.__table__)


def _delivery(channel, category, case_id, task_id, text, now, user_id=None, robot_id=None) -> dict:
    return {"channel": channel, "category": category, "user_id": user_id, "robot_id": robot_id, "case_id": case_id,
            "task_id": task_id, "text": text, "created_at": now, "next_attempt_at": now}


def task_created(s, row: Task, now: datetime, named: list[int] | None = None, text: str | None = None) -> None:
    """``text``: what the notice says beyond the task's name (why it came back), else the name."""
    # The audience and what it is told by, read in one statement (not its ids first).
    _tell(s, *_audience(s, row, named), TASK_CREATED, now, row.case_id, row.id, text or row.title, None)


def task_assigned(s, row: Task, now: datetime) -> None:
    add(s, [row.assignee_id], TASK_ASSIGNED, now, row.case_id, row.id, row.title)


def task_overdue(s, row: Task, now: datetime) -> None:
    _tell(s, *_audience(s, row, None), TASK_OVERDUE, now, row.case_id, row.id, row.title, None)
    row.overdue_notified_at = now
