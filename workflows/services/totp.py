"""The TOTP second factor (RFC 6238) for authority accounts: enrolment, codes that are never accepted
twice, and one-time recovery codes. Secrets are kept encrypted with the personal-data field cipher.
No Flask; the caller passes the cipher and the time."""
import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
import segno
from sqlalchemy import select

from models import AUTHORITY_ROLES, RecoveryCode, User

ISSUER = "gasflow"
RECOVERY_CODES = 10
# One step either side of now, for clocks that drift a little.
WINDOW = 1


def required(user: User, enabled: bool) -> bool:
    return enabled and user.role in AUTHORITY_ROLES


def enrolled(user: User) -> bool:
    return user.totp_enrolled_at is not None and user.totp_secret is not None


def pending_secret(session, user: User, cipher) -> str:
    """The secret being enrolled: made once and kept (encrypted) until a code confirms it."""
    if user.totp_secret is None or user.totp_enrolled_at is not None:
        user.totp_secret = cipher.encrypt(pyotp.random_base32())
        user.totp_enrolled_at = None
        user.totp_last_step = None
        session.flush()
    return cipher.decrypt(user.totp_secret)


def secret_of(user: User, cipher) -> str:
    return cipher.decrypt(user.totp_secret)


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The otpauth URI as an inline SVG QR code, drawn here: the secret never goes to a QR service."""
    return segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff")


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    totp = pyotp.TOTP(secret)
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == totp.digits):
        return None
    step_now = totp.timecode(now)
    for step in range(step_now - WINDOW, step_now + WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def verify_code(user: User, cipher, code: str, now: datetime) -> bool:
    """A valid code for a step later than the last one accepted; the step is remembered (no replay)."""
    step = _matching_step(secret_of(user, cipher), code, now)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    user.totp_last_step = step
    return True


def confirm_enrolment(session, user: User, cipher, code: str, now: datetime) -> list[str] | None:
    """Confirm the pending secret with a code; returns the new recovery codes (shown once) or None."""
    if user.totp_secret is None or not verify_code(user, cipher, code, now):
        return None
    user.totp_enrolled_at = now
    return new_recovery_codes(session, user)


def enrol_directly(session, user: User, cipher, now: datetime) -> str:
    """Enrol without a confirming code (the demo and tests, which print or read the secret); returns it."""
    secret = pyotp.random_base32()
    user.totp_secret = cipher.encrypt(secret)
    user.totp_enrolled_at = now
    user.totp_last_step = None
    return secret


def current_code(user: User, cipher, now: datetime) -> str:
    return pyotp.TOTP(secret_of(user, cipher)).at(now)


def new_recovery_codes(session, user: User) -> list[str]:
    for old in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        session.delete(old)
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODES)]
    for code in codes:
        session.add(RecoveryCode(user_id=user.id, code_hash=_digest(code)))
    return codes


def looks_like_recovery_code(code: str) -> bool:
    return "-" in code.strip()


def use_recovery_code(session, user: User, code: str, now: datetime) -> bool:
    row = session.scalar(select(RecoveryCode).where(RecoveryCode.user_id == user.id,
                                                    RecoveryCode.code_hash == _digest(code.strip().lower()),
                                                    RecoveryCode.used_at.is_(None)))
    if row is None:
        return False
    row.used_at = now
    return True


def recovery_codes_left(session, user: User) -> int:
    return len(session.scalars(select(RecoveryCode.id).where(RecoveryCode.user_id == user.id,
                                                             RecoveryCode.used_at.is_(None))).all())


def reset(session, user: User) -> None:
    """Forget the second factor (a lost authenticator): the next sign-in enrols again."""
    user.totp_secret = None
    user.totp_enrolled_at = None
    user.totp_last_step = None
    for old in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        session.delete(old)


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()
