"""Forms of certificate renewal (L5, A4.3)."""
from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.fields import DateField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from workflows.services.task_context import Fact, Files, LastReason, Rounds, Step

from .base import FlaskForm
from .fields import AttachmentsField

KINDS = [
    ("business_licence", _l("Gas business licence")),
    ("principal", _l("Principal's safety qualification")),
    ("safety_officer", _l("Safety officer qualification")),
    ("operator", _l("Operation, maintenance and repair qualification")),
    ("delivery", _l("Gas delivery worker qualification")),
    ("dangerous_goods_transport", _l("Dangerous goods transport qualification")),
]


# The certificate as registered (or last renewed), and the rounds of application and review.
CERTIFICATE = (Fact("enterprise_id", "enterprise"), Fact("kind", "enum"), Fact("number"), Fact("holder"),
               Fact("issued_on", "date"), Fact("expires_on", "date"), Fact("renewals", "number"))
APPLICATIONS = Rounds((Step("certificate_apply", facts=(Fact("note", "longtext"),), files=("documents",)),
                       Step("certificate_review", facts=(Fact("decision", "enum"), Fact("new_expires_on", "date"),
                                                         Fact("reasons", "longtext")))))
REJECTED = LastReason("certificate_review", "decision", ("reject",), "reasons")


class CertificateRegisterForm(FlaskForm):
    enterprise_id = SelectField(_l("Enterprise"), coerce=int, validators=[InputRequired()])
    kind = SelectField(_l("Certificate kind"), choices=KINDS, validators=[InputRequired()])
    number = StringField(_l("Certificate number"), validators=[DataRequired(), Length(max=64)])
    holder = StringField(_l("Holder"), validators=[DataRequired(), Length(max=64)])
    issued_on = DateField(_l("Issued on"), validators=[Optional()])
    expires_on = DateField(_l("Expires on"), validators=[InputRequired()])

    def validate_expires_on(self, field):
        if field.data and field.data <= date.today():
            raise ValidationError(_l("The certificate has already expired."))
        if field.data and self.issued_on.data and field.data <= self.issued_on.data:
            raise ValidationError(_l("Expiry must be after the issue date."))


class CertificateApplyForm(FlaskForm):
    context = (REJECTED, *CERTIFICATE, APPLICATIONS)

    note = TextAreaField(_l("Application"), validators=[DataRequired(), Length(max=2000)])
    documents = AttachmentsField(_l("Documents"))


class CertificateReviewForm(FlaskForm):
    context = (*CERTIFICATE, Fact("note", "longtext"), Files("documents"), APPLICATIONS)

    decision = RadioField(_l("Review decision"), choices=[("issue", _l("Issue the renewed certificate")),
                                                   ("reject", _l("Reject"))], validators=[InputRequired()])
    new_expires_on = DateField(_l("New expiry date"), validators=[Optional()])
    # No Optional() here: it would stop the chain before validate_reasons runs.
    reasons = TextAreaField(_l("Reasons"), validators=[Length(max=2000)])

    def validate(self, extra_validators=None):
        # "Required when issuing" is checked here: an empty date never reaches inline validators.
        ok = super().validate(extra_validators)
        if self.decision.data == "issue" and self.new_expires_on.data is None and not self.new_expires_on.errors:
            self.new_expires_on.errors = [*self.new_expires_on.errors,
                                          _l("A renewed certificate needs its new expiry date.")]
            ok = False
        return ok

    def validate_new_expires_on(self, field):
        if field.data is not None and field.data <= date.today():
            raise ValidationError(_l("Must be in the future."))

    def validate_reasons(self, field):
        if self.decision.data == "reject" and not (field.data or "").strip():
            raise ValidationError(_l("Say why the application is rejected."))
