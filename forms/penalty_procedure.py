"""Forms of the penalty procedure (行政处罚法 2021): the steps the second version of the penalty model adds.

Forms that check an entry against the case (the notified penalty, the periods the model computed) read
what they need of the case's data through ``for_case``; the periods themselves are the model's (BPMN
scripts and the DMN tables), never fixed here. What these forms compute is what the law fixes per
entry: the days a payment is late (art. 72), counted in calendar days; and where the hearing may be at the
earliest, the table's ``hearing_notice_days`` counted on the working-day calendar (arts. 64 and 85).
"""
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import BooleanField, DecimalField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from models import IssuedDocument
from workflows.engine import clock
from workflows.services import working_days
from workflows.services.task_context import Document, Fact, LastReason, Rounds, Step

from .base import FlaskForm
from .dynamic import dynamic_form
from .fields import AttachmentsField, InstantField
from .penalty import EVIDENCE_LISTED, FILED, HEARD, INVESTIGATED, NOTIFIED, OPINIONS, PENALTY_TYPES, PROPOSED

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
# How heavy each kind of penalty is, for art. 45 (no heavier penalty because the party defended).
SEVERITY = {"warning": 0, "fine": 1, "confiscation": 1, "suspension": 2, "revocation": 3}
MONEY_TYPES = ("fine", "confiscation")
SURCHARGE_PERCENT_A_DAY = 3  # art. 72: the law's own figure, quoted in the model's script as well
SERVICE_METHODS = [
    ("direct", _l("Handed over directly")),
    ("left", _l("Left at the address")),
    ("post", _l("By post")),
    ("electronic", _l("Electronically")),
]
APPROVE_OR_RETURN = [("approve", _l("Approve")), ("return", _l("Return for revision"))]


# What each step's decider sees above its form (workflows/services/task_context.py): the case as filed,
# investigated, notified and defended, the earlier opinions, the document the step acts on.
THE_CASE = (*FILED, *INVESTIGATED, *EVIDENCE_LISTED)
DECIDED = (Fact("decided_type", "enum"), Fact("decided_amount", "money"), Fact("decided_basis", "longtext"),
           Fact("decided_at", "datetime"))
# Why the draft came back: the legal review's, the collective discussion's or an approver's opinion.
RETURNED = (LastReason("penalty_legal_review", "review_decision", ("return",), "review_opinion"),
            LastReason("penalty_collective", "collective_decision", ("return",), "minutes"),
            LastReason("penalty_approve", "decision", ("return",), "comment"))
PAID = (Fact("payment", "enum"), Fact("paid_at", "datetime"), Fact("paid_amount", "money"),
        Fact("days_late", "number"), Fact("enforcement", "enum"), Fact("court"), Fact("court_case_no"))
CLOSING = Rounds((Step("penalty_close_report", facts=(Fact("close_summary", "longtext"),)),
                  Step("penalty_close_approve", facts=(Fact("close_decision", "enum"),
                                                       Fact("close_comment", "longtext")))), key="closing_rounds")


def _instant(value) -> datetime | None:
    if not value:
        return None
    try:
        instant = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return instant if instant.tzinfo else instant.replace(tzinfo=LOCAL_TZ)


def money(value) -> str:
    return f"{float(value or 0):,.2f} 元"


def local_day(value: datetime) -> str:
    local = value.astimezone(LOCAL_TZ)
    return f"{local.year}年{local.month}月{local.day}日"


def _with_case(items: list) -> dict:
    return {"case": items[0] if items else {}}


class CaseForm(FlaskForm):
    """A form that reads some of the case's data (``KEYS``) to check its entries."""

    KEYS: tuple[str, ...] = ()
    case: dict = {}

    @classmethod
    def for_case(cls, data: dict):
        return dynamic_form(cls, [{k: data.get(k) for k in cls.KEYS}], _with_case)


def _reason_when(decision_field: str, value: str, message):
    def check(form, field):
        if form[decision_field].data == value and not (field.data or "").strip():
            raise ValidationError(message)
    return check


