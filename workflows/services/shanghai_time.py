"""Days, months and instants on the Shanghai calendar, as the measures and the reporting limits count them."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

from workflows.engine import clock

SHANGHAI = ZoneInfo("Asia/Shanghai")


def today() -> date:
    """Today on the Shanghai calendar, by the engine's clock (the instant a test sets, else the real time)."""
    return day_of(clock.now())


def day_of(moment: datetime) -> date:
    """The day on the Shanghai calendar that ``moment`` falls on."""
    return moment.astimezone(SHANGHAI).date()


def add_months(first: date, months: int) -> date:
    n = first.year * 12 + first.month - 1 + months
    return date(n // 12, n % 12 + 1, 1)


def instant(day: date) -> datetime:
    """Midnight at the start of ``day``, Shanghai time."""
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)


