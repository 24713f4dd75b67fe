"""The certificate register (A4.3): every qualification certificate of the city's enterprises and their
people, with its history; the statistics by kind, status and county; revocation by the authority; and
the daily round that tells the authority 90 and 30 days before an expiry and raises a warning for an
expired certificate (the enterprise hears from the renewal case: bpmn/certificate.bpmn)."""
from collections import Counter
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select

from models import (
    AUTHORITY_ROLES,
    CERT_EXPIRED,
    CERT_REVOKED,
    ROLE_CITY_ADMIN,
    Certificate,
    CertificateChange,
    Enterprise,
    User,
)
from workflows import access, notify
from workflows.errors import Conflict, InvalidInput, NotFound

from .early_warnings import clear_warning, raise_warning

NOTICE_DAYS = (90, 30)  # practice, as the renewal model's own timers (law.md: "certificate expiry notices")
LEVEL_EXPIRED = 2
SHANGHAI = ZoneInfo("Asia/Shanghai")


def scope(user: User):
    return Certificate.enterprise_id.in_(select(Enterprise.id).where(access.enterprise_scope(user)))


def query(user: User, kind: str | None = None, status: str | None = None, county_id: int | None = None,
          q: str | None = None):
    stmt = select(Certificate).where(scope(user)).order_by(Certificate.expires_on, Certificate.id)
    if kind:
        stmt = stmt.where(Certificate.kind == kind)
    if status:
        stmt = stmt.where(Certificate.status == status)
    if county_id:
        stmt = stmt.where(Certificate.enterprise_id.in_(select(Enterprise.id).where(Enterprise.county_id == county_id)))
    if q:
        stmt = stmt.where(or_(Certificate.number.contains(q, autoescape=True),
                              Certificate.holder.contains(q, autoescape=True)))
    return stmt


def statistics(s, user: User) -> dict:
    """Counts by kind and status, and by county and status, of the certificates the user may see."""
    rows = s.execute(select(Certificate.kind, Certificate.status, Enterprise.county_id)
                     .join(Enterprise, Enterprise.id == Certificate.enterprise_id).where(scope(user))).all()
    return {"by_kind": Counter((k, st) for k, st, _c in rows), "by_county": Counter((c, st) for _k, st, c in rows),
            "total": len(rows)}


def get(s, user: User, certificate_id: int) -> Certificate:
    cert = s.get(Certificate, certificate_id)
    if cert is None or not access.can_see_enterprise(user, cert.enterprise):
        raise NotFound("no such certificate")
    return cert


def history(s, certificate_id: int) -> list[CertificateChange]:
    return list(s.scalars(select(CertificateChange).where(CertificateChange.certificate_id == certificate_id)
                          .order_by(CertificateChange.at.desc(), CertificateChange.id.desc())))


def record(s, cert: Certificate, action: str, now: datetime, actor: User | None = None, changes: dict | None = None,
           reason: str = "") -> None:
    s.add(CertificateChange(certificate_id=cert.id, at=now, actor_id=actor.id if actor else None, action=action,
                            changes=changes or {}, reason=reason))


def may_revoke(user: User, cert: Certificate) -> bool:
    from workflows.permissions import has_right

    return has_right(user, "certificates.revoke") and (
        user.role == ROLE_CITY_ADMIN or cert.enterprise.county_id == user.county_id)


def revoke(s, actor: User, cert: Certificate, reason: str, now: datetime) -> None:
    """Revocation is final: the renewal case's timers no longer change the certificate's status."""
    if not may_revoke(actor, cert):
        raise NotFound("no such certificate")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("a reason is needed", {"reason": "required"})
    if cert.status == CERT_REVOKED:
        raise Conflict("the certificate is already revoked")
    record(s, cert, "revoked", now, actor, {"status": [cert.status, CERT_REVOKED]}, reason[:2000])
    cert.status, cert.updated_at = CERT_REVOKED, now
    clear_warning(s, cert.enterprise_id, "certificate", f"certificate:{cert.id}", now)
    notify.add(s, notify.enterprise_users(s, cert.enterprise_id), notify.MESSAGE, now,
               text=f"证书 {cert.number}（{cert.holder}）已被吊销：{reason[:200]}")


def _authority_of(s, enterprise: Enterprise) -> list[int]:
    return list(s.scalars(select(User.id).where(User.active.is_(True), User.role.in_(AUTHORITY_ROLES),
                                                User.county_id == enterprise.county_id)))


def daily(s, now: datetime, engine=None) -> int:
    """Notices to the county 90 and 30 days ahead (once each per expiry), and a warning for each expired
    certificate that is not revoked (closed again once renewed). Returns what it did."""
    today = now.astimezone(SHANGHAI).date()
    done = 0
    certs = s.scalars(select(Certificate).where(Certificate.status != CERT_REVOKED)
                      .where(Certificate.expires_on <= date.fromordinal(today.toordinal() + max(NOTICE_DAYS)))).all()
    for cert in certs:
        left = (cert.expires_on - today).days
        due = [d for d in NOTICE_DAYS if left <= d and (cert.notified_days is None or cert.notified_days > d)]
        if due and left >= 0:
            days = min(due)
            notify.add(s, _authority_of(s, cert.enterprise), notify.MESSAGE, now, case_id=cert.case_id,
                       text=f"{cert.enterprise.name} 的证书 {cert.number}（{cert.holder}）将于 "
                            f"{cert.expires_on.isoformat()} 到期，剩余 {left} 天")
            cert.notified_days = days
            done += 1
        if left < 0:
            text = f"证书 {cert.number}（{cert.holder}）已于 {cert.expires_on.isoformat()} 过期"
            raise_warning(s, cert.enterprise_id, "certificate", LEVEL_EXPIRED, text, f"certificate:{cert.id}",
                          now, engine)
            if cert.status != CERT_EXPIRED:
                record(s, cert, "status", now, None, {"status": [cert.status, CERT_EXPIRED]})
                cert.status = CERT_EXPIRED
            done += 1
    # Renewed ones (expiry moved into the future) no longer hold a warning.
    from models import WARNING_OPEN, EarlyWarning

    open_keys = s.execute(select(EarlyWarning.enterprise_id, EarlyWarning.key).where(
        EarlyWarning.category == "certificate", EarlyWarning.status == WARNING_OPEN)).all()
    for enterprise_id, key in open_keys:
        cert = s.get(Certificate, int(key.split(":", 1)[1])) if key.split(":", 1)[1].isdigit() else None
        if cert is None or cert.status == CERT_REVOKED or cert.expires_on >= today:
            clear_warning(s, enterprise_id, "certificate", key, now)
    s.commit()
    return done
