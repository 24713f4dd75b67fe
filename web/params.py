"""Numbers from URLs (ids, pages, filters), read one way everywhere.

``str.isdigit`` accepts characters such as "²" that ``int`` refuses, and an unbounded number
overflows the database's integer columns; both used to end as a 500. Only ASCII digits, at most
nine of them (below 2**31, PostgreSQL's integer), are numbers here.
"""
import re

from werkzeug.routing import IntegerConverter

_SMALL_INT = re.compile(r"[0-9]{1,9}")
MAX_ID = 2**31 - 1


def small_int(value) -> int | None:
    if isinstance(value, str) and _SMALL_INT.fullmatch(value):
        return int(value)
    return None


class IdConverter(IntegerConverter):
    """``<int:...>`` in routes: an id larger than any row can have is simply not found (404)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)
