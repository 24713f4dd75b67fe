"""Forms of the rectification lifecycle (L2)."""
from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from workflows.services.task_context import Document, Fact, LastReason, Rounds, Step

from .base import FlaskForm
from .fields import AttachmentsField, InFuture, InstantField

HAZARD_CLASSES = [("I", _l("Class I")), ("II", _l("Class II")), ("III", _l("Class III"))]

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


class RectificationIssueForm(FlaskForm):
    """Start of L2: the order an inspector issues."""

    enterprise_id = SelectField(_l("Enterprise"), coerce=int, validators=[InputRequired()])
    hazard_description = TextAreaField(_l("Hazard description"), validators=[DataRequired(), Length(max=2000)])
    hazard_class = SelectField(_l("Hazard class"), choices=HAZARD_CLASSES, validators=[InputRequired()])
    deadline_at = InstantField(_l("Deadline"), validators=[InputRequired(), InFuture()])


class RectificationRespondForm(FlaskForm):
    context = (SEND_BACK, *ORDER, ROUNDS)

    response = TextAreaField(_l("Rectification done"), validators=[DataRequired(), Length(max=4000)])
    photos = AttachmentsField(_l("Rectification photos"))


class RectificationVerifyForm(FlaskForm):
    context = (*ORDER, Fact("send_back_count", "number"), Fact("overdue_count", "number", internal=True), ROUNDS)

    decision = RadioField(_l("Decision"), choices=[("accept", _l("Accept: rectified")),
                                                   ("send_back", _l("Send back"))],
                          validators=[InputRequired()])
    # No Optional() here: it would stop the chain before validate_comment runs.
    comment = TextAreaField(_l("Comment"), validators=[Length(max=2000)])

    def validate_comment(self, field):
        if self.decision.data == "send_back" and not (field.data or "").strip():
            raise ValidationError(_l("Say why the answer is sent back."))


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
