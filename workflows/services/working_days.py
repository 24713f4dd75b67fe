"""The working-day calendar: one place that says whether a day is a working day and where a period
counted in hours, days or working days ends.

Public holidays and the make-up working days (调休) are published each year by the General Office of
the State Council; the ``chinese-calendar`` package carries them (kept current by its maintainers,
one release a year when the notice comes out). The city admin lays local adjustments over it
(``calendar_adjustments``: a day declared working, or off). For a year the package does not know yet,
Monday to Friday are working days except the public holidays on fixed dates (1 January, 1-2 May, 1-3
October): logged once, so an out-of-date package is seen.

API (other lifecycles use the same):

- ``load(session) -> WorkingCalendar``: the national calendar with the city's adjustments.
- ``WorkingCalendar.is_working_day(day)``.
- ``WorkingCalendar.add_working_days(start, n)``: the end (23:59:59 Beijing time) of the n-th working
  day after the day of ``start``; ``n = 0`` is the end of ``start``'s day if that is a working day,
  else of the next working day.
- ``WorkingCalendar.period_end(start, amount, unit)``: ``unit`` is ``hours`` (calendar hours from
  ``start``), ``days`` or ``working_days``. ``days`` is a period in calendar days as Chinese law counts
  it (Civil Code arts. 201-203, Civil Procedure Law art. 85, and the administrative procedure rules that
  repeat them): the day of ``start`` is not counted, the period ends at 24:00 (23:59:59 Beijing time) of
  its n-th day, and when that day is a statutory rest day or holiday, at the end of the first working day
  after it (on this calendar, so the city's adjustments count too). ``days = 0`` is the end of
  ``start``'s day, rolled the same way.
- ``WorkingCalendar.working_days_between(start, end)``: working days after ``start``'s day up to
  and including ``end``'s.
- ``resumed_end(session, end, kind, suspended_at, resumed_at, counted_from)``: where a period's end moves when
  its suspended case resumes (installed as the engine's rule for resuming), and ``resumed_start(start, unit,
  suspended_at, resumed_at)``, where the start that period was counted from moves with it.
- ``covered_until()``: the last year the package knows.
- ``period_end(session, start, amount, unit)`` and ``add_working_days(session, start, n)``: the same
  with the calendar loaded from ``session``.

Models use ``add_working_days(instant, n)`` and ``add_period(instant, amount, unit)`` in scripts and
expressions: ``install()`` (called where the engine is built) hands the engine this calendar, read in
the running transition's session.
"""
import functools
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import CalendarAdjustment, Setting
from workflows import notify, reference_cache, transaction_memo
from workflows.engine import control, restricted
from workflows.engine.case_engine import transition_session
from workflows.errors import ModelRuntimeError

log = logging.getLogger(__name__)
LOCAL_TZ = ZoneInfo("Asia/Shanghai")
UNITS = ("hours", "days", "working_days")
MAX_AMOUNT = 3660  # ten years of days: a period beyond it is a mistake in a table, not a deadline
_warned_years: set[int] = set()
_kept = reference_cache.Kept()


# The public holidays the law fixes on calendar dates (全国年节及纪念日放假办法, 2024 revision, art. 2): New
# Year's Day, Labour Day (1-2 May) and National Day (1-3 October). The lunar ones (Spring Festival, Qingming,
# Dragon Boat, Mid-Autumn) and the year's make-up working days come with the State Council's notice.
FIXED_DATE_HOLIDAYS = frozenset({(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)})


# Kept per day: the package finds its first and last year by scanning all its holidays on every call,
# and a transition asks about a day several times (the deadline, its reminders, the form's check). A day's
# answer only changes with the package, that is with a new process.
@functools.lru_cache(maxsize=8192)
def _national_working_day(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            log.warning("chinese-calendar has no holidays for %s: counting Monday to Friday without the fixed-date "
                        "public holidays; update the package", day.year)
        # A year the package does not know yet: at least the holidays whose dates the law fixes are not
        # working days (a period would otherwise end on New Year's Day).
        return day.weekday() < 5 and (day.month, day.day) not in FIXED_DATE_HOLIDAYS


def _aware(value) -> datetime:
    value = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _end_of(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), LOCAL_TZ).astimezone(UTC)


