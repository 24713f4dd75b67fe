"""Forms of accident handling (L4, A8.4 and the repair data of A2.8)."""
from datetime import datetime

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DecimalField,
    FloatField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from workflows.services.task_context import Fact, Files, LastReason, Rounds, Step

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


# Grades of State Council Decree 493, art. 3, as the decision table accident_grade names them.
GRADES = [("general", _l("Ordinary accident")), ("larger", _l("Larger accident")), ("major", _l("Major accident")),
          ("especially_major", _l("Especially major accident"))]
REPORT_METHODS = [("phone", _l("Telephone")), ("fax", _l("Fax")), ("written", _l("Written report")),
                  ("platform", _l("Reporting platform"))]
MAX_PEOPLE = 100000
MAX_LOSS = 10**12


# The accident as reported, then the repair, the enterprise's report, the investigation (task context).
REPORTED = (Fact("enterprise_id", "enterprise"), Fact("accident_type", "enum"), Fact("title"),
            Fact("occurred_at", "datetime"), Fact("address"), Fact("source", "enum"), Fact("description", "longtext"),
            Fact("grade", "enum"), Fact("deaths", "number"), Fact("serious_injuries", "number"),
            Fact("direct_loss", "money"), Files("photos"))
REPAIRED = (Fact("measures", "longtext"), Fact("leak_location"), Fact("pressure_mpa", "number"),
            Fact("diameter_mm", "number"), Fact("affected_range"), Fact("finished_at", "datetime"))
ENTERPRISE_REPORT = (Fact("situation", "longtext"), Fact("enterprise_reporter"), Fact("reported_deaths", "number"),
                     Fact("reported_serious_injuries", "number"), Fact("reported_direct_loss", "money"))
INVESTIGATED = (Fact("cause", "longtext"), Fact("casualties", "number"), Fact("economic_loss", "money"),
                Fact("investigation_due", "datetime"), Files("report"))
# The reports so far, each as it was made: the enterprise's own, the county's to the city, the city's upward.
REPORTS = Rounds((Step("accident_enterprise_report", facts=ENTERPRISE_REPORT),
                  Step("accident_upward_report", facts=(Fact("reporter"), Fact("reported_at", "datetime"),
                                                        Fact("reported_to"), Fact("method", "enum"),
                                                        Fact("content", "longtext")))), key="reports")
# The period of the investigation (Decree 493, art. 29) and the extensions granted so far.
PERIOD = (Fact("investigation_due", "datetime"), Fact("extension_granted_days", "number"))
# The county's conclusion, which the closing approval decides on.
CONCLUDED = (Fact("conclusion", "longtext"), Fact("responsibility", "longtext"), Fact("open_rectification", "bool"),
             Fact("rectification_description", "longtext"), Fact("open_penalty", "bool"),
             Fact("penalty_facts", "longtext"))


class BlankIntegerField(IntegerField):
    """Empty is None, not an error: a field only some choices of the form need (its validate_* says when)."""

    def process_formdata(self, valuelist):
        if not valuelist or (isinstance(valuelist[0], str) and not valuelist[0].strip()):
            self.data = None
            return
        super().process_formdata(valuelist)


class CasualtyFields:
    """Deaths, serious injuries and direct loss: what the grade rests on (Decree 493, art. 3)."""

    deaths = IntegerField(_l("Deaths"), default=0, validators=[Optional(), NumberRange(min=0, max=MAX_PEOPLE)])
    serious_injuries = IntegerField(_l("Serious injuries"), default=0,
                                    validators=[Optional(), NumberRange(min=0, max=MAX_PEOPLE)])
    direct_loss = DecimalField(_l("Direct economic loss (yuan)"), places=2, default=0,
                               validators=[Optional(), NumberRange(min=0, max=MAX_LOSS)])

    def shape_data(self, data: dict) -> dict:
        """Figures not known yet count as none (the grade is decided again on the investigation's)."""
        return {**data, "deaths": data.get("deaths") or 0, "serious_injuries": data.get("serious_injuries") or 0,
                "direct_loss": float(data.get("direct_loss") or 0)}


class AccidentReportForm(CasualtyFields, FlaskForm):
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


class AccidentEnterpriseReportForm(FlaskForm):
    """The enterprise's own report to the county (Decree 493, art. 9: within 1 hour), when someone else
    reported the accident first. Its figures are kept as the enterprise reported them (``reported_*``);
    the grade is decided on the first report's figures and again on the investigation's."""

    context = REPORTED


    situation = TextAreaField(_l("Situation and measures taken"), validators=[DataRequired(), Length(max=4000)])
    enterprise_reporter = StringField(_l("Reported by"), validators=[DataRequired(), Length(max=64)])
    reported_deaths = IntegerField(_l("Deaths"), default=0, validators=[Optional(), NumberRange(min=0, max=MAX_PEOPLE)])
    reported_serious_injuries = IntegerField(_l("Serious injuries"), default=0,
                                             validators=[Optional(), NumberRange(min=0, max=MAX_PEOPLE)])
    reported_direct_loss = DecimalField(_l("Direct economic loss (yuan)"), places=2, default=0,
                                        validators=[Optional(), NumberRange(min=0, max=MAX_LOSS)])

    def shape_data(self, data: dict) -> dict:
        return {**data, "reported_deaths": data.get("reported_deaths") or 0,
                "reported_serious_injuries": data.get("reported_serious_injuries") or 0,
                "reported_direct_loss": float(data.get("reported_direct_loss") or 0)}


