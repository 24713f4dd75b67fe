"""Forms of the rectification lifecycle (L2)."""
from datetime import datetime

from flask_babel import lazy_gettext as _l
from wtforms import DateField, RadioField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from workflows.engine import clock
from workflows.services import rectification_periods
from workflows.services.task_context import Document, Fact, LastReason, Rounds, Step

from .base import FlaskForm
from .fields import LOCAL_TZ, AttachmentsField, InFuture, InstantField

HAZARD_CLASSES = [("I", _l("Class I")), ("II", _l("Class II")), ("III", _l("Class III"))]
PERIOD_UNITS = {"hours": _l("hours"), "days": _l("days"), "working_days": _l("working days")}

# The order as issued: what every step of the lifecycle decides on.
ORDER = (Fact("enterprise_id", "enterprise"), Fact("hazard_description", "longtext"), Fact("hazard_class", "enum"),
         Fact("deadline_at", "datetime"), Document("rectification_notice"))
# Every round: the enterprise's answers with photos, the inspector's verdicts with the reason of a
# send-back (both addressed to the enterprise), the supervisor's escalations (internal).
ROUNDS = Rounds((Step("rectification_respond", facts=(Fact("response", "longtext"),), files=("photos",)),
                 Step("rectification_verify", facts=(Fact("decision", "enum"), Fact("comment", "longtext"))),
                 Step("rectification_escalate", facts=(Fact("action", "enum"), Fact("deadline_at", "datetime"),
                                                       Fact("comment", "longtext")), internal=True)))
SEND_BACK = LastReason("rectification_verify", "decision", ("send_back",), "comment")


def _local(instant: datetime) -> str:
    return instant.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def _instant(value) -> datetime | None:
    try:
        found = datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
    return found if found is None or found.tzinfo else found.replace(tzinfo=LOCAL_TZ)


class PeriodCheck:
    """A deadline the person sets may be shorter than the period the table gives the hazard's class
    (rectification_period.dmn, on the working-day calendar), never longer, and never in the past.
    ``latest`` is where the period ends, counted from now (the engine's clock)."""

    session = None

    def load_choices(self, user, session):
        self.session = session

    def latest(self, stage: str, hazard_class: str | None, start: datetime | None = None) -> datetime:
        return rectification_periods.latest_deadline(self.session, stage, hazard_class, start or clock.now())

    def check_deadline(self, field, hazard_class: str | None, stage: str = "rectify", start=None) -> None:
        if field.data is None or self.session is None or field.errors:
            return
        if field.data <= clock.now():
            raise ValidationError(_l("Must be in the future."))
        period = rectification_periods.period(self.session, stage, hazard_class)
        latest = period.end(self.session, start or clock.now())
        if field.data > latest:
            raise ValidationError(_l("At most %(amount)s %(unit)s: no later than %(latest)s.",
                                     amount=f"{period.amount:g}", unit=PERIOD_UNITS[period.unit],
                                     latest=_local(latest)))


class RectificationIssueForm(PeriodCheck, FlaskForm):
    """Start of L2: the order an inspector issues. Without a deadline, the class's period applies."""

    enterprise_id = SelectField(_l("Enterprise"), coerce=int, validators=[InputRequired()])
    hazard_description = TextAreaField(_l("Hazard description"), validators=[DataRequired(), Length(max=2000)])
    hazard_class = SelectField(_l("Hazard class"), choices=HAZARD_CLASSES, validators=[InputRequired()])
    deadline_at = InstantField(_l("Deadline"), validators=[Optional(), InFuture()],
                               description=_l("Leave empty for the period of the hazard's class."))

    def validate_deadline_at(self, field):
        if self.hazard_class.data in dict(HAZARD_CLASSES):
            self.check_deadline(field, self.hazard_class.data)


class _CaseForm(PeriodCheck, FlaskForm):
    case_data: dict = {}

    @classmethod
    def for_case(cls, data: dict):
        # The form with the case's data on the instance, not on a class made for the request: WTForms
        # collects a new form class's fields and builds its meta class on its first use, which cost more
        # than binding the form did. The data is only read once the form has read its input.
        case_data = dict(data or {})

        def bound(*args, **kwargs):
            form = cls(*args, **kwargs)
            form.case_data = case_data
            return form
        return bound

    @property
    def graded(self) -> bool:
        """Whether the case runs a model that grades deadlines (its data holds the table's period)."""
        return "period_unit" in self.case_data


class RectificationRespondForm(_CaseForm):
    context = (SEND_BACK, *ORDER, ROUNDS)

    action = RadioField(_l("Answer"), choices=[("done", _l("Rectification done")),
                                               ("extension", _l("Ask for an extension"))],
                        default="done", validators=[Optional()])
    # No Optional() here: it would stop the chain before validate_response runs.
    response = TextAreaField(_l("Rectification done"), validators=[Length(max=4000)])
    photos = AttachmentsField(_l("Rectification photos"))
    extension_reason = TextAreaField(_l("Reason for the extension"), validators=[Length(max=2000)])
    extension_until = InstantField(_l("Extension asked until"))

    def validate_action(self, field):
        if field.data == "extension":
            if not self.graded:
                raise ValidationError(_l("This order's model takes no extension requests."))
            if self.case_data.get("extension_requested"):
                raise ValidationError(_l("An extension can be asked for once only."))

    def validate_response(self, field):
        if self.action.data != "extension" and not (field.data or "").strip():
            raise ValidationError(_l("This field is required."))

    def validate_extension_reason(self, field):
        if self.action.data == "extension" and not (field.data or "").strip():
            raise ValidationError(_l("Say why more time is needed."))

    def validate_extension_until(self, field):
        if self.action.data != "extension":
            return
        if field.data is None:
            raise ValidationError(_l("Say until when."))
        deadline = _instant(self.case_data.get("deadline_at"))
        if deadline is not None and field.data <= deadline:
            raise ValidationError(_l("Must be later than the current deadline, %(deadline)s.",
                                     deadline=_local(deadline)))
        self.check_deadline(field, None, "extension", start=deadline)


