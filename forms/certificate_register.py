"""Forms of the certificate register: its filters and a revocation."""
from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from .base import FlaskForm
from .certificate import KINDS

STATUS_LABELS = {"valid": _l("Valid"), "renewing": _l("Renewal due"), "expired": _l("Expired"),
                 "revoked": _l("Certificate revoked")}
ACTION_LABELS = {"registered": _l("Registered"), "renewed": _l("Renewed"), "status": _l("Status changed"),
                 "revoked": _l("Certificate revoked")}


class CertificateFilterForm(FlaskForm):
    class Meta:
        csrf = False

    kind = SelectField(_l("Certificate kind"), choices=[("", _l("All"))] + KINDS, validators=[Optional()])
    status = SelectField(_l("Status"), choices=[("", _l("All"))] + list(STATUS_LABELS.items()), validators=[Optional()])
    county = SelectField(_l("County"), coerce=str, validators=[Optional()])
    q = StringField(_l("Number or holder"), validators=[Optional(), Length(max=64)])


class RevokeForm(FlaskForm):
    reason = TextAreaField(_l("Reason for revocation"), validators=[DataRequired(), Length(max=2000)])
