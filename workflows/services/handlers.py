"""What the engine does with the messages models throw that no process catches.

``start:<process>`` opens linked cases (in the engine itself); the handlers here keep the
registers cases are about up to date and tell people things. Each runs in the transition's
transaction, so a case never moves without its register following.
"""
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from models import CERT_EXPIRED, CERT_RENEWING, CERT_REVOKED, CERT_VALID, Certificate
from workflows import history, notify
from workflows.errors import InvalidInput, ModelRuntimeError
from workflows.services.documents.issue import MESSAGE as DOCUMENT_ISSUE
from workflows.services.documents.issue import issue_document

from . import certificate_register
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
    cert = Certificate(enterprise_id=case.enterprise_id, kind=kind, number=number,
                       holder=str(payload.get("holder") or "")[:64],
                       issued_on=_date(payload.get("issued_on"), "issued_on"),
                       expires_on=_date(payload.get("expires_on"), "expires_on"), status=CERT_VALID, case_id=case.id,
                       updated_at=now)
    s.add(cert)
    try:
        s.flush()
        certificate_register.record(s, cert, "registered", now, actor, {
            "number": [None, number], "expires_on": [None, cert.expires_on.isoformat() if cert.expires_on else None]})
    except IntegrityError:
        # Registered by a concurrent transition after the check above (it could not see the row
        # yet): the same answer, not a server error. The transition's transaction is rolled back.
        raise duplicate from None


def update_certificate(s, case, payload, actor, now) -> None:
    cert = s.scalar(select(Certificate).where(Certificate.case_id == case.id))
    if cert is None or not isinstance(payload, dict):
        raise ModelRuntimeError("certificate.update: this case watches no certificate")
    if cert.status == CERT_REVOKED:
        return  # revocation is final: the renewal case's timers change nothing any more
    status = payload.get("status")
    changes = {}
    if status is not None:
        if status not in CERT_STATUSES:
            raise ModelRuntimeError(f"certificate.update: unknown status {status!r}")
        if status != cert.status:
            changes["status"] = [cert.status, status]
        cert.status = status
    if payload.get("expires_on"):
        expires = _date(payload["expires_on"], "expires_on")
        if expires != cert.expires_on:
            changes["expires_on"] = [cert.expires_on.isoformat() if cert.expires_on else None, expires.isoformat()]
            cert.notified_days = None  # a new expiry gets its own notices
        cert.expires_on = expires
    if payload.get("issued_on"):
        cert.issued_on = _date(payload["issued_on"], "issued_on")
    cert.updated_at = now
    if changes:
        certificate_register.record(s, cert, "renewed" if "expires_on" in changes else "status", now, actor, changes)


def notify_enterprise(s, case, payload, actor, now) -> None:
    """A message for the people of the case's enterprise (a reminder, a warning)."""
    notify.add(s, notify.enterprise_users(s, case.enterprise_id), notify.MESSAGE, now,
               case_id=case.id, text=str(payload))


# The shape penalty models deployed before 2026-12 wrote ({"role": ..., "text", "flag"}): their running cases keep
# their version, so their messages are read as the one shape below. Role → audience of notify.py.
LEGACY_ROLE_AUDIENCES = {"inspector": "inspector", "county_supervisor": "supervisor", "city_admin": "city"}


def _payload(payload) -> dict:
    """The one shape of ``notify.authority``, from what a model sent (the legacy role shape adapted)."""
    if isinstance(payload, dict) and "to" not in payload and payload.get("role") in LEGACY_ROLE_AUDIENCES:
        payload = {**{k: v for k, v in payload.items() if k != "role"}, "to": LEGACY_ROLE_AUDIENCES[payload["role"]]}
    if not isinstance(payload, dict) or payload.get("to") not in notify.AUTHORITY_AUDIENCES:
        raise ModelRuntimeError(f"notify.authority needs {{'to': one of {sorted(notify.AUTHORITY_AUDIENCES)}, "
                                f"'text': ..., 'flag': optional}}, got {payload!r}")
    return payload


def notify_authority(s, case, payload, actor, now) -> None:
    """``notify.authority``: ``{"to": audience, "text": ..., "flag": ...}`` (audiences: notify.py
    AUTHORITY_AUDIENCES). The audience is told; the case's history says who was told what, when: as a flag
    (kept for the authority, the party never sees it) when the model names one, else as a notice."""
    payload = _payload(payload)
    audience, text = payload["to"], str(payload.get("text") or case.title)[:512]
    users = notify.authority_users(s, audience, case.county_id, case.created_by_id)
    notify.add(s, users, notify.MESSAGE, now, case_id=case.id, text=text)
    detail = {"to": audience, "text": text, "people": len(users)}
    # Through the transition's history (held, written with its other entries, in order), not the session.
    if payload.get("flag"):
        history.record(s, case.id, "flagged", now, detail={"flag": str(payload["flag"]), **detail})
    else:
        history.record(s, case.id, "authority_notified", now, detail=detail)


def penalty_decided(s, case, payload, actor, now) -> None:
    """The decision of a penalty case is made: the model's own time-limit watch catches this; when the
    watch has already ended (the case was flagged), nothing is left to do."""


HANDLERS = {
    "notify.authority": notify_authority,
    "penalty.decided": penalty_decided,
    "certificate.register": register_certificate,
    "certificate.update": update_certificate,
    "notify.enterprise": notify_enterprise,
    "data.reviewed": data_reviewed,
    DOCUMENT_ISSUE: issue_document,
    **RECTIFICATION_HANDLERS,
}
