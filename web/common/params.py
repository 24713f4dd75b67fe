"""Numbers from URLs (ids, pages, filters), read one way everywhere, and the page of a list they pick.

``str.isdigit`` accepts characters such as "²" that ``int`` refuses, and an unbounded number
overflows the database's integer columns; both used to end as a 500. Only ASCII digits, at most
nine of them (below 2**31, PostgreSQL's integer), are numbers here.
"""
import re

from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter

_SMALL_INT = re.compile(r"[0-9]{1,9}")
_DIGITS = re.compile(r"[0-9]{1,10}")
MAX_ID = 2**31 - 1


def small_int(value) -> int | None:
    if isinstance(value, str) and _SMALL_INT.fullmatch(value):
        return int(value)
    return None


def json_id(value) -> int | None:
    """An id in a JSON body: an integer (not a boolean) from 1 to MAX_ID; None for anything else, which
    names no row, and a larger one would overflow the database's integer column (a 500)."""
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID:
        return value
    return None


def whole_number(value, minimum: int = 1, maximum: int = MAX_ID) -> int | None:
    """The number ``value`` spells in ASCII digits, if it lies in [minimum, maximum]; else None.
    Ids and pages start at 1, and PostgreSQL's integer ends at 2**31 - 1."""
    if isinstance(value, str) and _DIGITS.fullmatch(value) and minimum <= int(value) <= maximum:
        return int(value)
    return None


def range_message(minimum: int = 1, maximum: int = MAX_ID) -> str:
    from flask_babel import gettext as _

    return _("Must be a whole number from %(min)s to %(max)s.", min=minimum, max=maximum)


class IdConverter(IntegerConverter):
    """``<int:...>`` in routes: an id larger than any row can have is simply not found (404)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def page_number(args) -> int:
    """The ``page`` argument of a list page: 1 when absent or not a number, at most a million (the
    offset stays far inside a 64-bit integer)."""
    return min(small_int(args.get("page", "1")) or 1, 10**6)


def page_of(session, stmt, per_page: int, page: int) -> tuple[list, int]:
    """One page of ``stmt`` (ordered by the caller) and the count of all its rows."""
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    return session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all(), total
