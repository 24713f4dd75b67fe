"""The working-day calendar (city admin): China's official holidays and make-up working days come
from the chinese-calendar package; the city adds its own adjustments here, and enters a year's notice
(once a year, from November) where the package does not know it yet. Periods the models count in working
days (rectification, verification) use both: workflows/services/working_days.py."""
from datetime import date, timedelta

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from forms.calendar import MAX_RUN_DAYS, CalendarAdjustmentForm, CalendarRemovalForm, CalendarYearForm
from models import CalendarAdjustment
from web.common.unit_of_work import writes_done, written_again_on_conflict
from web.extensions import db
from workflows.engine import clock
from workflows.errors import Forbidden
from workflows.permissions import has_right
from workflows.services import working_days

bp = Blueprint("working_calendar", __name__, url_prefix="/admin/calendar")


@bp.before_request
@login_required
def city_admin_only():
    if not has_right(current_user, "models.manage"):
        raise Forbidden(_("Only the city admin manages the working-day calendar."))


def _runs(rows) -> list[list[CalendarAdjustment]]:
    """The adjustments (in day order) as the notice gives them: consecutive days alike (off or working, the same
    reason) as one run of at most MAX_RUN_DAYS, what one removal takes. The page lists these runs and a removal
    takes the first of them from its day: one rule for both."""
    runs: list[list[CalendarAdjustment]] = []
    for row in rows:
        run = runs[-1] if runs else None
        if run and row.day == run[-1].day + timedelta(days=1) and (row.working, row.note) == (
                run[0].working, run[0].note) and len(run) < MAX_RUN_DAYS:
            run.append(row)
        else:
            runs.append([row])
    return runs


def _upcoming(cal: working_days.WorkingCalendar, today: date, days: int = 60) -> list[dict]:
    """The next days that differ from an ordinary week: holidays and make-up working days."""
    out = []
    for n in range(days):
        day = today + timedelta(days=n)
        working = cal.is_working_day(day)
        if working != (day.weekday() < 5):
            out.append({"day": day, "working": working, "local": day in cal.adjustments})
    return out


def _put(form: CalendarAdjustmentForm) -> None:
    """Every day of the form's run set as it says."""
    days = form.days()
    kept = {row.day: row for row in db.session.scalars(
        select(CalendarAdjustment).where(CalendarAdjustment.day.in_(days)))}
    for day in days:
        row = kept.get(day)
        if row is None:
            row = CalendarAdjustment(day=day, created_by_id=current_user.id, created_at=clock.now())
            db.session.add(row)
        row.working = form.working.data == "working"
        row.note = (form.note.data or "").strip()


@bp.route("", methods=["GET", "POST"])
def index():
    form = CalendarAdjustmentForm()
    status = 200
    if form.is_submitted():
        if form.validate():
            written_again_on_conflict(lambda: _put(form))
            flash(_("The calendar was changed."))
            return redirect(url_for(".index"))
        status = 422
    rows = db.session.scalars(select(CalendarAdjustment).order_by(CalendarAdjustment.day)).all()
    today = _today()
    upcoming = _upcoming(working_days.load(db.session), today)
    entered = working_days.years_entered(db.session)
    return render_template("admin/working_calendar.html", form=form, runs=_runs(rows)[::-1], upcoming=upcoming,
                           covered_until=working_days.covered_until(),
                           to_enter=working_days.years_to_enter(db.session, today, entered), entered=entered), status


def _today() -> date:
    return clock.now().astimezone(working_days.LOCAL_TZ).date()


@bp.post("/entered")
def entered():
    """The city admin has entered a year's notice: the page and the weekly reminder stop asking for it. Only a
    year the page asks for (or one confirmed already: a second click) is taken."""
    form = CalendarYearForm()
    known = working_days.years_entered(db.session)
    if not form.validate() or form.year.data not in {*working_days.years_to_enter(db.session, _today(), known),
                                                      *known}:
        flash(_("Only a year whose holidays are still to be entered can be confirmed."), "error")
        return redirect(url_for(".index"))
    written_again_on_conflict(lambda: working_days.confirm_entered(db.session, form.year.data, clock.now()))
    flash(_("The holidays of %(year)s are entered.", year=form.year.data))
    return redirect(url_for(".index"))


@bp.post("/entered/<int:year>/withdraw")
def withdraw(year: int):
    """A confirmation given by mistake taken back: the page and the weekly reminder ask for the year again."""
    if not working_days.withdraw_entered(db.session, year):
        flash(_("%(year)s was not confirmed: there is nothing to withdraw.", year=year), "error")
        return redirect(url_for(".index"))
    writes_done()
    flash(_("The confirmation for %(year)s is withdrawn: its holidays are asked for again.", year=year))
    return redirect(url_for(".index"))


@bp.post("/<int:adjustment_id>/delete")
def delete(adjustment_id: int):
    form = CalendarRemovalForm()
    if not form.validate():
        flash(_("The days to remove could not be read: nothing was removed."), "error")
        return redirect(url_for(".index"))
    row = db.session.get(CalendarAdjustment, adjustment_id)
    if row is not None:  # already removed (a second click): the same answer
        # A run as the page showed it: from this day, the days after it alike (off or working, the same reason),
        # one after another, up to ``last_day``. Read here, not taken from the form: a page another admin has
        # changed since, or a date sent by hand, removes no day that is not in the run.
        last = form.last_day.data
        doomed = [row]
        if last is not None and row.day < last < row.day + timedelta(days=MAX_RUN_DAYS):
            doomed = _runs(db.session.scalars(select(CalendarAdjustment).where(
                CalendarAdjustment.day.between(row.day, last)).order_by(CalendarAdjustment.day)))[0]
        for one in doomed:
            db.session.delete(one)
        writes_done()
    flash(_("The calendar was changed."))
    return redirect(url_for(".index"))
