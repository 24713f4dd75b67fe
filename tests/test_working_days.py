"""The working-day calendar (workflows/services/working_days.py): China's holidays and make-up
working days from chinese-calendar, with the city's own adjustments laid over them."""
from datetime import UTC, date, datetime, timedelta

from workflows.engine import restricted
from workflows.services import working_days
from workflows.services.working_days import WorkingCalendar


def test_national_day_2026_holidays_and_make_up_working_days():
    cal = WorkingCalendar()
    # Oct 1-7 off; Sunday Sep 20 and Saturday Oct 10 are make-up working days (State Council notice).
    assert [cal.is_working_day(date(2026, 10, d)) for d in range(1, 11)] == \
        [False] * 7 + [True, True, True]
    assert date(2026, 9, 20).weekday() == 6 and cal.is_working_day(date(2026, 9, 20))
    assert not cal.is_working_day(date(2026, 9, 19))  # an ordinary Saturday


def test_working_days_skip_the_holiday_and_count_the_make_up_days():
    cal = WorkingCalendar()
    # Wednesday Sep 30, 10:00 Beijing: Oct 8, 9 and the make-up Saturday Oct 10; the end of that day.
    start = datetime(2026, 9, 30, 2, tzinfo=UTC)
    assert cal.add_working_days(start, 3) == datetime(2026, 10, 10, 15, 59, 59, tzinfo=UTC)
    # Friday Sep 18: the make-up Sunday Sep 20 counts, so three working days end on Tuesday, not Wednesday.
    assert cal.add_working_days(datetime(2026, 9, 18, 2, tzinfo=UTC), 3) == \
        datetime(2026, 9, 22, 15, 59, 59, tzinfo=UTC)
    assert cal.working_days_between(start, datetime(2026, 10, 10, 3, tzinfo=UTC)) == 3
    # Hours are calendar hours.
    assert cal.period_end(start, 24, "hours") == datetime(2026, 10, 1, 2, tzinfo=UTC)


def end_of(day: date) -> datetime:
    """24:00 (23:59:59) Beijing time of ``day``, in UTC."""
    return datetime(day.year, day.month, day.day, 15, 59, 59, tzinfo=UTC)


def test_days_end_at_the_end_of_the_last_day_not_at_the_time_of_the_start():
    # Civil Code art. 201: the day the period starts is not counted; art. 203: it ends at 24:00 of its last day.
    cal = WorkingCalendar()
    served = datetime(2026, 11, 2, 2, tzinfo=UTC)  # Monday Nov 2, 10:00 Beijing
    last = date(2026, 11, 17)  # the 15th day after, a Tuesday
    assert cal.is_working_day(last)
    assert cal.period_end(served, 15, "days") == end_of(last)
    # Served at 23:30 Beijing (15:30 UTC) it is still Nov 2 in Beijing: the same last day.
    assert cal.period_end(datetime(2026, 11, 2, 15, 30, tzinfo=UTC), 15, "days") == end_of(last)
    # 00:30 Beijing on Nov 3 is 16:30 UTC on Nov 2: the count starts a day later.
    assert cal.period_end(datetime(2026, 11, 2, 16, 30, tzinfo=UTC), 15, "days") == end_of(date(2026, 11, 18))


def test_days_ending_on_a_rest_day_end_on_the_next_working_day():
    # Civil Code art. 203, Civil Procedure Law art. 85: a last day that is a statutory rest day or holiday
    # gives way to the first working day after it.
    cal = WorkingCalendar()
    friday = datetime(2026, 11, 6, 2, tzinfo=UTC)
    sunday, monday = date(2026, 11, 8), date(2026, 11, 9)
    assert sunday.weekday() == 6 and not cal.is_working_day(sunday) and cal.is_working_day(monday)
    assert cal.period_end(friday, 2, "days") == end_of(monday)
    assert cal.period_end(friday, 1, "days") == end_of(monday)  # Saturday: Monday too
    # Sep 30 + 3 days is Oct 3, in the National Day holiday: the end of its first working day after it.
    eve = datetime(2026, 9, 30, 2, tzinfo=UTC)
    first_after = date(2026, 10, 3)
    while not cal.is_working_day(first_after):
        first_after += timedelta(days=1)
    assert first_after > date(2026, 10, 7)
    assert cal.period_end(eve, 3, "days") == end_of(first_after)
    # A make-up working day (Saturday Oct 10) is a working day: the period ends on it.
    assert date(2026, 10, 10).weekday() == 5 and cal.is_working_day(date(2026, 10, 10))
    assert cal.period_end(eve, 10, "days") == end_of(date(2026, 10, 10))
    # Zero days: the end of the start's day, moved off a rest day likewise.
    assert cal.period_end(datetime(2026, 11, 7, 2, tzinfo=UTC), 0, "days") == end_of(monday)


