"""What the engine does with the messages models throw that no process catches.

``start:<process>`` opens linked cases (in the engine itself); the handlers here keep the
registers cases are about up to date and tell people things. Each runs in the transition's
transaction, so a case never moves without its register following.
"""
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from models import CERT_EXPIRED, CERT_RENEWING, CERT_VALID, Certificate
from workflows import notify
from workflows.errors import InvalidInput, ModelRuntimeError
from workflows.services.documents.issue import MESSAGE as DOCUMENT_ISSUE
from workflows.services.documents.issue import issue_document

from .datadock import reviewed as data_reviewed
from .rectification_notices import HANDLERS as RECTIFICATION_HANDLERS

CERT_STATUSES = (CERT_VALID, CERT_RENEWING, CERT_EXPIRED)


def _date(value, field: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ModelRuntimeError(f"certificate {field} is not a date: {value!r}") from None


def register_certificate(s, case, payload, actor, now) -> None:
    if not isinstance(payload, dict) or case.enterprise_id is None:
        raise ModelRuntimeError("certificate.register needs an object payload and a case with an enterprise")
    kind, number = str(payload.get("kind") or ""), str(payload.get("number") or "").strip()
    duplicate = InvalidInput("certificate already registered",
                             {"number": ["A certificate of this kind with this number is already registered."]})
    if s.scalar(select(Certificate.id).where(Certificate.kind == kind, Certificate.number == number)):
        raise duplicate
    s.add(Certificate(enterprise_id=case.enterprise_id, kind=kind, number=number,
                      holder=str(payload.get("holder") or "")[:64],
                      issued_on=_date(payload.get("issued_on"), "issued_on"),
                      expires_on=_date(payload.get("expires_on"), "expires_on"), status=CERT_VALID, case_id=case.id,
                      updated_at=now))
    try:
        s.flush()
    except IntegrityError:
        # Registered by a concurrent transition after the check above (it could not see the row
        # yet): the same answer, not a server error. The transition's transaction is rolled back.
        raise duplicate from None


def update_certificate(s, case, payload, actor, now) -> None:
    cert = s.scalar(select(Certificate).where(Certificate.case_id == case.id))
    if cert is None or not isinstance(payload, dict):
        raise ModelRuntimeError("certificate.update: this case watches no certificate")
    status = payload.get("status")
    if status is not None:
        if status not in CERT_STATUSES:
            raise ModelRuntimeError(f"certificate.update: unknown status {status!r}")
        cert.status = status
    if payload.get("expires_on"):
        cert.expires_on = _date(payload["expires_on"], "expires_on")
    if payload.get("issued_on"):
        cert.issued_on = _date(payload["issued_on"], "issued_on")
    cert.updated_at = now


def notify_enterprise(s, case, payload, actor, now) -> None:
    """A message for the people of the case's enterprise (a reminder, a warning)."""
    notify.add(s, notify.enterprise_users(s, case.enterprise_id), notify.MESSAGE, now,
               case_id=case.id, text=str(payload))


HANDLERS = {
    "certificate.register": register_certificate,
    "certificate.update": update_certificate,
    "notify.enterprise": notify_enterprise,
    "data.reviewed": data_reviewed,
    DOCUMENT_ISSUE: issue_document,
    **RECTIFICATION_HANDLERS,
}
