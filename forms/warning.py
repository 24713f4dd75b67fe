"""Forms of warning handling (A7, A1.8/A2.5/A3.5) and of the threshold rules the warnings come from."""
import math

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    FieldList,
    FloatField,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    TextAreaField,
)
from wtforms.fields import StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from workflows.services.task_context import Fact, Files

from .base import FlaskForm, Form
from .fields import AttachmentsField

QUANTITY_CHOICES = [("temperature", _l("Temperature")), ("pressure", _l("Pressure")),
                    ("level", _l("Liquid level")), ("gas_concentration", _l("Combustible gas concentration")),
                    ("flow", _l("Flow")), ("leak", _l("Leak detector"))]
SITE_KIND_CHOICES = [("storage_station", _l("Storage and distribution station")),
                     ("supply_station", _l("Supply station")), ("lng_station", _l("LNG station")),
                     ("cng_station", _l("CNG station")), ("gate_station", _l("City gate station")),
                     ("regulator_station", _l("Regulator station")), ("pipeline_point", _l("Pipeline point")),
                     ("vehicle_station", _l("Vehicle refuelling station"))]
CATEGORY_CHOICES = [("station", _l("Station")), ("cylinder", _l("Cylinder")), ("vehicle", _l("Delivery vehicle")),
                    ("user", _l("Gas user")), ("certificate", _l("Certificate")),
                    ("timeliness", _l("Late or missing report"))]
LEVEL_CHOICES = [(1, _l("Level 1 (most severe)")), (2, _l("Level 2")), (3, _l("Level 3"))]
COMPARISON_CHOICES = [(">", _l("above")), ("<", _l("below"))]
MAX_THRESHOLD = 1e6


# The warning as the monitoring raised it.
RAISED = (Fact("description", "longtext"), Fact("level", "number"), Fact("category", "enum"), Fact("site"),
          Fact("site_kind", "enum"), Fact("sensor"), Fact("quantity", "enum"), Fact("peak_value", "number"),
          Fact("started_at", "datetime"), Fact("address"))


class WarningAcknowledgeForm(FlaskForm):
    """The enterprise acknowledges a warning: who answers for it on site, and what it does first."""

    context = (*RAISED, Fact("ack_due", "datetime"), Fact("dispose_due", "datetime"))

    responder = StringField(_l("Person responsible on site"), validators=[DataRequired(), Length(max=64)])
    first_action = TextAreaField(_l("First action"), validators=[Optional(), Length(max=2000)])


class WarningDisposeForm(FlaskForm):
    """The enterprise's disposal of a warning."""

    context = (*RAISED, Fact("responder"), Fact("first_action", "longtext"), Fact("dispose_due", "datetime"))

    measures = TextAreaField(_l("Measures taken"), validators=[DataRequired(), Length(max=4000)])
    resolved = BooleanField(_l("The cause is removed"))
    photos = AttachmentsField(_l("Photos of the site"))


class WarningConfirmForm(FlaskForm):
    """The county supervisor closes the warning or escalates it to an accident case (L4)."""

    context = (Fact("measures", "longtext"), Fact("resolved", "bool"), Files("photos"), Fact("responder"),
               Fact("first_action", "longtext"), *RAISED)

    decision = RadioField(_l("Confirmation"), choices=[("close", _l("Close: disposed of")),
                                                   ("escalate", _l("Escalate to an accident case"))],
                          validators=[InputRequired()])
    # No Optional() here: it would stop the chain before validate_comment runs.
    comment = TextAreaField(_l("Comment"), validators=[Length(max=2000)])

    def validate_comment(self, field):
        if self.decision.data == "escalate" and not (field.data or "").strip():
            raise ValidationError(_l("Say why the warning becomes an accident case."))


class OptionalFloatField(FloatField):
    """Empty is None (the blank row for a new rule); NaN and infinity are refused, though they parse."""

    def process_formdata(self, valuelist):
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        super().process_formdata(valuelist)
        if self.data is not None and not math.isfinite(self.data):
            self.data = None
            raise ValueError(_l("Not a valid number."))


class ThresholdRuleForm(Form):
    """One row of the threshold rules page (a plain Form: the page's FlaskForm carries the CSRF token)."""

    id = HiddenField()
    quantity = SelectField(_l("Quantity"), choices=[("", "—")] + QUANTITY_CHOICES, validators=[Optional()])
    site_kind = SelectField(_l("Site kind"), choices=[("", _l("Any"))] + SITE_KIND_CHOICES, default="")
    comparison = SelectField(_l("Comparison"), choices=COMPARISON_CHOICES, default=">")
    threshold = OptionalFloatField(_l("Threshold"))
    level = SelectField(_l("Level"), choices=LEVEL_CHOICES, coerce=int, default=2)
    active = BooleanField(_l("Enabled"), default=True)

    def validate_threshold(self, field):
        if self.quantity.data and field.data is None:
            raise ValidationError(_l("A threshold is needed."))
        if field.data is not None and abs(field.data) > MAX_THRESHOLD:
            raise ValidationError(_l("Out of range."))


class ThresholdRulesForm(FlaskForm):
    rules = FieldList(FormField(ThresholdRuleForm), min_entries=1)