class PenaltyFileApproveForm(FlaskForm):
    """立案审批: the head of the department decides whether the case is filed (art. 54)."""

    context = (*FILED, Fact("discovered_at", "datetime"), Fact("filing_due", "datetime"), Document("penalty_filing"))

    filing_decision = RadioField(_l("Decision"), choices=[("approve", _l("File the case")),
                                                          ("refuse", _l("Do not file"))],
                                 validators=[InputRequired()])
    filing_comment = TextAreaField(_l("Opinion"), validators=[
        Length(max=2000), _reason_when("filing_decision", "refuse", _l("Say why the case is not filed."))])


class PenaltyInvestigationForm(FlaskForm):
    context = (*FILED, Fact("filed_at", "datetime"), Fact("decision_due", "datetime"), OPINIONS)

    findings = TextAreaField(_l("Findings of the investigation"), validators=[DataRequired(), Length(max=4000)])
    evidence_list = TextAreaField(_l("Evidence list (one item a line)"),
                                  validators=[DataRequired(), Length(max=4000)])
    evidence = AttachmentsField(_l("Evidence"))

    def shape_data(self, data: dict) -> dict:
        items = [line.strip() for line in (data.get("evidence_list") or "").splitlines() if line.strip()]
        return {**data, "evidence_list": items}


class PenaltyDefenceForm(CaseForm):
    """陈述申辩: the party's statement and defence (art. 45) and its request for a hearing (art. 64)."""

    # The party sees what the notice told it, nothing of the authority's internal opinions.
    context = (Fact("facts", "longtext"), *NOTIFIED, Fact("defence_due", "datetime"),
               Fact("hearing_request_due", "datetime"), Document("penalty_notice"))

    KEYS = ("hearing_right", "hearing_request_due", "notified_type", "notified_amount", "notified_basis",
            "defence_due")
    statement = TextAreaField(_l("Statement and defence"), validators=[Length(max=4000)])
    request_hearing = BooleanField(_l("I ask for a hearing"))
    defence_files = AttachmentsField(_l("Supporting files"))

    def load_choices(self, user, session):
        """What the party answers: the proposed penalty, its basis and the periods, next to its fields."""
        kind = dict(PENALTY_TYPES).get(self.case.get("notified_type"), "")
        if self.case.get("notified_type") in MONEY_TYPES:
            kind = f"{kind} {money(self.case.get('notified_amount'))}"
        due = _instant(self.case.get("defence_due"))
        self.statement.description = _("Proposed penalty: %(penalty)s. Basis: %(basis)s. State and defend by %(due)s.",
                                       penalty=kind, basis=self.case.get("notified_basis") or "—",
                                       due=local_day(due) if due else "—")
        hearing_due = _instant(self.case.get("hearing_request_due"))
        self.request_hearing.description = (
            _("You may ask for a hearing until %(due)s.", due=local_day(hearing_due))
            if self.case.get("hearing_right") and hearing_due else _("This penalty gives no right to a hearing."))

    def validate_request_hearing(self, field):
        if not field.data:
            return
        if not self.case.get("hearing_right"):
            raise ValidationError(_l("This penalty gives no right to a hearing."))
        due = _instant(self.case.get("hearing_request_due"))
        if due is not None and clock.now() > due:
            # The date, not a number of days: the model's period (working days since art. 85 was modelled).
            raise ValidationError(_l("The period to ask for a hearing ended on %(due)s (art. 64).",
                                     due=local_day(due)))

    def shape_data(self, data: dict) -> dict:
        statement = (data.get("statement") or "").strip()
        return {"statement": statement, "defended": bool(statement),
                "hearing_requested": bool(data.get("request_hearing"))}


def earliest_hearing(session, case: dict) -> datetime | None:
    """The end of the first day a hearing noticed now may be on: ``hearing_notice_days`` working days from now
    (arts. 64 and 85), or None for a case whose model gave no such period (it counts 7 calendar days)."""
    days = case.get("hearing_notice_days")
    if days is None or session is None:
        return None
    return working_days.add_working_days(session, clock.now(), int(days))


