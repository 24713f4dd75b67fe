"""Who calls the API: a bearer token (its user, that user's rights, and the scope the endpoint
declares), or the browser's session with its CSRF token; then a POST's Idempotency-Key."""
from flask import g, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms.validators import ValidationError

from web.common import idempotency, rights
from web.common.http_errors import json_error
from web.common.security import token_for
from web.extensions import db


def authenticate():
    """Who calls (a bearer token or the browser's session), then the POST's Idempotency-Key: a
    repeat is answered here, from the first request that carried the key."""
    refused = _identify()
    if refused is not None:
        return refused
    return idempotency.begin_api(g.api_user)


def _identify():
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _sep, raw = header.partition(" ")
        writes = request.method not in rights.READ_METHODS  # a read checks no right, as a rule
        token = token_for(db.session, raw.strip(), request.remote_addr, rights=writes) \
            if scheme.lower() == "bearer" else None
        if token is None:
            return json_error(401, "unauthorized", "invalid or expired token")
        g.api_user, g.api_token = token.user, token
        # Read now: the audit entry is written after the request's session has been rolled back.
        g.audit_identity = (token.user.id, token.user.username, token.id)
        missing = rights.token_lacks_scope()
        if missing == "":
            return json_error(403, "missing_scope", "no API key may call this endpoint", {"scope": ["none"]})
        lacking = rights.rights_lacking(token.user) if missing else []
        if lacking:
            return json_error(403, "forbidden", _("Your account lacks the right this needs: %(rights)s.",
                                                  rights=" / ".join(rights.label(r) for r in lacking)),
                              {"right": lacking})
        if missing:
            return json_error(403, "missing_scope", f"this API key lacks the scope '{missing}'",
                              {"scope": [missing]})
        return None
    if not current_user.is_authenticated:
        return json_error(401, "unauthorized", "authentication required")
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        try:  # a browser session must prove the request comes from our pages
            validate_csrf(request.headers.get("X-CSRFToken", ""))
        except (ValidationError, CSRFError):
            return json_error(403, "csrf", "missing or invalid CSRF token")
    g.api_user = current_user._get_current_object()
    return None


def me():
    return g.api_user
