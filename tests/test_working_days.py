"""The working-day calendar (workflows/services/working_days.py): China's holidays and make-up
working days from chinese-calendar, with the city's own adjustments laid over them."""
import os
import re
import shutil
from datetime import UTC, date, datetime, timedelta

import pytest
from conftest import CHROMIUM_ARGS, keep_screenshot, sign_in_page

from workflows.engine import restricted
from workflows.services import working_days
from workflows.services.working_days import WorkingCalendar

CHROMIUM = "/usr/bin/chromium"


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


# ---- the years to enter: the calendar page, a run of days, the city admins' weekly reminder -------------------
def _calendar_rows(app):
    from sqlalchemy import select

    from models import CalendarAdjustment
    from web.extensions import db

    with app.app_context():
        return [(r.day, r.working, r.note) for r in db.session.scalars(
            select(CalendarAdjustment).order_by(CalendarAdjustment.day))]


def _city_admin_reminders(app) -> list[str]:
    from sqlalchemy import select

    from models import Notification, User
    from web.extensions import db

    with app.app_context():
        return list(db.session.scalars(select(Notification.text).join(User, User.id == Notification.user_id)
                                       .where(User.username == "admin", Notification.text.contains("工作日历"))
                                       .order_by(Notification.id)))


def test_from_november_the_next_years_holidays_are_to_be_entered_until_the_admin_confirms_them(app):
    from models import CalendarAdjustment, Setting
    from web.extensions import db

    known = working_days.covered_until()
    with app.app_context():
        s = db.session()
        assert working_days.years_to_enter(s, date(known, 10, 31)) == []
        assert working_days.years_to_enter(s, date(known, 11, 1)) == [known + 1]
        # A year the package does not know, once it has begun: that year, and from November the next as well.
        assert working_days.years_to_enter(s, date(known + 1, 3, 1)) == [known + 1]
        assert working_days.years_to_enter(s, date(known + 1, 11, 1)) == [known + 1, known + 2]
        # A day entered is not the notice entered (a local day off says nothing of the Spring Festival) ...
        s.add(CalendarAdjustment(day=date(known + 1, 12, 31), working=False, note="台风停工"))
        s.commit()
        assert working_days.years_to_enter(s, date(known, 11, 1)) == [known + 1]
        # ... the admin's confirmation is.
        confirmed_at = datetime(known, 11, 3, 2, tzinfo=UTC)
        working_days.confirm_entered(s, known + 1, confirmed_at)
        s.commit()
        assert working_days.years_to_enter(s, date(known, 11, 1)) == []
        assert working_days.years_to_enter(s, date(known + 1, 11, 1)) == [known + 2]
        # Confirmed again (a second click): still the one confirmation, of its first time.
        working_days.confirm_entered(s, known + 1, confirmed_at + timedelta(days=1))
        working_days.confirm_entered(s, known + 2, confirmed_at)
        s.commit()
        assert working_days.years_entered(s) == [known + 1, known + 2]
        assert s.get(Setting, f"{working_days.ENTERED_PREFIX}{known + 1}").value == confirmed_at.isoformat()
        # Taken back: asked for again.
        assert working_days.withdraw_entered(s, known + 1) is True
        assert working_days.withdraw_entered(s, known + 1) is False  # nothing left to take back
        s.commit()
        assert working_days.years_entered(s) == [known + 2]
        assert working_days.years_to_enter(s, date(known, 11, 1)) == [known + 1]


def _page(admin) -> str:
    return admin.client.get("/admin/calendar").get_data(as_text=True)


def _run_id(page: str, first: date, days: int) -> str:
    found = re.search(rf'data-day="{first.isoformat()}" data-days="{days}">.*?/admin/calendar/(\d+)/delete', page,
                      re.S)
    assert found, (first, days)
    return found.group(1)


