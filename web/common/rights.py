"""Rights in the web layer: ``require_right`` on pages, the scope each API endpoint declares, and the
names the pages show for rights and scopes."""
from functools import wraps

from flask import current_app, g, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from workflows.errors import Forbidden
from workflows.permissions import RIGHTS, SCOPES, has_right, scope_allowed

LABELS = {
    "cases.start": _l("Open cases"),
    "cases.comment": _l("Comment on cases"),
    "tasks.work": _l("Work on tasks"),
    "tasks.assign": _l("Assign tasks"),
    "tasks.delegate": _l("Delegate tasks"),
    "cases.control": _l("Cancel, suspend and resume cases"),
    "cases.transfer": _l("Transfer cases to another county"),
    "cases.migrate": _l("Move cases to a newer model version"),
    "penalty.approve": _l("Approve penalties"),
    "data.review": _l("Review reported data"),
    "data.submit": _l("Report enterprise data"),
    "data.personal": _l("See personal data in clear"),
    "readings.submit": _l("Send monitoring readings"),
    "warnings.handle": _l("Handle warnings"),
    "map.view": _l("See the map"),
    "models.manage": _l("Manage process models"),
    "templates.manage": _l("Manage checklist templates"),
    "thresholds.manage": _l("Edit threshold rules"),
    "users.manage": _l("Manage users and rights"),
    "enterprises.manage": _l("Keep the enterprise register"),
    "regions.manage": _l("Add county-level units"),
    "certificates.revoke": _l("Revoke certificates"),
    "staff.manage": _l("Manage the enterprise's staff accounts"),
    "channels.manage": _l("Configure notification channels"),
    "audit.view": _l("Read the audit trail"),
    "info.publish": _l("Publish industry information"),
    "reports.view": _l("See dashboards, statistics and ledgers"),
    "reports.export": _l("Export dashboards, statistics and ledgers"),
}
SCOPE_LABELS = {
    "read": _l("Read what the user may see"),
    "notifications:write": _l("Mark notifications read"),
    "cases:write": _l("Open cases and comment"),
    "tasks:write": _l("Claim, assign and complete tasks; upload attachments"),
    "data:submit": _l("Report enterprise data"),
    "readings:write": _l("Send monitoring readings"),
    "models:write": _l("Upload process models, decision tables and checklist templates"),
    "thresholds:write": _l("Replace threshold rules"),
    "enterprises:write": _l("Register and edit enterprises"),
}
READ_METHODS = ("GET", "HEAD", "OPTIONS")


def label(key: str) -> str:
    return str(LABELS.get(key, key))


def require_right(key: str):
    """A view only users holding right ``key`` reach (403 otherwise); checked on every request."""
    if key not in RIGHTS:
        raise KeyError(key)

    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not has_right(current_user, key):
                raise Forbidden(f"this needs the right '{key}'")
            return view(*args, **kwargs)

        wrapped.required_right = key
        return wrapped

    return decorate


def check_right(user, key: str, message: str | None = None) -> None:
    if not has_right(user, key):
        raise Forbidden(message or f"this needs the right '{key}'")


def api_scope(*scopes: str):
    """Declare the API key scope an endpoint needs (any one of ``scopes``); a token without it gets 403
    naming the scope."""
    for scope in scopes:
        if scope not in SCOPES:
            raise KeyError(scope)

    def decorate(view):
        view.api_scope = scopes
        return view

    return decorate


def scope_needed(endpoint: str | None, method: str) -> tuple[str, ...] | None:
    """The scopes (any one) an API request needs: the endpoint's declaration; an undeclared read needs
    ``read``, an undeclared write is open to no token (browser sessions stay governed by the user's rights)."""
    view = current_app.view_functions.get(endpoint or "")
    declared = getattr(view, "api_scope", None)
    if declared:
        return declared
    return ("read",) if method in READ_METHODS else None


def token_lacks_scope() -> str | None:
    """For a request made with a token: the scope it lacks ('' when the endpoint declares none), or None."""
    token = g.get("api_token")
    if token is None:
        return None
    needed = scope_needed(request.endpoint, request.method)
    if needed is None:
        return ""
    return None if set(needed) & set(token.scope_list) else " or ".join(needed)


def rights_lacking(user) -> list[str]:
    """For a request made with a token: when the user's own rights allow none of the scopes the endpoint
    needs, the rights that would. No key of his can carry such a scope, so the scope is not what he
    lacks, the right is (an enterprise user uploading a process model)."""
    if g.get("api_token") is None:
        return []
    needed = scope_needed(request.endpoint, request.method) or ()
    if not needed or any(scope_allowed(user, s) for s in needed):
        return []
    return list(dict.fromkeys(r for s in needed for r in SCOPES[s]))


def register(app) -> None:
    @app.context_processor
    def rights_in_templates():
        return {"has_right": lambda key: has_right(current_user, key), "right_label": label}