class RectificationVerifyForm(_CaseForm):
    context = (*ORDER, Fact("send_back_count", "number"), Fact("overdue_count", "number", internal=True), ROUNDS)

    decision = RadioField(_l("Decision"), choices=[("accept", _l("Accept: rectified")),
                                                   ("send_back", _l("Send back"))],
                          validators=[InputRequired()])
    # No Optional() here: it would stop the chain before validate_comment runs.
    comment = TextAreaField(_l("Comment"), validators=[Length(max=2000)])
    reinspected_on = DateField(_l("Re-inspection date"), validators=[Optional()])
    reinspection_findings = TextAreaField(_l("Re-inspection findings"), validators=[Length(max=2000)])
    reinspection_photos = AttachmentsField(_l("Re-inspection photos"))
    new_deadline_at = InstantField(_l("New deadline"),
                                   description=_l("Proposed from the period of the hazard's class; "
                                                  "it may be shortened, not lengthened."))

    def load_choices(self, user, session):
        super().load_choices(user, session)
        if self.graded and self.new_deadline_at.data is None and not self.is_submitted():
            self.new_deadline_at.data = self.latest("rectify", self.case_data.get("hazard_class"))
        if self.reinspected_on.data is None and not self.is_submitted():
            self.reinspected_on.data = clock.now().astimezone(LOCAL_TZ).date()

    def validate_comment(self, field):
        if self.decision.data == "send_back" and not (field.data or "").strip():
            raise ValidationError(_l("Say why the answer is sent back."))

    def validate_reinspected_on(self, field):
        if self.decision.data != "accept" or not self.graded:
            return
        today = clock.now().astimezone(LOCAL_TZ).date()
        if field.data is None:
            field.data = today
        elif field.data > today:
            raise ValidationError(_l("Cannot be in the future."))

    def validate_reinspection_findings(self, field):
        if self.decision.data == "accept" and self.graded and not (field.data or "").strip():
            raise ValidationError(_l("Record what the re-inspection found."))

    def validate_new_deadline_at(self, field):
        if self.decision.data != "send_back" or not self.graded:
            return
        if field.data is None:  # the period of the class, counted from now
            field.data = self.latest("rectify", self.case_data.get("hazard_class"))
        self.check_deadline(field, self.case_data.get("hazard_class"))


class RectificationExtensionForm(_CaseForm):
    """The supervisor's answer to the enterprise's one request for more time."""

    context = (*ORDER, Fact("extension_reason", "longtext"), Fact("extension_until", "datetime"), ROUNDS)

    extension_decision = RadioField(_l("Decision"), choices=[("approve", _l("Approve the extension")),
                                                   ("refuse", _l("Refuse the extension"))],
                          validators=[InputRequired()])
    deadline_at = InstantField(_l("New deadline"),
                               description=_l("Approving: the date asked for unless you set an earlier one."))
    extension_comment = TextAreaField(_l("Comment"), validators=[Length(max=2000)])

    def validate_extension_comment(self, field):
        if self.extension_decision.data == "refuse" and not (field.data or "").strip():
            raise ValidationError(_l("Say why the extension is refused."))

    def validate_deadline_at(self, field):
        current = _instant(self.case_data.get("deadline_at"))
        if self.extension_decision.data == "approve":
            asked = _instant(self.case_data.get("extension_until"))
            if field.data is None:
                field.data = asked
            if field.data is None:
                raise ValidationError(_l("A new deadline is needed to extend."))
            if asked is not None and field.data > asked:
                raise ValidationError(_l("No later than the date asked for, %(asked)s.", asked=_local(asked)))
            self.check_deadline(field, None, "extension", start=current)
        elif self.extension_decision.data == "refuse":
            if current is not None and current > clock.now():
                field.data = current  # the deadline stands
                return
            # The deadline passed while the request waited: a deadline is never in the past.
            if field.data is None:
                raise ValidationError(_l("The deadline passed while the request waited: set a new one."))
            self.check_deadline(field, self.case_data.get("hazard_class"))


class RectificationEscalateForm(FlaskForm):
    context = (*ORDER, Fact("overdue_count", "number"), Fact("send_back_count", "number"), ROUNDS)

    action = RadioField(_l("Action"), choices=[("extend", _l("Extend the deadline")),
                                               ("transfer", _l("Transfer to a penalty case"))],
                        validators=[InputRequired()])
    # No Optional() here: it would stop the chain before validate_deadline_at runs.
    deadline_at = InstantField(_l("New deadline"), validators=[InFuture()])
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=2000)])

    def validate_deadline_at(self, field):
        if self.action.data == "extend" and field.data is None:
            raise ValidationError(_l("A new deadline is needed to extend."))
