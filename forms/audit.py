"""The audit page's filters and the abnormal-operation rules form (city admin)."""
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, IntegerField, SelectField, SelectMultipleField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from .base import FlaskForm

KIND_LABELS = {"login_success": _l("Sign-in"), "login_failure": _l("Failed sign-in"),
               "login_locked": _l("Sign-in refused (locked)"), "write": _l("Change"),
               "export": _l("Export / download"), "denied": _l("Refused request"), "purge": _l("Retention purge"),
               "error": _l("Server error")}
WEEKDAYS = [(1, _l("Mon")), (2, _l("Tue")), (3, _l("Wed")), (4, _l("Thu")), (5, _l("Fri")), (6, _l("Sat")),
            (7, _l("Sun"))]


class AuditFilterForm(FlaskForm):
    """Read from the query string: no CSRF, nothing changes."""

    class Meta:
        csrf = False

    user = StringField(_l("User"), validators=[Optional(), Length(max=64)])
    kind = SelectField(_l("Kind"), choices=[("", _l("All"))] + list(KIND_LABELS.items()), default="")
    date_from = DateField(_l("From (date)"), validators=[Optional()])
    date_to = DateField(_l("To (date)"), validators=[Optional()])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=64)])
    q = StringField(_l("Text in path or details"), validators=[Optional(), Length(max=200)])

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date is before the start date."))


def _count(label, low=1, high=100000):
    return IntegerField(label, validators=[InputRequired(), NumberRange(min=low, max=high)])


class AuditRulesForm(FlaskForm):
    bulk_export_enabled = BooleanField(_l("Enabled"))
    bulk_export_threshold = _count(_l("Exports"))
    bulk_export_window_minutes = _count(_l("Within minutes"), high=1440)
    off_hours_enabled = BooleanField(_l("Enabled"))
    off_hours_start_hour = IntegerField(_l("Working hours start (hour)"),
                                        validators=[InputRequired(), NumberRange(min=0, max=23)])
    off_hours_end_hour = IntegerField(_l("Working hours end (hour)"),
                                      validators=[InputRequired(), NumberRange(min=1, max=24)])
    off_hours_weekdays = SelectMultipleField(_l("Working days"), choices=WEEKDAYS, coerce=int,
                                             widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    off_hours_window_minutes = _count(_l("One episode until quiet for minutes"), high=1440)
    denied_burst_enabled = BooleanField(_l("Enabled"))
    denied_burst_threshold = _count(_l("Refused requests"))
    denied_burst_window_minutes = _count(_l("Within minutes"), high=1440)
    mass_delete_enabled = BooleanField(_l("Enabled"))
    mass_delete_threshold = _count(_l("Deletions or deactivations"))
    mass_delete_window_minutes = _count(_l("Within minutes"), high=1440)
    account_locked_enabled = BooleanField(_l("Enabled"))
    account_locked_window_minutes = _count(_l("One episode until quiet for minutes"), high=1440)

    def validate_off_hours_end_hour(self, field):
        start = self.off_hours_start_hour.data
        if field.data is not None and start is not None and field.data <= start:
            raise ValidationError(_l("The end hour must be after the start hour."))
