"""The working-day calendar (city admin): China's official holidays and make-up working days come
from the chinese-calendar package; the city adds its own adjustments here. Periods the models count
in working days (rectification, verification) use both: workflows/services/working_days.py."""
from datetime import date, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from forms.calendar import MAX_RUN_DAYS, CalendarAdjustmentForm
from models import CalendarAdjustment
from web.common.unit_of_work import writes_done
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


def _runs(rows) -> list[dict]:
    """The adjustments as the notice gives them: consecutive days alike (off or working, the same reason) as one
    run, newest first."""
    runs: list[dict] = []
    for row in sorted(rows, key=lambda r: r.day):
        last = runs[-1] if runs else None
        if last and row.day == last["last"] + timedelta(days=1) and (row.working, row.note) == last["kind"]:
            last["last"], last["days"] = row.day, last["days"] + 1
        else:
            runs.append({"id": row.id, "first": row.day, "last": row.day, "days": 1, "kind": (row.working, row.note),
                         "working": row.working, "note": row.note})
    return runs[::-1]


def _upcoming(cal: working_days.WorkingCalendar, today: date, days: int = 60) -> list[dict]:
    """The next days that differ from an ordinary week: holidays and make-up working days."""
    out = []
    for n in range(days):
        day = today + timedelta(days=n)
        working = cal.is_working_day(day)
        if working != (day.weekday() < 5):
            out.append({"day": day, "working": working, "local": day in cal.adjustments})
    return out


@bp.route("", methods=["GET", "POST"])
def index():
    form = CalendarAdjustmentForm()
    status = 200
    if form.is_submitted():
        if form.validate():
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
            writes_done()
            flash(_("The calendar was changed."))
            return redirect(url_for(".index"))
        status = 422
    rows = db.session.scalars(select(CalendarAdjustment).order_by(CalendarAdjustment.day.desc())).all()
    today = clock.now().astimezone(working_days.LOCAL_TZ).date()
    upcoming = _upcoming(working_days.load(db.session), today)
    return render_template("admin/working_calendar.html", form=form, runs=_runs(rows), upcoming=upcoming,
                           covered_until=working_days.covered_until(),
                           to_enter=working_days.years_to_enter(db.session, today)), status


def _day(text) -> date | None:
    try:
        return date.fromisoformat(text) if isinstance(text, str) and len(text) == 10 else None
    except ValueError:
        return None


@bp.post("/<int:adjustment_id>/delete")
def delete(adjustment_id: int):
    row = db.session.get(CalendarAdjustment, adjustment_id)
    if row is not None:  # already removed (a second click): the same answer
        # A run's first day and, in ``last_day``, its last: the days between alike (off or working, the same
        # reason) go with it, as the page showed them. Anything else removes the one day.
        last = _day(request.form.get("last_day"))
        doomed = [row] if last is None or not row.day < last < row.day + timedelta(days=MAX_RUN_DAYS) else \
            db.session.scalars(select(CalendarAdjustment).where(
                CalendarAdjustment.day.between(row.day, last), CalendarAdjustment.working == row.working,
                CalendarAdjustment.note == row.note)).all()
        for one in doomed:
            db.session.delete(one)
        writes_done()
    flash(_("The calendar was changed."))
    return redirect(url_for(".index"))