def check_hearing_time(when: datetime, earliest: datetime | None, days) -> None:
    """Refuse a hearing earlier than its notice allows (art. 64): on ``earliest``'s day at the soonest, or 7
    calendar days from now for a case counting calendar days."""
    if earliest is None:
        if when < clock.now() + timedelta(days=7):
            raise ValidationError(_l("The hearing must be at least 7 days after the notice (art. 64)."))
    elif when.astimezone(LOCAL_TZ).date() < earliest.astimezone(LOCAL_TZ).date():
        raise ValidationError(_l("The hearing can be on %(day)s at the earliest: the notice goes out at least "
                                 "%(days)s working days before it (arts. 64 and 85).", day=local_day(earliest),
                                 days=days))


def hearing_time_hint(earliest: datetime | None, days) -> str:
    """What a hearing's time field says beside it: the first day it may be on (none for calendar days)."""
    if earliest is None:
        return ""
    return _("On %(day)s or later: the notice goes out at least %(days)s working days before the hearing "
             "(arts. 64 and 85).", day=local_day(earliest), days=days)


class PenaltyHearingNoticeForm(CaseForm):
    """听证通知: the notice goes out at least 7 days before the hearing (art. 64), working days (art. 85):
    the hearing is on the ``hearing_notice_days``-th working day after today or later. A case whose model
    gave no such period (one started before art. 85 was modelled) keeps its 7 calendar days."""

    context = (*FILED, *NOTIFIED, *HEARD, Document("penalty_notice"), OPINIONS)

    KEYS = ("hearing_notice_days",)
    hearing_at = InstantField(_l("Hearing at"), validators=[InputRequired()])
    hearing_place = StringField(_l("Place of the hearing"), validators=[DataRequired(), Length(max=200)])
    presiding = StringField(_l("Presided by"), validators=[DataRequired(), Length(max=64)])
    session = None

    def load_choices(self, user, session):
        self.session = session
        self.hearing_at.description = hearing_time_hint(self.earliest(), self.case.get("hearing_notice_days"))

    def earliest(self) -> datetime | None:
        """The end of the first day the hearing may be on, or None for a case counting calendar days."""
        return earliest_hearing(self.session, self.case)

    def validate_hearing_at(self, field):
        if field.data is not None:
            check_hearing_time(field.data, self.earliest(), self.case.get("hearing_notice_days"))


class PenaltyHearingRecordForm(FlaskForm):
    context = (Fact("hearing_at", "datetime"), Fact("hearing_place"), Fact("presiding"), *FILED, *NOTIFIED, *HEARD,
               Document("hearing_notice"), OPINIONS)

    held_at = InstantField(_l("Held at"), validators=[InputRequired()])
    hearing_record = TextAreaField(_l("Hearing record"), validators=[DataRequired(), Length(max=8000)])
    record_files = AttachmentsField(_l("Signed record"))

    def validate_held_at(self, field):
        if field.data is not None and field.data > clock.now():
            raise ValidationError(_l("Cannot be in the future."))

    def shape_data(self, data: dict) -> dict:
        return {**data, "hearing_held": True}


HELD, POSTPONED, ENDED = "held", "postponed", "ended"


class _RequiredWhen:
    """The field is required when the hearing's outcome is one of ``outcomes`` (the page marks it so)."""

    def __init__(self, *outcomes, message=None):
        self.outcomes, self.message = outcomes, message

    def __call__(self, form, field):
        if form.hearing_outcome.data in self.outcomes and (field.data is None or not str(field.data).strip()):
            raise ValidationError(self.message or _l("This field is required."))


