"""The city admin's local adjustments to the working-day calendar."""
from flask_babel import lazy_gettext as _l
from wtforms import DateField, RadioField, StringField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from .base import FlaskForm


class CalendarAdjustmentForm(FlaskForm):
    day = DateField(_l("Date"), validators=[InputRequired()])
    working = RadioField(_l("The day is"), choices=[("off", _l("A day off")), ("working", _l("A working day"))],
                         validators=[InputRequired()])
    note = StringField(_l("Reason"), validators=[Optional(), Length(max=200)])

    def validate_day(self, field):
        if field.data is not None and not (2000 <= field.data.year <= 2100):
            raise ValidationError(_l("Not a date the calendar keeps."))
