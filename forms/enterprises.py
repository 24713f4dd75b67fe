"""Forms of the registers: an enterprise, an Excel import of enterprises, a county-level unit, and the
enterprise admin's staff accounts. The register's database checks (workflows/services/enterprise_register)
name a field with a code; ``REGISTER_ERRORS`` words it."""
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import EmailField, FloatField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from models.uscc import uscc_error

from .base import FlaskForm

KIND_LABELS = {"bottled": _l("Bottled gas"), "pipeline": _l("Pipeline gas"), "vehicle": _l("Vehicle refuelling")}
FIELD_LABELS = {"name": _l("Name"), "uscc": _l("Unified social credit code"), "kind": _l("Enterprise kind"),
                "county_id": _l("County"), "address": _l("Address"), "lon": _l("Longitude"), "lat": _l("Latitude"),
                "licences": _l("Licences"), "active": _l("Status")}
SOURCE_LABELS = {"page": _l("on the page"), "api": _l("over the API"), "import": _l("Excel import"),
                 "profile": _l("the enterprise's reported basic information")}
REGISTER_ERRORS = {
    "duplicate": _l("Already registered."),
    "out_of_area": _l("Outside your area."),
    "unknown_county": _l("Choose a county-level unit of the city."),
    "bad_code": _l("Not a valid unified social credit code (18 characters with a matching check digit)."),
    "unknown_kind": _l("Choose bottled gas, pipeline gas or vehicle refuelling."),
    "bad_region_code": _l("A GB/T 2260 code of six digits under the city's code, not ending in 00."),
    "no_city": _l("The city is not set up."),
}


def _uscc(form, field):
    if field.data and uscc_error(field.data.strip().upper()):
        raise ValidationError(REGISTER_ERRORS["bad_code"])


class EnterpriseForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=128)])
    uscc = StringField(_l("Unified social credit code"), validators=[DataRequired(), Length(min=18, max=18), _uscc])
    kind = SelectField(_l("Enterprise kind"), choices=list(KIND_LABELS.items()), validators=[InputRequired()])
    county_id = SelectField(_l("County"), coerce=int, validators=[InputRequired()])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=256)])
    lon = FloatField(_l("Longitude"), validators=[Optional(), NumberRange(min=73, max=136)])
    lat = FloatField(_l("Latitude"), validators=[Optional(), NumberRange(min=3, max=54)])
    licence_no = StringField(_l("Gas business licence number"), validators=[Optional(), Length(max=64)])
    licence_valid_until = StringField(_l("Licence valid until"), validators=[
        Optional(), Regexp(r"^\d{4}-\d{2}-\d{2}$", message=_l("A date as YYYY-MM-DD."))])

    def values(self) -> dict:
        licences = []
        if self.licence_no.data:
            licences.append({"kind": "gas_business", "number": self.licence_no.data.strip(),
                             "valid_until": self.licence_valid_until.data or None})
        return {"name": self.name.data.strip(), "uscc": self.uscc.data.strip().upper(), "kind": self.kind.data,
                "county_id": self.county_id.data, "address": (self.address.data or "").strip(),
                "lon": self.lon.data, "lat": self.lat.data, "licences": licences}


class EnterpriseImportForm(FlaskForm):
    file = FileField(_l("Excel file (.xlsx)"), validators=[DataRequired()])


class RegionForm(FlaskForm):
    code = StringField(_l("Code (GB/T 2260)"), validators=[DataRequired(), Regexp(r"^\d{6}$",
                                                                                  message=_l("Six digits."))])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=64)])


class StaffAccountForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(min=3, max=64),
                                                       Regexp(r"^[A-Za-z0-9_.-]+$", message=_l(
                                                           "Letters, digits, '_', '.' and '-' only."))])
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=64)])
    email = EmailField(_l("E-mail"), validators=[Optional(), Length(max=128), Regexp(
        r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Not an e-mail address."))])