class PenaltyHearingForm(CaseForm):
    """听证 (the model's version that records how the hearing went): held, with its record; postponed
    (延期举行), with the reason and the new time, place and presiding officer, of which the party is told as
    of a hearing (art. 64: at least ``hearing_notice_days`` working days ahead, a notice of its own); or ended
    because the party did not come or left without leave (art. 64 (8): it is taken to have waived its right).
    Without an outcome a completion records a hearing held, as the earlier version's step did."""

    context = (Fact("hearing_at", "datetime"), Fact("hearing_place"), Fact("presiding"),
               Fact("postponed_from", "datetime"), Fact("postponement_reason", "longtext"), *FILED, *NOTIFIED,
               *HEARD, Document("hearing_notice"), Document("hearing_postponement"), OPINIONS)

    KEYS = ("hearing_notice_days", "hearing_at", "hearing_place", "presiding")
    # The page shows the fields of the outcome chosen (web/templates/_form.html).
    shown_when = {**{name: ("hearing_outcome", (HELD, ENDED))
                     for name in ("held_at", "hearing_record", "record_files")},
                  **{name: ("hearing_outcome", (POSTPONED,))
                     for name in ("postponement_reason", "new_hearing_at", "new_hearing_place", "new_presiding")}}
    hearing_outcome = RadioField(_l("Outcome of the hearing"), default=HELD, choices=[
        (HELD, _l("Held")), (POSTPONED, _l("Postponed")),
        (ENDED, _l("Ended: the party did not attend or left without leave (art. 64)"))])
    # No Optional() after these: it clears the errors of the validators before it.
    held_at = InstantField(_l("Held at"), validators=[_RequiredWhen(HELD, ENDED)])
    hearing_record = TextAreaField(_l("Hearing record"), validators=[
        _RequiredWhen(HELD, ENDED, message=_l("Write the record of the hearing.")), Length(max=8000)])
    record_files = AttachmentsField(_l("Signed record"))
    postponement_reason = TextAreaField(_l("Reason for the postponement"), validators=[
        _RequiredWhen(POSTPONED, message=_l("Say why the hearing is postponed.")), Length(max=2000)])
    new_hearing_at = InstantField(_l("Postponed to"), validators=[_RequiredWhen(POSTPONED)])
    new_hearing_place = StringField(_l("Place of the postponed hearing"), validators=[Length(max=200)])
    new_presiding = StringField(_l("Presided by (postponed hearing)"), validators=[Length(max=64)])
    session = None

    @property
    def required_when_shown(self) -> set[str]:
        """The fields the page marks required: those each outcome that shows them needs."""
        return {f.name for f in self if any(isinstance(v, _RequiredWhen) for v in f.validators)}

    def load_choices(self, user, session):
        self.session = session
        earliest, noticed = earliest_hearing(session, self.case), _instant(self.case.get("hearing_at"))
        # The later of the two bounds is the one to name: the notice period (working days, or 7 calendar days for
        # a case counting those), or the hearing noticed, which a postponement comes after.
        if earliest is None:
            after_notice = noticed is not None and noticed >= clock.now() + timedelta(days=7)
        else:
            after_notice = noticed is not None and (noticed.astimezone(LOCAL_TZ).date()
                                                    >= earliest.astimezone(LOCAL_TZ).date())
        if after_notice:
            at = noticed.astimezone(LOCAL_TZ)
            self.new_hearing_at.description = _("Later than the hearing noticed for %(day)s %(time)s.",
                                                day=local_day(at), time=at.strftime("%H:%M"))
        else:
            self.new_hearing_at.description = hearing_time_hint(earliest, self.case.get("hearing_notice_days"))
        self.new_hearing_place.description = _("Left empty: %(place)s.", place=self.case.get("hearing_place") or "—")
        self.new_presiding.description = _("Left empty: %(name)s.", name=self.case.get("presiding") or "—")

    def validate(self, extra_validators=None):
        # A field of another outcome than the one chosen is ignored (the page hides it): a value left in it, or
        # sent with it, does not refuse the form.
        outcome = self.hearing_outcome.data
        for name, (_choice, outcomes) in self.shown_when.items():
            if outcome not in outcomes:
                field = self[name]
                field.data, field.raw_data = ([] if name == "record_files" else None), []
                field.process_errors = []  # a malformed or hostile value there is not read either
        return super().validate(extra_validators)

    def validate_held_at(self, field):
        if field.data is None:
            return
        if field.data > clock.now():
            raise ValidationError(_l("Cannot be in the future."))
        # Held, or ended for the party's absence, at the time it was noticed for: not before (art. 64 (8) applies
        # only to a hearing the party was told of and stayed away from).
        noticed = _instant(self.case.get("hearing_at"))
        if noticed is not None and field.data.astimezone(LOCAL_TZ).date() < noticed.astimezone(LOCAL_TZ).date():
            raise ValidationError(_l("The hearing was noticed for %(day)s: it cannot have been held, or ended, "
                                     "before that day.", day=local_day(noticed)))

    def validate_new_hearing_at(self, field):
        if field.data is None or self.hearing_outcome.data != POSTPONED:
            return
        noticed = _instant(self.case.get("hearing_at"))
        if noticed is not None and field.data <= noticed:
            raise ValidationError(_l("A postponed hearing comes after the one noticed (%(day)s).",
                                     day=local_day(noticed)))
        check_hearing_time(field.data, earliest_hearing(self.session, self.case), self.case.get("hearing_notice_days"))

    def shape_data(self, data: dict) -> dict:
        outcome = data.get("hearing_outcome") or HELD
        if outcome == POSTPONED:
            return {"hearing_outcome": POSTPONED, "postponed_from": self.case.get("hearing_at"),
                    "postponement_reason": data["postponement_reason"].strip(), "hearing_at": data["new_hearing_at"],
                    "hearing_place": (data.get("new_hearing_place") or "").strip() or self.case.get("hearing_place"),
                    "presiding": (data.get("new_presiding") or "").strip() or self.case.get("presiding"),
                    "hearing_held": False}
        return {"hearing_outcome": outcome, "held_at": data.get("held_at"),
                "hearing_record": data.get("hearing_record"), "record_files": data.get("record_files") or [],
                "hearing_held": outcome == HELD}