@dataclass(frozen=True)
class WorkingCalendar:
    adjustments: dict = field(default_factory=dict)  # date -> bool (working)

    def is_working_day(self, day: date) -> bool:
        if day in self.adjustments:
            return self.adjustments[day]
        return _national_working_day(day)

    def add_working_days(self, start, days: int) -> datetime:
        days = int(days)
        if days < 0 or days > MAX_AMOUNT:
            raise ValueError(f"working days out of range: {days}")
        day = _aware(start).astimezone(LOCAL_TZ).date()
        if days == 0:
            return self.rolled_end(day)
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return _end_of(day)

    def period_end(self, start, amount, unit: str) -> datetime:
        start = _aware(start)
        amount = float(amount)
        if unit not in UNITS or amount < 0 or amount > MAX_AMOUNT * (24 if unit == "hours" else 1):
            raise ValueError(f"not a period: {amount} {unit}")
        if unit == "hours":
            return start + timedelta(hours=amount)
        if unit == "days":
            return self.rolled_end(start.astimezone(LOCAL_TZ).date() + timedelta(days=int(amount)))
        return self.add_working_days(start, int(amount))

    def rolled_end(self, last_day: date) -> datetime:
        """The end of a period in calendar days whose last day is ``last_day``: the end of that day, or
        of the first working day after it when it is a rest day or holiday (Civil Code art. 203)."""
        while not self.is_working_day(last_day):
            last_day += timedelta(days=1)
        return _end_of(last_day)

    def working_days_between(self, start, end) -> int:
        day, last = _aware(start).astimezone(LOCAL_TZ).date(), _aware(end).astimezone(LOCAL_TZ).date()
        count = 0
        while day < last:
            day += timedelta(days=1)
            count += self.is_working_day(day)
        return count


@functools.cache  # the installed package's, fixed for the process
def covered_until() -> int:
    """The last year whose holidays the installed chinese-calendar knows (later years: Monday to Friday,
    the fixed-date public holidays off)."""
    return max(day.year for day in chinese_calendar.holidays)


# The State Council publishes a year's holidays in the autumn before it (late October to mid-November in
# recent years); from this month on, periods counted now reach into a year that must be entered.
NOTICE_MONTH = 11


def years_to_enter(session: Session, today: date, entered: list[int] | None = None) -> list[int]:
    """The years periods counted ``today`` may reach whose holidays are not known: the installed package does not
    know them and the city admin has not confirmed entering their notice. This year; from November, next year
    too. ``entered``: ``years_entered``, if the caller has read it."""
    last = today.year + (today.month >= NOTICE_MONTH)
    unknown = range(max(today.year, covered_until() + 1), last + 1)
    if not unknown:
        return []
    entered = years_entered(session) if entered is None else entered
    return [year for year in unknown if year not in entered]


# The years whose notice the city admin confirmed entering: a Setting a year, "calendar_year_entered:2027", its
# value when (so two admins confirming two years at once each add a row; one list in one row lost one of them).
# Entering days is not enough to tell: a local day off in December would say nothing of the Spring Festival.
ENTERED_PREFIX = "calendar_year_entered:"


def years_entered(session: Session) -> list[int]:
    keys = session.scalars(select(Setting.key).where(Setting.key.startswith(ENTERED_PREFIX, autoescape=True)))
    return sorted(int(year) for key in keys if (year := key[len(ENTERED_PREFIX):]).isdigit())


def confirm_entered(session: Session, year: int, now: datetime) -> None:
    """The city admin has entered ``year``'s notice (the caller commits). Again: nothing changes."""
    if session.get(Setting, f"{ENTERED_PREFIX}{int(year)}") is None:
        session.add(Setting(key=f"{ENTERED_PREFIX}{int(year)}", value=now.isoformat()))


def withdraw_entered(session: Session, year: int) -> bool:
    """``year``'s confirmation taken back (given by mistake): the page and the reminder ask for it again. False
    when the year was not confirmed (nothing to take back)."""
    row = session.get(Setting, f"{ENTERED_PREFIX}{int(year)}")
    if row is None or row in session.deleted:  # none, or taken back already in this unit of work
        return False
    session.delete(row)
    return True