class AccidentUpwardReportForm(FlaskForm):
    """An authority's report upward (Decree 493, arts. 10–11): who reported, when, to whom, how."""

    context = (*REPORTED, *ENTERPRISE_REPORT, REPORTS)


    reporter = StringField(_l("Reported by"), validators=[DataRequired(), Length(max=64)])
    reported_at = InstantField(_l("Reported at"), validators=[InputRequired(), NotInFuture()])
    reported_to = StringField(_l("Reported to"), validators=[DataRequired(), Length(max=128)])
    method = SelectField(_l("Report method"), choices=REPORT_METHODS, validators=[InputRequired()])
    content = TextAreaField(_l("What was reported"), validators=[Optional(), Length(max=4000)])


class ExtensionLimits:
    """The investigation's extension limit (Decree 493, art. 29) and what is granted so far, read from the
    case: both the request and its approval check days against them."""

    max_extension: int = 0
    granted: int = 0

    @classmethod
    def for_case(cls, data: dict):
        return dynamic_form(cls, [_whole(data.get("max_extension_days")), _whole(data.get("extension_granted_days"))],
                            _extension_limits)


class AccidentInvestigationReportForm(ExtensionLimits, CasualtyFields, FlaskForm):
    """The investigation report, due 60 days after the accident (Decree 493, art. 29), or a request to
    extend that period. The model says how many days of extension it allows in all
    (``max_extension_days``) and how many were granted (``extension_granted_days``)."""

    context = (*REPORTED, *PERIOD, *REPAIRED, *ENTERPRISE_REPORT)


    action = SelectField(_l("Action"), choices=[("submit", _l("Submit the investigation report")),
                                                ("request_extension", _l("Ask to extend the period"))],
                         default="submit", validators=[InputRequired()])
    # No Optional() on the fields that depend on the action: it would stop the chain before validate_*.
    cause = TextAreaField(_l("Cause"), validators=[Length(max=4000)])
    report = AttachmentsField(_l("Investigation report"))
    extension_days = BlankIntegerField(_l("Days of extension asked"))
    extension_reason = TextAreaField(_l("Reason for the extension"), validators=[Length(max=2000)])

    def validate_cause(self, field):
        if self.action.data == "submit" and not (field.data or "").strip():
            raise ValidationError(_l("State the cause of the accident."))

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.action.data == "submit":
            for field in (self.deaths, self.serious_injuries, self.direct_loss):
                if field.data is None and not field.errors:
                    field.errors = [*field.errors, _l("The investigation report states this figure.")]
                    ok = False
        return ok

    def validate_extension_days(self, field):
        if self.action.data != "request_extension":
            return
        left = self.max_extension - self.granted
        if field.data is None:
            raise ValidationError(_l("Say how many days of extension are needed."))
        if left <= 0:
            raise ValidationError(_l("The period has been extended as far as the law allows."))
        if not 1 <= field.data <= left:
            raise ValidationError(_l("At most %(n)s days of extension are left.", n=left))

    def validate_extension_reason(self, field):
        if self.action.data == "request_extension" and not (field.data or "").strip():
            raise ValidationError(_l("Give the reason for the extension."))


class AccidentExtensionForm(ExtensionLimits, FlaskForm):
    """The extension of the investigation period: approved (with its days) or refused."""

    context = (Fact("extension_days", "number"), Fact("extension_reason", "longtext"), *PERIOD, *REPORTED,
               *INVESTIGATED)

    decision = RadioField(_l("Decision"), choices=[("approve", _l("Approve")), ("refuse", _l("Refuse"))],
                          validators=[InputRequired()])
    approved_days = BlankIntegerField(_l("Days approved"))
    comment = TextAreaField(_l("Comment"), validators=[Length(max=2000)])

    def validate_approved_days(self, field):
        if self.decision.data != "approve":
            return
        left = self.max_extension - self.granted
        if field.data is None:
            raise ValidationError(_l("Say how many days are approved."))
        if not 1 <= field.data <= left:
            raise ValidationError(_l("At most %(n)s days of extension are left.", n=left))


class AccidentCloseForm(FlaskForm):
    """The closing approval: the case ends, or the conclusion goes back to the county."""

    context = (*CONCLUDED, *REPORTED, *REPAIRED, *INVESTIGATED)


    decision = RadioField(_l("Decision"), choices=[("approve", _l("Approve closing")),
                                                   ("return", _l("Return for another conclusion"))],
                          validators=[InputRequired()])
    comment = TextAreaField(_l("Comment"), validators=[Length(max=2000)])

    def validate_comment(self, field):
        if self.decision.data == "return" and not (field.data or "").strip():
            raise ValidationError(_l("Say what the conclusion lacks."))


def _whole(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 3650 else 0


def _extension_limits(items: list) -> dict:
    return {"max_extension": items[0], "granted": items[1]}


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

    context = (LastReason("accident_close", "decision", ("return",), "comment"), *REPORTED, *REPAIRED, *INVESTIGATED)

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
