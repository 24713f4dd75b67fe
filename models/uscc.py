"""Unified social credit code (统一社会信用代码, GB 32100-2015) check digit."""

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_char(first17: str) -> str:
    total = sum(CHARSET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def uscc_error(code: str) -> str | None:
    """None when the code is valid, else a short reason (English msgid)."""
    if not isinstance(code, str) or len(code) != 18:
        return "must be 18 characters"
    code = code.upper()
    bad = [c for c in code if c not in CHARSET]
    if bad:
        return "contains characters not allowed in a credit code"
    if check_char(code[:17]) != code[17]:
        return "check digit does not match"
    return None


def make_uscc(first17: str) -> str:
    return first17 + check_char(first17)