def remind_to_enter(session: Session, now: datetime) -> int:
    """Tell the city admins which years' holidays are still to be entered (the caller runs it once a week and
    commits). Returns the admins told."""
    years = years_to_enter(session, now.astimezone(LOCAL_TZ).date())
    admins = notify.authority_users(session, "city", None) if years else []
    if admins:
        notify.add(session, admins, notify.MESSAGE, now,
                   text=f"{'、'.join(map(str, years))}年的法定节假日尚未录入工作日历。录入之前，按工作日计算的期限"
                        f"只把周末和元旦、劳动节、国庆节的固定假日算作休息日。请在“流程模型 › 工作日历”中"
                        f"按国务院办公厅的放假通知录入放假日期和调休上班日，录入后在该页确认。")
    return len(admins)


def load(session: Session | None) -> WorkingCalendar:
    if session is None:
        return WorkingCalendar()

    def read() -> WorkingCalendar:
        rows = session.execute(select(CalendarAdjustment.day, CalendarAdjustment.working)).all()
        return WorkingCalendar({day: bool(working) for day, working in rows})
    # A transition works out several periods (the deadline, its reminders, the form's check), and every
    # transition does: the calendar is kept by the process while the reference revision stays, checked once
    # a transaction.
    return transaction_memo.once(session, WorkingCalendar, lambda: _kept.get(session, read))


def period_end(session: Session | None, start, amount, unit: str) -> datetime:
    return load(session).period_end(start, amount, unit)


def add_working_days(session: Session | None, start, days: int) -> datetime:
    return load(session).add_working_days(start, days)


def _in_transition(instant, amount, unit) -> datetime:
    try:
        return load(transition_session()).period_end(instant, amount, unit)
    except ValueError as exc:
        raise ModelRuntimeError(str(exc)) from None


def resumed_end(session: Session | None, end: datetime, kind: str | None, suspended_at: datetime,
                resumed_at: datetime, counted_from=()) -> datetime:
    """Where a period's end ``end`` moves when its case, suspended at ``suspended_at``, resumes at ``resumed_at``.

    ``kind`` is what the model counted it in (``workflows.engine.period_kinds``): working days get the working
    days that were left after the day of suspension, counted again from the day of resumption (so the end is
    again the end of a working day); calendar days end as many days later as the case was suspended, at the end
    of that day, or of the first working day after it when it is a rest day or holiday (Civil Code arts.
    201-203). The days are added to the period's own last day, found from the (start, amount) it was counted
    from (``counted_from``), not to the working day it had been moved to: a period ending in a holiday gains
    no days by the holiday. Any other date (an hour deadline, a date from a form, a period that had already run
    out when the case was suspended) moves by the time suspended."""
    paused = max(_aware(resumed_at) - _aware(suspended_at), timedelta(0))
    end = _aware(end)
    if kind not in ("days", "working_days") or end <= _aware(suspended_at):
        return end + paused
    calendar = load(session)
    if kind == "working_days":
        return calendar.add_working_days(resumed_at, calendar.working_days_between(suspended_at, end))
    last_day = _local_day(end)
    for start, amount in counted_from:
        try:
            nominal = _local_day(start) + timedelta(days=int(amount))
        except (TypeError, ValueError, OverflowError):
            continue
        if not isinstance(amount, bool) and calendar.rolled_end(nominal) == end:
            last_day = nominal
            break
    return calendar.rolled_end(last_day + (_local_day(resumed_at) - _local_day(suspended_at)))


def resumed_start(start: str, unit: str, suspended_at: datetime, resumed_at: datetime) -> str:
    """Where the start of a period counted in ``unit`` moves when its case resumes, so that a second suspension
    counts on from the period's own last day as ``resumed_end`` moved it: a period in calendar days starts as
    many days later as the case was suspended (its last day, before it is moved off a rest day, with it); the
    others are counted again from the day of resumption, whatever their start."""
    if unit != "days":
        return start
    return (_aware(start) + (_local_day(resumed_at) - _local_day(suspended_at))).isoformat()


def _local_day(value) -> date:
    return _aware(value).astimezone(LOCAL_TZ).date()


def install() -> None:
    """Hand the engine this calendar for ``add_working_days`` and ``add_period`` in models, and for the periods
    of a case that resumes."""
    restricted.set_period_provider(_in_transition)
    control.set_resume_rule(resumed_end, resumed_start)
