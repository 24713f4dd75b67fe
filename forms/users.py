"""Forms of the user administration (city admin) and of the API key pages."""
from flask_babel import lazy_gettext as _l
from wtforms import EmailField, IntegerField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from .base import FlaskForm

ROLE_CHOICES = [
    ("city_admin", _l("City administrator")),
    ("county_supervisor", _l("County supervisor")),
    ("inspector", _l("Inspector")),
    ("enterprise_admin", _l("Enterprise administrator")),
    ("enterprise_staff", _l("Enterprise staff")),
]
OVERRIDE_CHOICES = [("default", _l("Role default")), ("grant", _l("Granted")), ("revoke", _l("Revoked"))]


def field_name(right_key: str) -> str:
    return "right_" + right_key.replace(".", "_")


class UserCreateForm(FlaskForm):
    username = StringField(_l("Username"), validators=[
        DataRequired(), Length(min=3, max=64),
        Regexp(r"^[A-Za-z0-9_.-]+$", message=_l("Letters, digits, '_', '.' and '-' only."))])
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=64)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, validators=[DataRequired()])
    county_id = SelectField(_l("County"), coerce=str, validators=[Optional()])
    enterprise_id = SelectField(_l("Enterprise"), coerce=str, validators=[Optional()])
    email = EmailField(_l("E-mail"), validators=[Optional(), Length(max=128), Regexp(
        r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Not an e-mail address."))])
    password = PasswordField(_l("Initial password"), validators=[DataRequired(), Length(min=12, max=256)])

    def validate(self, extra_validators=None) -> bool:
        # The county and enterprise fields are optional alone; which one is needed depends on the role.
        ok = super().validate(extra_validators)
        if self.role.data in ("county_supervisor", "inspector") and not self.county_id.data:
            self.county_id.errors = [*self.county_id.errors, _l("County roles need a county.")]
            ok = False
        if self.role.data in ("enterprise_admin", "enterprise_staff") and not self.enterprise_id.data:
            self.enterprise_id.errors = [*self.enterprise_id.errors, _l("Enterprise roles need an enterprise.")]
            ok = False
        return ok


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ApiKeyForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=64)])
    scopes = MultiCheckboxField(_l("Scopes"), validators=[DataRequired(message=_l("Choose at least one scope."))])
    days = IntegerField(_l("Expires after (days)"), default=90,
                        validators=[DataRequired(), NumberRange(min=1, max=365)])


def rights_form(rights, data: dict | None = None) -> FlaskForm:
    """A form with one default/grant/revoke choice per right in ``rights`` (the rights the user's role
    can hold), built per request because the list depends on the user edited."""

    class RightsForm(FlaskForm):
        pass

    for right in rights:
        setattr(RightsForm, field_name(right.key), SelectField(right.key, choices=OVERRIDE_CHOICES,
                                                                default="default"))
    return RightsForm(data=data) if data is not None else RightsForm()
