"""The city admin's local adjustments to the working-day calendar: one day, or a run of days (a holiday
of the State Council's notice, entered as the notice gives it: 2月6日至13日放假); and the confirmation that a
year's notice is entered."""
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField, RadioField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from .base import FlaskForm

MAX_RUN_DAYS = 31  # the longest run entered at once: the longest holiday is nine days
FIRST_YEAR, LAST_YEAR = 2000, 2100  # the years the calendar keeps


class CalendarAdjustmentForm(FlaskForm):
    day = DateField(_l("Date"), validators=[InputRequired()])
    last_day = DateField(_l("To (for several days)"), validators=[Optional()])
    working = RadioField(_l("The day is"), choices=[("off", _l("A day off")), ("working", _l("A working day"))],
                         validators=[InputRequired()])
    note = StringField(_l("Reason"), validators=[Optional(), Length(max=200)])

    def validate_day(self, field):
        if field.data is not None and not (FIRST_YEAR <= field.data.year <= LAST_YEAR):
            raise ValidationError(_l("Not a date the calendar keeps."))

    def validate_last_day(self, field):
        if field.data is None or self.day.data is None:
            return
        if not (FIRST_YEAR <= field.data.year <= LAST_YEAR):
            raise ValidationError(_l("Not a date the calendar keeps."))
        if field.data < self.day.data:
            raise ValidationError(_l("The last day cannot be before the first."))
        if (field.data - self.day.data).days >= MAX_RUN_DAYS:
            raise ValidationError(_l("At most %(n)d days at once.", n=MAX_RUN_DAYS))

    def days(self) -> list:
        """The days the adjustment covers, in order."""
        first, last = self.day.data, self.last_day.data or self.day.data
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]


class CalendarYearForm(FlaskForm):
    """A year's holidays entered as the State Council's notice gives them: the reminders stop."""

    year = IntegerField(_l("Year"), validators=[InputRequired(), NumberRange(min=FIRST_YEAR, max=LAST_YEAR)])


class CalendarRemovalForm(FlaskForm):
    """The removal of a run of days as the page listed it: its last day (none: the one day)."""

    last_day = DateField(_l("To (for several days)"), validators=[Optional()])
