"""Encryption of personal fields at rest (O3), with key rotation.

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256, random IV) under the first of the
configured keys; any configured key decrypts, so a new key is put first, data is re-encrypted
(`gasflow data rekey`), then the old key is dropped, without downtime. Exact-value search uses a
keyed HMAC digest under a separate lookup key, which never changes with rotation.
"""
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

PREFIX = "enc:"


class FieldCipher:
    def __init__(self, keys: list[str], lookup_key: str):
        if not keys:
            raise ValueError("at least one data key is needed")
        self._fernet = MultiFernet([Fernet(k) for k in keys])
        self._lookup = lookup_key.encode()

    @staticmethod
    def new_key() -> str:
        return Fernet.generate_key().decode()

    def encrypt(self, value: str) -> str:
        return PREFIX + self._fernet.encrypt(value.encode("utf-8")).decode()

    def decrypt(self, token: str) -> str:
        if not isinstance(token, str) or not token.startswith(PREFIX):
            return token
        try:
            return self._fernet.decrypt(token[len(PREFIX):].encode()).decode("utf-8")
        except InvalidToken:
            raise ValueError("a personal field could not be decrypted with the configured keys") from None

    def rotate(self, token: str) -> str:
        """Re-encrypt under the first key (a no-op for values already under it, apart from the nonce)."""
        return PREFIX + self._fernet.rotate(token[len(PREFIX):].encode()).decode()

    def digest(self, field: str, value: str) -> str:
        normal = value.strip().upper()
        return hmac.new(self._lookup, f"{field}:{normal}".encode(), hashlib.sha256).hexdigest()


def mask(value: str) -> str:
    """What lists show of a personal value: enough to recognise it, not to use it."""
    if not value:
        return value
    if len(value) <= 4:
        return "*" * len(value)
    keep = 3 if len(value) <= 11 else 4
    return value[:keep] + "*" * (len(value) - keep - 4) + value[-4:]
