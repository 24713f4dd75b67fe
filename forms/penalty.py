"""Forms of the penalty lifecycle (L3, A8.3)."""
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DecimalField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from workflows.services.task_context import Document, Fact, Files, Rounds, Step

from .base import FlaskForm
from .fields import AttachmentsField, InstantField, NotInFuture

SOURCES = [
    ("rectification_overdue", _l("Rectification overdue")),
    ("rectification_failed", _l("Rectification failed repeatedly")),
    ("inspection", _l("Inspection")),
    ("accident", _l("Accident")),
    ("complaint", _l("Complaint or report")),
    ("other", _l("Other")),
]
PENALTY_TYPES = [
    ("warning", _l("Warning")),
    ("fine", _l("Fine")),
    ("confiscation", _l("Confiscation of illegal gains")),
    ("suspension", _l("Suspension of business")),
    ("revocation", _l("Revocation of licence")),
]


# The case as filed and investigated, then as proposed.
FILED = (Fact("enterprise_id", "enterprise"), Fact("source", "enum"), Fact("facts", "longtext"))
INVESTIGATED = (Fact("findings", "longtext"), Files("evidence"))
PROPOSED = (Fact("penalty_type", "enum"), Fact("amount", "money"), Fact("legal_basis", "longtext"),
            Fact("listed", "bool"))
# The opinions so far: the investigator's findings and proposals, every approver's decision and comment.
OPINIONS = Rounds((Step("penalty_investigate", facts=(Fact("findings", "longtext"),), files=("evidence",)),
                   Step("penalty_propose", facts=(Fact("penalty_type", "enum"), Fact("amount", "money"),
                                                  Fact("legal_basis", "longtext"))),
                   Step("penalty_approve", facts=(Fact("decision", "enum"), Fact("comment", "longtext")))))


class PenaltyFileForm(FlaskForm):
    enterprise_id = SelectField(_l("Enterprise"), coerce=int, validators=[InputRequired()])
    source = SelectField(_l("Source"), choices=SOURCES, validators=[InputRequired()])
    facts = TextAreaField(_l("Facts"), validators=[DataRequired(), Length(max=4000)])
    # When the violation was found: the filing limit runs from it (the case's opening, if not given).
    discovered_at = InstantField(_l("Discovered at"), validators=[Optional(), NotInFuture()])


class PenaltyInvestigateForm(FlaskForm):
    context = FILED

    findings = TextAreaField(_l("Findings of the investigation"), validators=[DataRequired(), Length(max=4000)])
    evidence = AttachmentsField(_l("Evidence"))


class PenaltyProposeForm(FlaskForm):
    context = (*FILED, *INVESTIGATED, OPINIONS)

    penalty_type = SelectField(_l("Penalty type"), choices=PENALTY_TYPES, validators=[InputRequired()])
    # No Optional() here: it would stop the chain before validate_amount runs.
    amount = DecimalField(_l("Amount (yuan)"), places=2, default=0,
                          validators=[InputRequired(), NumberRange(min=0, max=100_000_000)])
    listed = BooleanField(_l("Listed for supervision (挂牌督办)"))
    legal_basis = TextAreaField(_l("Legal basis"), validators=[DataRequired(), Length(max=2000)])

    def validate_amount(self, field):
        if self.penalty_type.data in ("fine", "confiscation") and (field.data is None or field.data <= 0):
            raise ValidationError(_l("A fine needs an amount above zero."))

    def shape_data(self, data: dict) -> dict:
        # Numbers, not text: the decision table compares the amount.
        return {**data, "amount": float(data.get("amount") or 0)}


class PenaltyApproveForm(FlaskForm):
    """The county's (and above the DMN threshold, the city's) approval of the proposed decision."""

    context = (*PROPOSED, *FILED, *INVESTIGATED, Fact("city_approval", "bool"), OPINIONS)

    decision = RadioField(_l("Approval decision"), choices=[("approve", _l("Approve")),
                                                            ("return", _l("Return for revision"))],
                          validators=[InputRequired()])
    # No Optional() here: it would stop the chain before validate_comment runs.
    comment = TextAreaField(_l("Comment"), validators=[Length(max=2000)])

    def validate_comment(self, field):
        if self.decision.data == "return" and not (field.data or "").strip():
            raise ValidationError(_l("Say why the proposal is returned."))


class PenaltyServeForm(FlaskForm):
    context = (*PROPOSED, *FILED, Document("penalty_decision"))

    document_no = StringField(_l("Decision document number"), validators=[DataRequired(), Length(max=64)])
    served_at = InstantField(_l("Served at"), validators=[InputRequired(), NotInFuture()])
    document = AttachmentsField(_l("Decision document"))


class PenaltyExecuteForm(FlaskForm):
    context = (*PROPOSED, Fact("document_no"), Fact("served_at", "datetime"), Files("document"),
               Document("penalty_decision"), Fact("enterprise_id", "enterprise"))

    outcome = RadioField(_l("Outcome"), choices=[("paid", _l("Paid / carried out")),
                                                 ("closed", _l("Closed without payment"))],
                         validators=[InputRequired()])
    paid_amount = DecimalField(_l("Amount paid (yuan)"), places=2,
                               validators=[Optional(), NumberRange(min=0, max=100_000_000)])
    # No Optional() here: it would stop the chain before validate_note runs.
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)])

    def validate_note(self, field):
        if self.outcome.data == "closed" and not (field.data or "").strip():
            raise ValidationError(_l("Say why the case is closed without payment."))

    def shape_data(self, data: dict) -> dict:
        return {**data, "paid_amount": float(data["paid_amount"]) if data.get("paid_amount") is not None else None}
