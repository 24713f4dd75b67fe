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
# What the procedure of the Administrative Penalty Law (the model's second version) adds: the evidence
# listed, the prior notice, the party's statement, defence and hearing, the decision as redrafted after them.
EVIDENCE_LISTED = (Fact("evidence_list"),)
NOTIFIED = (Fact("notified_type", "enum"), Fact("notified_amount", "money"), Fact("notified_basis", "longtext"),
            Fact("notified_at", "datetime"), Fact("hearing_right", "bool"))
HEARD = (Fact("defended", "bool"), Fact("statement", "longtext"), Fact("hearing_requested", "bool"),
         Fact("hearing_outcome", "enum"), Fact("hearing_held", "bool"), Fact("hearing_record", "longtext"),
         Files("record_files"), Fact("defence_response", "longtext"))
# The opinions so far: the filing approval, the investigator's findings and proposals, the party's defence
# and hearing, the legal review and the collective discussion, every approver's decision and comment.
# Steps of both model versions: a case shows those its version went through, in the order they happened.
_DRAFT = (Fact("penalty_type", "enum"), Fact("amount", "money"), Fact("legal_basis", "longtext"))
OPINIONS = Rounds((Step("penalty_file_approve", facts=(Fact("filing_decision", "enum"),
                                                       Fact("filing_comment", "longtext")), internal=True),
                   Step("penalty_investigate", facts=(Fact("findings", "longtext"),), files=("evidence",)),
                   Step("penalty_investigation", facts=(Fact("findings", "longtext"), Fact("evidence_list")),
                        files=("evidence",)),
                   Step("penalty_propose", facts=_DRAFT),
                   Step("penalty_defence", facts=(Fact("statement", "longtext"), Fact("hearing_requested", "bool"))),
                   Step("penalty_hearing_record", facts=(Fact("held_at", "datetime"),
                                                         Fact("hearing_record", "longtext")), files=("record_files",)),
                   Step("penalty_hearing", facts=(Fact("hearing_outcome", "enum"), Fact("held_at", "datetime"),
                                                  Fact("hearing_record", "longtext"),
                                                  Fact("postponement_reason", "longtext"),
                                                  Fact("hearing_at", "datetime")), files=("record_files",)),
                   Step("penalty_redraft", facts=(*_DRAFT, Fact("defence_response", "longtext"))),
                   Step("penalty_legal_review", facts=(Fact("review_decision", "enum"),
                                                       Fact("review_opinion", "longtext")), internal=True),
                   Step("penalty_collective", facts=(Fact("discussed_at", "datetime"), Fact("participants"),
                                                     Fact("collective_decision", "enum"), Fact("minutes", "longtext")),
                        internal=True),
                   Step("penalty_approve", facts=(Fact("decision", "enum"), Fact("comment", "longtext"))),
                   Step("penalty_extend", facts=(Fact("extension", "enum"), Fact("extension_days", "number"),
                                                 Fact("extension_reason", "longtext")), internal=True)))

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

    context = (*PROPOSED, *FILED, *INVESTIGATED, *EVIDENCE_LISTED, *NOTIFIED, *HEARD, Fact("city_approval", "bool"),
               Fact("legal_review", "bool"), Fact("collective", "bool"), Document("penalty_notice"), OPINIONS)

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