class PenaltyRedraftForm(CaseForm):
    """拟定处罚决定, after the defence: never heavier than the notified penalty (art. 45)."""

    context = (*RETURNED, *THE_CASE, *NOTIFIED, *HEARD, Document("penalty_notice"), OPINIONS)

    KEYS = ("notified_type", "notified_amount", "defended", "hearing_held")
    penalty_type = SelectField(_l("Penalty type"), choices=PENALTY_TYPES, validators=[InputRequired()])
    # No Optional() here: it would stop the chain before validate_amount runs.
    amount = DecimalField(_l("Amount (yuan)"), places=2, default=0,
                          validators=[InputRequired(), NumberRange(min=0, max=100_000_000)])
    listed = BooleanField(_l("Listed for supervision (挂牌督办)"))
    legal_basis = TextAreaField(_l("Legal basis"), validators=[DataRequired(), Length(max=2000)])
    defence_response = TextAreaField(_l("How the statement, defence and hearing were considered"),
                                     validators=[Length(max=4000)])

    def validate_penalty_type(self, field):
        notified = self.case.get("notified_type")
        if notified in SEVERITY and SEVERITY.get(field.data, 99) > SEVERITY[notified]:
            raise ValidationError(_l("Heavier than the penalty in the prior notice (%(notified)s): "
                                     "the party may not be penalised more heavily for defending (art. 45).",
                                     notified=dict(PENALTY_TYPES)[notified]))

    def validate_amount(self, field):
        if self.penalty_type.data in MONEY_TYPES and (field.data is None or field.data <= 0):
            raise ValidationError(_l("A fine needs an amount above zero."))
        notified = self.case.get("notified_amount")
        if field.data is not None and notified is not None and field.data > Decimal(str(notified)):
            raise ValidationError(_l("More than the %(amount)s in the prior notice: the party may not be "
                                     "penalised more heavily for defending (art. 45).", amount=money(notified)))

    def validate_defence_response(self, field):
        if (self.case.get("defended") or self.case.get("hearing_held")) and not (field.data or "").strip():
            raise ValidationError(_l("Say how the party's statement and defence were considered."))

    def shape_data(self, data: dict) -> dict:
        return {**data, "amount": float(data.get("amount") or 0)}


class PenaltyLegalReviewForm(FlaskForm):
    """法制审核 (art. 58)."""

    context = (*PROPOSED, *THE_CASE, *NOTIFIED, *HEARD, Document("penalty_notice"), OPINIONS)

    review_decision = RadioField(_l("Review opinion"), choices=[("approve", _l("Passed")),
                                                                ("return", _l("Return for revision"))],
                                 validators=[InputRequired()])
    review_opinion = TextAreaField(_l("Opinion of the legal review"), validators=[DataRequired(), Length(max=4000)])