def test_the_city_admin_enters_a_holiday_as_the_notice_gives_it_a_run_of_days(app, browser):
    from workflows.engine import clock

    admin = browser("admin")
    year = working_days.covered_until() + 1
    november = datetime(year - 1, 11, 2, 2, tzinfo=UTC)
    first, last = date(year, 2, 6), date(year, 2, 13)
    spring = {"day": first.isoformat(), "last_day": last.isoformat(), "working": "off", "note": "春节"}
    with clock.frozen_at(november):
        page = _page(admin)
        assert 'id="to-enter"' in page and f"{year}年的法定节假日尚未录入" in page
        assert admin.form_post("/admin/calendar", spring).status_code == 302
        assert _calendar_rows(app) == [(first + timedelta(days=n), False, "春节") for n in range(8)]
        # The same run sent twice (a double submit) is the same eight days; a make-up day is one day.
        assert admin.form_post("/admin/calendar", spring).status_code == 302
        assert admin.form_post("/admin/calendar", {"day": date(year, 2, 20).isoformat(), "working": "working",
                                                   "note": "春节调休上班"}).status_code == 302
        assert len(_calendar_rows(app)) == 9
        # Listed as the notice gives them: the run on one line.
        page = _page(admin)
        assert f"{first.isoformat()} 至 {last.isoformat()}（8天）" in page
        # Still to be entered until the admin says the notice is in.
        assert 'id="to-enter"' in page
        done = admin.form_post("/admin/calendar/entered", {"year": str(year)}, page_path="/admin/calendar")
        assert done.status_code == 302
        page = _page(admin)
        assert 'id="to-enter"' not in page and f'id="withdraw-{year}"' in page
        # A confirmation given by mistake is taken back, and the page asks for the year again.
        assert admin.form_post(f"/admin/calendar/entered/{year}/withdraw", {},
                               page_path="/admin/calendar").status_code == 302
        page = _page(admin)
        assert 'id="to-enter"' in page and f'id="withdraw-{year}"' not in page
        # Withdrawn again, or a year never confirmed: said so, not reported as done.
        assert admin.form_post(f"/admin/calendar/entered/{year}/withdraw", {},
                               page_path="/admin/calendar").status_code == 302
        page = _page(admin)
        assert f"{year}年尚未确认，无可撤回" in page and "已撤销" not in page
        assert admin.form_post("/admin/calendar/entered", {"year": str(year)},
                               page_path="/admin/calendar").status_code == 302
        page = _page(admin)
        assert 'id="to-enter"' not in page
        # Removed as one run; the make-up day stays.
        removed = admin.form_post(f"/admin/calendar/{_run_id(page, first, 8)}/delete", {"last_day": last.isoformat()},
                                  page_path="/admin/calendar")
        assert removed.status_code == 302
        assert _calendar_rows(app) == [(date(year, 2, 20), True, "春节调休上班")]
    with app.app_context():
        from web.extensions import db

        cal = working_days.load(db.session)
        assert cal.is_working_day(date(year, 2, 8)) == (date(year, 2, 8).weekday() < 5)
        assert cal.is_working_day(date(year, 2, 20))


def test_removing_a_run_removes_its_days_only(app, browser):
    """What a removal takes is read on the server: the days alike one after another from the first, up to the
    last day sent; not a day across a gap or of another kind, whatever the form says."""
    admin = browser("admin")
    year = working_days.covered_until() + 1
    for day, last, working, note in ((f"{year}-05-01", f"{year}-05-02", "off", "调休"),
                                     (f"{year}-05-03", None, "off", "劳动节"),
                                     (f"{year}-05-05", f"{year}-05-06", "off", "调休")):
        assert admin.form_post("/admin/calendar", {"day": day, "last_day": last or "", "working": working,
                                                   "note": note}).status_code == 302
    page = _page(admin)
    run_id = _run_id(page, date(year, 5, 1), 2)
    every = [date(year, 5, d) for d in (1, 2, 3, 5, 6)]
    for hostile in (f"{year}-02-31", "x" * 5000, f"{year}-W19-5", f"{year}-05-31\x00"):
        # No day: nothing is removed, and the admin is told.
        refused = admin.form_post(f"/admin/calendar/{run_id}/delete", {"last_day": hostile},
                                  page_path="/admin/calendar")
        assert refused.status_code == 302, hostile
        assert "无法读取要删除的日期" in _page(admin), hostile
        assert [r[0] for r in _calendar_rows(app)] == every, hostile
    # A last day past the run (over the gap and the other kind): only the run's own days go.
    assert admin.form_post(f"/admin/calendar/{run_id}/delete", {"last_day": f"{year}-05-06"},
                           page_path="/admin/calendar").status_code == 302
    assert [r[0] for r in _calendar_rows(app)] == [date(year, 5, 3), date(year, 5, 5), date(year, 5, 6)]
    # A last day far off: the one day the removal names, no other.
    other = _run_id(_page(admin), date(year, 5, 5), 2)
    assert admin.form_post(f"/admin/calendar/{other}/delete", {"last_day": "9999-12-31"},
                           page_path="/admin/calendar").status_code == 302
    assert [r[0] for r in _calendar_rows(app)] == [date(year, 5, 3), date(year, 5, 6)]
    # Removed already (a second click) or never there: the same answer, nothing else removed.
    for gone in (other, "999999999"):
        assert admin.form_post(f"/admin/calendar/{gone}/delete", {}, page_path="/admin/calendar").status_code == 302
    assert [r[0] for r in _calendar_rows(app)] == [date(year, 5, 3), date(year, 5, 6)]


