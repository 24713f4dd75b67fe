"""Forms of accident handling (L4, A8.4 and the repair data of A2.8)."""
from datetime import datetime

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DecimalField, FloatField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from workflows.services.task_context import Fact, Files

from .base import FlaskForm
from .dynamic import dynamic_form
from .fields import AttachmentsField, InstantField, NotInFuture
from .rectification import HAZARD_CLASSES

SOURCES = [("enterprise", _l("Enterprise report")), ("public", _l("Public report")),
           ("emergency_call", _l("Emergency call (110/119)")), ("monitoring", _l("Monitoring alarm")),
           ("inspection", _l("Inspection"))]
TYPES = [("leak", _l("Gas leak")), ("fire", _l("Fire")), ("explosion", _l("Explosion")),
         ("poisoning", _l("Poisoning / asphyxiation")), ("pipeline_damage", _l("Pipeline damage")),
         ("other", _l("Other"))]


# The accident as reported, then the repair, then the investigation.
REPORTED = (Fact("enterprise_id", "enterprise"), Fact("accident_type", "enum"), Fact("title"),
            Fact("occurred_at", "datetime"), Fact("address"), Fact("source", "enum"), Fact("description", "longtext"),
            Files("photos"))
REPAIRED = (Fact("measures", "longtext"), Fact("leak_location"), Fact("pressure_mpa", "number"),
            Fact("diameter_mm", "number"), Fact("affected_range"), Fact("finished_at", "datetime"))
INVESTIGATED = (Fact("cause", "longtext"), Fact("casualties", "number"), Fact("economic_loss", "money"),
                Files("report"))


class AccidentReportForm(FlaskForm):
    enterprise_id = SelectField(_l("Enterprise"), coerce=int, validators=[InputRequired()])
    source = SelectField(_l("Source"), choices=SOURCES, validators=[InputRequired()])
    accident_type = SelectField(_l("Accident type"), choices=TYPES, validators=[InputRequired()])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=128)])
    occurred_at = InstantField(_l("Occurred at"), validators=[InputRequired(), NotInFuture()])
    address = StringField(_l("Address"), validators=[DataRequired(), Length(max=256)])
    lon = FloatField(_l("Longitude"), validators=[Optional(), NumberRange(min=73, max=136)])
    lat = FloatField(_l("Latitude"), validators=[Optional(), NumberRange(min=3, max=54)])
    description = TextAreaField(_l("Description"), validators=[DataRequired(), Length(max=4000)])
    photos = AttachmentsField(_l("Photos"))


class AccidentResponseForm(FlaskForm):
    """The enterprise's emergency repair (A2.8)."""

    context = REPORTED

    measures = TextAreaField(_l("Emergency measures taken"), validators=[DataRequired(), Length(max=4000)])
    leak_location = StringField(_l("Leak location"), validators=[Optional(), Length(max=256)])
    pressure_mpa = FloatField(_l("Pressure (MPa)"), validators=[Optional(), NumberRange(min=0, max=10)])
    diameter_mm = IntegerField(_l("Pipe diameter (mm)"), validators=[Optional(), NumberRange(min=0, max=3000)])
    affected_range = StringField(_l("Affected range"), validators=[Optional(), Length(max=256)])
    finished_at = InstantField(_l("Repair finished at"), validators=[InputRequired(), NotInFuture()])
    photos = AttachmentsField(_l("Photos"))
    occurred_at: str | None = None  # the accident's time, from the case (for_case)

    @classmethod
    def for_case(cls, data: dict):
        occurred = data.get("occurred_at")
        return dynamic_form(cls, [occurred] if isinstance(occurred, str) else [], _occurred)

    def validate_finished_at(self, field):
        if field.data is not None and self.occurred_at and field.data < datetime.fromisoformat(self.occurred_at):
            raise ValidationError(_l("The repair cannot finish before the accident occurred."))


def _occurred(items: list) -> dict:
    return {"occurred_at": items[0]} if items else {}


class AccidentInvestigateForm(FlaskForm):
    context = (*REPORTED, *REPAIRED)

    cause = TextAreaField(_l("Cause"), validators=[DataRequired(), Length(max=4000)])
    casualties = IntegerField(_l("Casualties"), default=0, validators=[InputRequired(), NumberRange(min=0)])
    economic_loss = DecimalField(_l("Direct economic loss (yuan)"), places=2, default=0,
                                 validators=[InputRequired(), NumberRange(min=0)])
    report = AttachmentsField(_l("Investigation report"))

    def shape_data(self, data: dict) -> dict:
        return {**data, "economic_loss": float(data.get("economic_loss") or 0)}


class AccidentConcludeForm(FlaskForm):
    context = (*REPORTED, *REPAIRED, *INVESTIGATED)

    conclusion = TextAreaField(_l("Conclusion"), validators=[DataRequired(), Length(max=4000)])
    responsibility = TextAreaField(_l("Responsibility"), validators=[DataRequired(), Length(max=2000)])
    open_rectification = BooleanField(_l("Order a rectification"))
    # No Optional() on the follow-up fields: it would stop the chain before the validate_* checks.
    rectification_description = TextAreaField(_l("What must be rectified"), validators=[Length(max=2000)])
    rectification_class = SelectField(_l("Hazard class"), choices=HAZARD_CLASSES, default="II")
    rectification_days = IntegerField(_l("Days allowed for rectification"), default=15,
                                      validators=[Optional(), NumberRange(min=1, max=180)])
    open_penalty = BooleanField(_l("File a penalty case"))
    penalty_facts = TextAreaField(_l("Facts for the penalty case"), validators=[Length(max=4000)])

    def validate_rectification_description(self, field):
        if self.open_rectification.data and not (field.data or "").strip():
            raise ValidationError(_l("Describe what must be rectified."))

    def validate_penalty_facts(self, field):
        if self.open_penalty.data and not (field.data or "").strip():
            raise ValidationError(_l("State the facts for the penalty case."))