class PenaltyCollectiveForm(FlaskForm):
    """集体讨论 (art. 57)."""

    context = (*PROPOSED, *THE_CASE, *NOTIFIED, *HEARD, Fact("legal_review", "bool"), Document("penalty_notice"),
               OPINIONS)

    discussed_at = InstantField(_l("Discussed at"), validators=[InputRequired()])
    participants = StringField(_l("Participants"), validators=[DataRequired(), Length(max=500)])
    collective_decision = RadioField(_l("Conclusion"), choices=APPROVE_OR_RETURN, validators=[InputRequired()])
    minutes = TextAreaField(_l("Minutes"), validators=[DataRequired(), Length(max=8000)])

    def validate_discussed_at(self, field):
        if field.data is not None and field.data > clock.now():
            raise ValidationError(_l("Cannot be in the future."))


class PenaltyExtendForm(FlaskForm):
    """延长办案期限 (art. 60): only with the head's approval."""

    context = (Fact("filed_at", "datetime"), Fact("decision_due", "datetime"), *THE_CASE, *PROPOSED, OPINIONS)

    extension = RadioField(_l("Extension"), choices=[("approve", _l("Extend the period")),
                                                     ("refuse", _l("Do not extend"))],
                           validators=[InputRequired()])
    extension_days = IntegerField(_l("Days of extension"), default=0,
                                  validators=[Optional(), NumberRange(min=0, max=90)])
    extension_reason = TextAreaField(_l("Reason"), validators=[Length(max=2000)])

    def validate_extension_days(self, field):
        if self.extension.data == "approve" and not field.data:
            raise ValidationError(_l("Give the days of the extension."))

    def validate_extension_reason(self, field):
        if self.extension.data == "approve" and not (field.data or "").strip():
            raise ValidationError(_l("Say why the period is extended."))

    def shape_data(self, data: dict) -> dict:
        approved = data.get("extension") == "approve"
        return {**data, "extension_days": int(data.get("extension_days") or 0) if approved else 0}


class PenaltyServiceForm(CaseForm):
    """送达 (art. 61): how and when; the decision's number is the one the platform issued, never typed."""

    context = (Fact("enterprise_id", "enterprise"), *DECIDED, Fact("service_due", "datetime"),
               Document("penalty_decision"))

    KEYS = ("case_id", "decided_at")
    service_method = SelectField(_l("Method of service"), choices=SERVICE_METHODS, validators=[InputRequired()])
    served_at = InstantField(_l("Served at"), validators=[InputRequired()])
    recipient = StringField(_l("Received by"), validators=[Length(max=64)])
    # Shown, not typed (disabled on the page, so a browser never posts it): the number comes from the
    # issued decision; a client that sends another one is refused.
    document_no = StringField(_l("Decision document number"), render_kw={"disabled": True})
    proof = AttachmentsField(_l("Proof of service"))
    issued_number: str | None = None

    def load_choices(self, user, session):
        case_id = self.case.get("case_id")
        if isinstance(case_id, int):
            self.issued_number = session.scalar(select(IssuedDocument.number).where(
                IssuedDocument.case_id == case_id, IssuedDocument.kind == "penalty_decision"))
        if self.issued_number and not (self.document_no.data or "").strip():
            self.document_no.data = self.issued_number

    def validate_document_no(self, field):
        if (field.data or "").strip() and field.data.strip() != (self.issued_number or ""):
            raise ValidationError(_l("The number is the one the platform issued with the decision; it is not typed."))

    def validate_served_at(self, field):
        if field.data is None:
            return
        if field.data > clock.now():
            raise ValidationError(_l("Cannot be in the future."))
        decided = _instant(self.case.get("decided_at"))
        if decided is not None and field.data < decided - timedelta(minutes=1):
            raise ValidationError(_l("Cannot be before the decision was made."))

    def shape_data(self, data: dict) -> dict:
        return {**data, "document_no": self.issued_number or ""}