def test_a_run_of_days_that_is_not_one_is_refused_on_the_form(app, browser):
    admin = browser("admin")
    for bad, message in (({"day": "2027-02-13", "last_day": "2027-02-06"}, "结束日期不能早于开始日期"),
                         ({"day": "2027-01-01", "last_day": "2027-03-01"}, "一次最多录入31天"),
                         ({"day": "2100-12-25", "last_day": "2101-01-02"}, "不是日历可记录的日期"),
                         ({"day": "2027-02-06", "last_day": "2027-02-31"}, None),
                         ({"day": "2027-02-06", "last_day": "2027-02-08\x00"}, None)):
        refused = admin.form_post("/admin/calendar", {**bad, "working": "off", "note": "春节"})
        assert refused.status_code == 422, bad  # the form again, with the field's message
        field = refused.get_data(as_text=True).split('id="field-last_day"')[1].split("</div>")[0]
        assert 'class="errors"' in field and (message is None or message in field), (bad, field)
    known = working_days.covered_until()
    # Not a year, not one the calendar keeps, or not one the page asks for (the package knows it; too far off).
    for bad in ({"year": "1999"}, {"year": "二〇二七"}, {}, {"year": str(known)}, {"year": "2090"}):
        assert admin.form_post("/admin/calendar/entered", bad, page_path="/admin/calendar").status_code == 302
        assert "只能确认尚待录入放假安排的年份" in _page(admin), bad
    with app.app_context():
        from web.extensions import db

        assert working_days.years_entered(db.session) == []
    assert _calendar_rows(app) == []


def test_the_city_admins_are_reminded_once_a_week_until_the_year_is_entered(app, browser):
    from web.background.schedule import JOBS
    from workflows.engine import clock

    year = working_days.covered_until() + 1
    monday = datetime(year - 1, 11, 2, 2, tzinfo=UTC)
    while monday.weekday() != 0:
        monday += timedelta(days=1)
    job, admin = JOBS["calendar_reminder"], browser("admin")
    with clock.frozen_at(monday - timedelta(days=14)):  # October: nothing to enter yet
        assert job.run(app) == 0
    with clock.frozen_at(monday):
        assert job.run(app) >= 1
        assert job.run(app) == 0  # once a week
    with clock.frozen_at(monday + timedelta(days=3)):
        assert job.run(app) == 0
    [told] = _city_admin_reminders(app)
    assert f"{year}年的法定节假日尚未录入工作日历" in told and "录入后在该页确认" in told
    with clock.frozen_at(monday + timedelta(days=7)):
        assert admin.form_post("/admin/calendar", {"day": f"{year}-02-06", "last_day": f"{year}-02-13",
                                                   "working": "off", "note": "春节"}).status_code == 302
        assert job.run(app) >= 1  # days entered, the notice not confirmed: still asked
        assert admin.form_post("/admin/calendar/entered", {"year": str(year)},
                               page_path="/admin/calendar").status_code == 302
    with clock.frozen_at(monday + timedelta(days=14)):
        assert job.run(app) == 0
    assert len(_city_admin_reminders(app)) == 2


@pytest.mark.skipif(not shutil.which(CHROMIUM) and not os.environ.get("GASFLOW_REQUIRE_BROWSER"),
                    reason="Debian's chromium is not installed")
@pytest.mark.browser
def test_a_holiday_entered_in_the_browser_on_a_wide_screen_and_a_phone(app, live_server):
    from playwright.sync_api import sync_playwright

    year = working_days.covered_until() + 1
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 1000}).new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        sign_in_page(page, live_server, "admin")
        page.goto(f"{live_server}/admin/calendar")
        keep_screenshot(page, "calendar/calendar")
        page.fill("#day", f"{year}-02-06")
        page.fill("#last_day", f"{year}-02-13")
        page.check("input[name=working][value=off]")
        page.fill("#note", "春节")
        page.click("#submit")
        page.wait_for_selector("#adjustments")
        page.click(f"#entered-{year} button")
        page.wait_for_selector("#adjustments")
        assert page.locator("#adjustments li").count() == 1  # one run of eight days
        assert page.locator("#adjustments li").get_attribute("data-days") == "8"
        assert page.locator("#to-enter").count() == 0
        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        keep_screenshot(page, "calendar/calendar-phone")
        browser.close()
    assert errors == []


def test_the_years_entered_in_one_row_become_a_row_a_year_on_upgrade(tmp_path):
    """Migration 0033: the list the last release kept ("2027,2028" in one row) becomes a confirmation a year,
    and back on a downgrade."""
    from alembic import command
    from casemix import new_database
    from sqlalchemy import create_engine, text

    from web.database import alembic_config, upgrade

    with new_database(tmp_path) as url:
        upgrade(url, "0032")
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO settings (key, value) VALUES ('calendar_years_entered', '2027, 2028,x')"))
        upgrade(url)

        def rows():
            with engine.connect() as conn:
                return sorted(tuple(r) for r in conn.execute(text(
                    "SELECT key, value FROM settings WHERE key LIKE 'calendar_year%'")))

        assert [key for key, _value in rows()] == ["calendar_year_entered:2027", "calendar_year_entered:2028"]
        command.downgrade(alembic_config(url), "0032")
        assert rows() == [("calendar_years_entered", "2027,2028")]
        engine.dispose()
