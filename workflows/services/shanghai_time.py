"""Days, months and instants on the Shanghai calendar, as the measures and the reporting limits count them."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def add_months(first: date, months: int) -> date:
    n = first.year * 12 + first.month - 1 + months
    return date(n // 12, n % 12 + 1, 1)


def instant(day: date) -> datetime:
    """Midnight at the start of ``day``, Shanghai time."""
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)