class _PaymentChecks(CaseForm):
    """What paying a fine records: when, and the amount due with the surcharge the platform computes
    (art. 72: 3 % of the fine a day late, never more than the fine). A surcharge typed in is refused."""

    KEYS = ("decided_type", "decided_amount", "payment_due", "court_from")
    paid_at = InstantField(_l("Paid at"), validators=[Optional()])
    paid_amount = DecimalField(_l("Amount paid (yuan)"), places=2,
                               validators=[Optional(), NumberRange(min=0, max=200_000_000)])
    # Shown, not typed (disabled on the page): the platform computes it; a client that sends one is refused.
    surcharge = StringField(_l("Surcharge for late payment"), render_kw={"disabled": True})

    def days_late(self, paid_at: datetime | None = None) -> int:
        # Calendar days after the due day: the model's payment_due is the end of the period's last day, moved to
        # the first working day after a rest day (Civil Code art. 203), so paying on it is in time and the first
        # day late is the day after it.
        due = _instant(self.case.get("payment_due"))
        if due is None:
            return 0
        at = paid_at or clock.now()
        return max(0, (at.astimezone(LOCAL_TZ).date() - due.astimezone(LOCAL_TZ).date()).days)

    def surcharge_for(self, days: int) -> float:
        fine = float(self.case.get("decided_amount") or 0)
        return min(fine, fine * SURCHARGE_PERCENT_A_DAY * days / 100)

    def load_choices(self, user, session):
        """The fine, its due date and, once late, the surcharge so far and the total: shown with the amount."""
        fine = float(self.case.get("decided_amount") or 0)
        due = _instant(self.case.get("payment_due"))
        if fine > 0 and due is not None:
            days = self.days_late()
            self.paid_amount.description = _("Fine %(fine)s, to be paid by %(due)s.", fine=money(fine),
                                             due=local_day(due))
            if not (self.surcharge.data or "").strip():
                self.surcharge.data = money(self.surcharge_for(days))
            if days:
                self.paid_amount.description += _(
                    " %(days)s days late today: surcharge %(surcharge)s, %(total)s due in all.", days=days,
                    surcharge=money(self.surcharge_for(days)), total=money(fine + self.surcharge_for(days)))

    def validate_surcharge(self, field):
        if any(str(v).strip() for v in field.raw_data or ()):
            raise ValidationError(_l("The surcharge is computed by the platform (art. 72), not typed."))

    def check_paid(self):
        """Errors of a payment: its date, and the amount (the fine and the computed surcharge)."""
        ok = True
        if self.paid_at.data is None:
            self.paid_at.errors.append(_l("This field is required."))
            return False
        if self.paid_at.data > clock.now():
            self.paid_at.errors.append(_l("Cannot be in the future."))
            ok = False
        fine = float(self.case.get("decided_amount") or 0)
        due = fine + self.surcharge_for(self.days_late(self.paid_at.data))
        if self.paid_amount.data is None:
            self.paid_amount.errors.append(_l("This field is required."))
            ok = False
        elif abs(float(self.paid_amount.data) - due) > 0.005:
            self.paid_amount.errors.append(_l("The amount due is %(amount)s (the fine and the surcharge for "
                                              "late payment).", amount=money(due)))
            ok = False
        return ok

    def paid_data(self, data: dict) -> dict:
        days = self.days_late(self.paid_at.data) if self.paid_at.data else 0
        return {"paid_at": data.get("paid_at"), "days_late": days,
                "paid_amount": float(data["paid_amount"]) if data.get("paid_amount") is not None else None}


class PenaltyPaymentForm(_PaymentChecks):
    """缴纳罚款 (art. 67): paid, not paid after the 15 days, or nothing to pay."""

    context = (Fact("enterprise_id", "enterprise"), *DECIDED, Fact("served_at", "datetime"),
               Fact("payment_due", "datetime"), Document("penalty_decision"))

    payment = RadioField(_l("Payment"), choices=[("paid", _l("Paid")), ("unpaid", _l("Not paid in time")),
                                                 ("none", _l("No fine to pay"))],
                         validators=[InputRequired()])
    payment_note = TextAreaField(_l("Note"), validators=[Length(max=2000)])

    def validate_payment(self, field):
        money_penalty = self.case.get("decided_type") in MONEY_TYPES
        if field.data == "none" and money_penalty:
            raise ValidationError(_l("The decision imposes a fine."))
        if field.data in ("paid", "unpaid") and not money_penalty:
            raise ValidationError(_l("The decision imposes no fine."))
        due = _instant(self.case.get("payment_due"))
        if field.data == "unpaid" and due is not None and clock.now() <= due:
            raise ValidationError(_l("The 15 days for payment (art. 67) have not run out."))

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if ok and self.payment.data == "paid":
            ok = self.check_paid()
        return ok

    def shape_data(self, data: dict) -> dict:
        out = {"payment": data["payment"], "payment_note": data.get("payment_note") or ""}
        if data["payment"] == "paid":
            out.update(self.paid_data(data))
        return out


