"""Filters of the authority portal's statistics, ledgers and exports, read once from query arguments.

Every value is checked here and a bad one raises ``InvalidInput`` naming the field, so a typo in a
URL is a clear 400 and never reaches the database. A county or enterprise outside the caller's area
is refused the same way as one that does not exist: the filters narrow the caller's scope, they
never widen it.
"""
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, select

from models import ROLE_CITY_ADMIN, Enterprise, Region
from workflows import access
from workflows.errors import Forbidden, InvalidInput

MAX_SPAN_DAYS = 3660  # ten years: a chart over more days than that is a mistake, not a question
MAX_TEXT = 100
STATUSES = ("active", "completed", "cancelled")


@dataclass(frozen=True)
class ReportFilters:
    date_from: date | None = None
    date_to: date | None = None
    county_id: int | None = None
    enterprise_id: int | None = None
    q: str = ""
    status: str = ""

    @property
    def start(self) -> datetime | None:
        """The first instant of ``date_from`` (UTC), for timestamp columns."""
        return datetime.combine(self.date_from, time.min, UTC) if self.date_from else None

    @property
    def end(self) -> datetime | None:
        """The instant after ``date_to`` ends (UTC): ranges are inclusive of their last day."""
        return datetime.combine(self.date_to + timedelta(days=1), time.min, UTC) if self.date_to else None

    def as_args(self) -> dict:
        """The filters as query arguments again (for pagination and export links)."""
        out = {"date_from": self.date_from.isoformat() if self.date_from else "",
               "date_to": self.date_to.isoformat() if self.date_to else "",
               "county": self.county_id or "", "enterprise": self.enterprise_id or "", "q": self.q,
               "status": self.status}
        return {k: v for k, v in out.items() if v not in ("", None)}


def require_authority(user) -> None:
    """Statistics and ledgers are the regulator's: enterprise users are refused."""
    if access.is_enterprise_user(user) or (user.role != ROLE_CITY_ADMIN and user.county_id is None):
        raise Forbidden("only the supervising authorities see statistics and ledgers")


def _date(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{field} is not a date", {field: ["Not a date (YYYY-MM-DD)."]}) from None


def _id(value: str, field: str) -> int | None:
    if not value:
        return None
    if not (value.isascii() and value.isdigit() and len(value) <= 9):
        raise InvalidInput(f"{field} is not an id", {field: ["Not a valid id."]})
    return int(value)


def parse_filters(session, user, args) -> ReportFilters:
    """``args`` is any mapping of query arguments (``date_from``, ``date_to``, ``county``, ``enterprise``,
    ``q``, ``status``)."""
    get = lambda name: (args.get(name) or "").strip()  # noqa: E731
    date_from, date_to = _date(get("date_from"), "date_from"), _date(get("date_to"), "date_to")
    if date_from and date_to:
        if date_from > date_to:
            raise InvalidInput("date_from is after date_to", {"date_to": ["Must not be before the start date."]})
        if (date_to - date_from).days > MAX_SPAN_DAYS:
            raise InvalidInput("the date range is too long", {"date_to": ["At most ten years."]})
    county_id = _id(get("county"), "county")
    if county_id is not None:
        allowed = session.scalar(select(Region.id).where(Region.id == county_id, Region.level == "county"))
        if allowed is None or (user.role != ROLE_CITY_ADMIN and county_id != user.county_id):
            raise InvalidInput("unknown county", {"county": ["Unknown county."]})
    enterprise_id = _id(get("enterprise"), "enterprise")
    if enterprise_id is not None:
        found = session.scalar(select(Enterprise.id).where(and_(Enterprise.id == enterprise_id,
                                                               access.enterprise_scope(user))))
        if found is None:
            raise InvalidInput("unknown enterprise", {"enterprise": ["Unknown enterprise."]})
    q = get("q")
    if len(q) > MAX_TEXT:
        raise InvalidInput("search text too long", {"q": [f"At most {MAX_TEXT} characters."]})
    status = get("status")
    if status and status not in STATUSES:
        raise InvalidInput("unknown status", {"status": ["Unknown status."]})
    return ReportFilters(date_from, date_to, county_id, enterprise_id, q, status)


def counties_in_scope(session, user) -> list[tuple[int, str]]:
    stmt = select(Region.id, Region.name).where(Region.level == "county").order_by(Region.code)
    if user.role != ROLE_CITY_ADMIN:
        stmt = stmt.where(Region.id == user.county_id)
    return [(r.id, r.name) for r in session.execute(stmt)]


def enterprises_in_scope(session, user) -> list[tuple[int, str]]:
    stmt = select(Enterprise.id, Enterprise.name).where(access.enterprise_scope(user)).order_by(Enterprise.name)
    return [(r.id, r.name) for r in session.execute(stmt)]