def test_days_roll_over_the_citys_own_days_off():
    # The city's adjustments are the calendar: a day it declares off moves the end, one it declares worked holds it.
    served = datetime(2026, 11, 2, 2, tzinfo=UTC)
    assert WorkingCalendar({date(2026, 11, 17): False}).period_end(served, 15, "days") == end_of(date(2026, 11, 18))
    assert WorkingCalendar({date(2026, 11, 8): True}).period_end(datetime(2026, 11, 6, 2, tzinfo=UTC), 2,
                                                                 "days") == end_of(date(2026, 11, 8))


def test_local_adjustments_override_the_national_calendar():
    cal = WorkingCalendar({date(2026, 10, 8): False, date(2026, 10, 11): True})
    start = datetime(2026, 9, 30, 2, tzinfo=UTC)
    # Oct 8 off locally, Sunday Oct 11 worked: Oct 9, 10, 11.
    assert cal.add_working_days(start, 3) == datetime(2026, 10, 11, 15, 59, 59, tzinfo=UTC)


def test_refuses_nonsense_periods():
    cal = WorkingCalendar()
    for amount, unit in ((-1, "working_days"), (3, "fortnights"), (10 ** 9, "hours")):
        try:
            cal.period_end(datetime(2026, 9, 30, tzinfo=UTC), amount, unit)
        except ValueError:
            continue
        raise AssertionError((amount, unit))


def test_models_count_on_the_installed_calendar(app):
    # create_app installed the calendar: add_working_days in a model skips National Day.
    assert restricted._period_provider is working_days._in_transition
    assert restricted.add_working_days("2026-09-30T10:00:00+08:00", 3) == "2026-10-10T15:59:59+00:00"
    # and add_period in days ends a period that falls in it on its first working day after (Oct 8).
    assert restricted.add_period("2026-09-30T10:00:00+08:00", 3, "days") == "2026-10-08T15:59:59+00:00"


def test_the_calendar_is_read_once_a_transaction_and_again_after_it(app):
    # A transition works out several periods on one read of the city's adjustments
    # (workflows/transaction_memo.py); the next transaction sees an adjustment made meanwhile.
    from models import CalendarAdjustment
    from web.extensions import db
    with app.app_context():
        s = db.session()
        first = working_days.load(s)
        assert working_days.load(s) is first
        assert first.is_working_day(date(2026, 10, 8))
        s.add(CalendarAdjustment(day=date(2026, 10, 8), working=False, note="本地调整"))
        s.commit()
        after = working_days.load(s)
        assert after is not first and not after.is_working_day(date(2026, 10, 8))
        s.rollback()
        # Nothing changed since: the process keeps it across transactions (workflows/reference_cache.py).
        assert working_days.load(s) is after
        # A transaction's own change counts in it before it commits, and is not kept when it rolls back.
        s.add(CalendarAdjustment(day=date(2026, 10, 9), working=False, note="撤回"))
        s.flush()
        assert not working_days.load(s).is_working_day(date(2026, 10, 9))
        s.rollback()
        assert working_days.load(s).is_working_day(date(2026, 10, 9))


def test_a_year_the_package_does_not_know_still_keeps_the_holidays_on_fixed_dates():
    # chinese-calendar carries each year once the State Council's notice is out; for a later year the platform
    # counted Monday to Friday, so a period could end on New Year's Day. The holidays whose dates the law fixes
    # (1 January, 1-2 May, 1-3 October) are off whatever the notice adds.
    cal = WorkingCalendar()
    year = working_days.covered_until() + 1
    fixed = [date(year, 1, 1), date(year, 5, 1), date(year, 5, 2), date(year, 10, 1), date(year, 10, 2),
             date(year, 10, 3)]
    assert not any(cal.is_working_day(d) for d in fixed)
    ordinary = [d for d in (date(year, 1, 4) + timedelta(days=i) for i in range(14)) if d.weekday() < 5]
    assert all(cal.is_working_day(d) for d in ordinary)
    # A working-day period and a calendar-day period from 31 December both step over New Year's Day (when it
    # falls on a weekday, as on Friday 1 January 2027).
    if date(year, 1, 1).weekday() < 5:
        start = datetime(year - 1, 12, 31, 2, tzinfo=UTC)  # 10:00 Beijing
        first_after = next(d for d in (date(year, 1, 2) + timedelta(days=i) for i in range(7)) if cal.is_working_day(d))
        assert cal.add_working_days(start, 1) == end_of(first_after)
        assert cal.period_end(start, 1, "days") == end_of(first_after)
    # The city admin's entries still win over the fallback (a make-up working day, a local holiday).
    assert WorkingCalendar({date(year, 1, 1): True}).is_working_day(date(year, 1, 1))