class PenaltyEnforceForm(_PaymentChecks):
    """After the reminder (催告, Administrative Compulsion Law art. 54): paid, or the court applied to."""

    context = (Fact("enterprise_id", "enterprise"), *DECIDED, Fact("payment_due", "datetime"),
               Fact("reminded_at", "datetime"), Fact("court_from", "datetime"), Document("penalty_reminder"),
               Document("penalty_decision"))

    enforcement = RadioField(_l("Outcome"), choices=[("paid", _l("Paid after the reminder")),
                                                     ("court", _l("Applied to the court for enforcement"))],
                             validators=[InputRequired()])
    court = StringField(_l("Court"), validators=[Length(max=100)])
    applied_at = InstantField(_l("Applied at"), validators=[Optional()])
    court_case_no = StringField(_l("Court's case number"), validators=[Length(max=64)])

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if not ok:
            return False
        if self.enforcement.data == "paid":
            return self.check_paid()
        if not (self.court.data or "").strip():
            self.court.errors.append(_l("This field is required."))
            ok = False
        if self.applied_at.data is None:
            self.applied_at.errors.append(_l("This field is required."))
            return False
        earliest = _instant(self.case.get("court_from"))
        if self.applied_at.data > clock.now():
            self.applied_at.errors.append(_l("Cannot be in the future."))
            ok = False
        elif earliest is not None and self.applied_at.data < earliest:
            # The date the model computed (working days since art. 69 of that law was modelled), not a number.
            self.applied_at.errors.append(_l("The reminder's period ends on %(day)s: the court may be applied to "
                                             "after it (Administrative Compulsion Law art. 54).",
                                             day=local_day(earliest)))
            ok = False
        return ok

    def shape_data(self, data: dict) -> dict:
        out = {"enforcement": data["enforcement"]}
        if data["enforcement"] == "paid":
            out.update(self.paid_data(data))
        else:
            out.update(court=data.get("court"), applied_at=data.get("applied_at"),
                       court_case_no=data.get("court_case_no") or "", days_late=0)
        return out


class PenaltyCloseReportForm(FlaskForm):
    context = (LastReason("penalty_close_approve", "close_decision", ("return",), "close_comment"),
               Fact("enterprise_id", "enterprise"), *DECIDED, *PAID, Document("penalty_decision"), OPINIONS)

    close_summary = TextAreaField(_l("Closing report"), validators=[DataRequired(), Length(max=4000)])


class PenaltyCloseApproveForm(FlaskForm):
    context = (Fact("close_summary", "longtext"), Fact("enterprise_id", "enterprise"), *DECIDED, *PAID,
               Document("penalty_decision"), OPINIONS, CLOSING)

    close_decision = RadioField(_l("Decision"), choices=[("approve", _l("Close the case")),
                                                         ("return", _l("Return for revision"))],
                                validators=[InputRequired()])
    close_comment = TextAreaField(_l("Opinion"), validators=[
        Length(max=2000), _reason_when("close_decision", "return", _l("Say why the report is returned."))])


FORMS = {
    "penalty_file_approve": PenaltyFileApproveForm,
    "penalty_investigation": PenaltyInvestigationForm,
    "penalty_defence": PenaltyDefenceForm,
    "penalty_hearing_notice": PenaltyHearingNoticeForm,
    "penalty_hearing_record": PenaltyHearingRecordForm,
    "penalty_hearing": PenaltyHearingForm,
    "penalty_redraft": PenaltyRedraftForm,
    "penalty_legal_review": PenaltyLegalReviewForm,
    "penalty_collective": PenaltyCollectiveForm,
    "penalty_extend": PenaltyExtendForm,
    "penalty_service": PenaltyServiceForm,
    "penalty_payment": PenaltyPaymentForm,
    "penalty_enforce": PenaltyEnforceForm,
    "penalty_close_report": PenaltyCloseReportForm,
    "penalty_close_approve": PenaltyCloseApproveForm,
}
