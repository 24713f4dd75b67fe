"""Acting once per submission: the Idempotency-Key header on the API's POSTs, and a single-use
submission token in the web forms that create or complete something.

A double click, a client retrying after a timeout, or two processes racing with the same key get
the first request's answer instead of a second case with the next official number. The store and
its race-proof claim are in ``workflows.services.idempotency_store``; here the key is read from the request, the
answer is kept once the response is made, in the request's one commit with its work and its audit entry,
and a repeat is answered from it.

API: the key is optional (RFC draft "The Idempotency-Key HTTP Header Field"); a repeat gets the same
status and body with ``Idempotent-Replayed: true``; the key with another body is refused with 422;
while the first request is still being served a repeat waits for it (IDEMPOTENCY_WAIT_SECONDS),
then gets 409. Web forms: the token is a hidden field made at each rendering; a repeat is sent where
the first submission went, with a message saying so.
"""
import hashlib
import logging
import re
import secrets
import time
from datetime import UTC, datetime

from flask import Response, current_app, flash, g, redirect, request, session
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from werkzeug.exceptions import BadRequest, Conflict

from workflows.services import idempotency_store as store

from .http_errors import json_error
from .unit_of_work import at_request_end, factory

log = logging.getLogger(__name__)
HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
FIELD = "submission_token"
SESSIONS = "gasflow.idempotency_sessions"
# Printable ASCII, 1 to 255 characters, no space at either end (a header value loses those anyway).
KEY_PATTERN = r"^[!-~]([ -~]{0,253}[!-~])?$"
_KEY = re.compile(KEY_PATTERN)
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


def register(app) -> None:
    app.extensions[SESSIONS] = factory(app)  # the platform's unit of work, not a session factory of its own
    app.before_request(_web_form)
    at_request_end(app, _settle)  # the answer rides in the request's last transaction, before the audit entry
    app.add_template_global(submission_field)


def submission_field() -> Markup:
    """The hidden field of a form that must act once: a new token each time the form is shown."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(FIELD, secrets.token_urlsafe(24))


# ---- API ------------------------------------------------------------------------------------------
def parse_key(raw: str) -> str | None:
    """The key of an Idempotency-Key header: the draft makes it a structured-field string, so a
    quoted value is unquoted; bare tokens, as most clients send them, are taken as they are."""
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value if _KEY.match(value) else None


def begin_api(user) -> tuple | Response | None:
    """Called by the API's authentication once the caller is known: claims the POST's key, or
    answers the request from the first one that carried it. None: go on and act."""
    raw = request.headers.get(HEADER)
    if request.method != "POST" or raw is None:
        return None
    key = parse_key(raw)
    if key is None:
        return json_error(400, "invalid_idempotency_key", "the Idempotency-Key must be 1 to 255 printable ASCII "
                          "characters", {HEADER: ["1 to 255 printable ASCII characters."]})
    outcome = _claim(user.id, key, _fingerprint())
    if outcome.state == store.CLAIMED:
        g.idempotency = (outcome.row_id, "api")
        return None
    if outcome.state == store.MISMATCH:
        return json_error(422, "idempotency_key_reused", "this Idempotency-Key was sent with a different request "
                          "(method, path, query or body); use a new key for a new request",
                          {HEADER: ["Already used for a different request."]})
    if outcome.state == store.BUSY:
        response, status = json_error(409, "idempotency_in_progress", "a request with this Idempotency-Key is "
                                      "still being processed; send it again in a moment",
                                      {HEADER: ["A request with this key is still being processed."]})
        return response, status, {"Retry-After": "1"}
    return _replay(outcome.row)


def _replay(row) -> Response:
    response = Response(row.body, status=row.status, content_type=row.content_type)
    if row.location:
        response.headers["Location"] = row.location
    response.headers[REPLAYED] = "true"
    return response


def _fingerprint() -> str:
    """What makes two requests the same one: content type, query and body. A multipart body's
    boundary is random per request, so it is left out."""
    body = request.get_data()  # kept by Werkzeug: the view parses the same bytes afterwards
    boundary = request.mimetype_params.get("boundary") if request.mimetype.startswith("multipart/") else None
    if boundary:
        body = body.replace(boundary.encode("latin-1", "replace"), b"")
    digest = hashlib.sha256(request.mimetype.encode() + b"\n" + request.query_string + b"\n")
    digest.update(body)
    return digest.hexdigest()


# ---- web forms ----------------------------------------------------------------------------------
def _web_form():
    if request.method != "POST" or request.path.startswith("/api/"):
        return None
    token = request.form.get(FIELD)
    if not token or not current_user.is_authenticated:
        return None  # a page without the field, or a visitor the view sends to the sign-in page
    if not _TOKEN.fullmatch(token):
        raise BadRequest(_("The form could not be read; open it again."))
    outcome = _claim(current_user.id, token, "")
    if outcome.state == store.CLAIMED:
        g.idempotency = (outcome.row_id, "web")
        return None
    if outcome.state == store.REPLAY and outcome.row.location:
        flash(_("This form had already been submitted; here is the result of the first submission."), "info")
        return redirect(outcome.row.location, 303)
    if outcome.state == store.REPLAY:
        return _replay(outcome.row)
    raise Conflict(_("This form is still being submitted. Reload the page in a moment."))


# ---- both -----------------------------------------------------------------------------------------
def _claim(user_id: int, key: str, fingerprint: str) -> store.Claim:
    """Claim the key, waiting while another request that carries it is being served."""
    sessions = current_app.extensions[SESSIONS]
    deadline = time.monotonic() + current_app.config["IDEMPOTENCY_WAIT_SECONDS"]
    pause = 0.02
    while True:
        outcome = store.claim(sessions, user_id, request.method, request.path, key, fingerprint, datetime.now(UTC))
        if outcome.state != store.BUSY or time.monotonic() >= deadline:
            return outcome
        time.sleep(pause)
        pause = min(pause * 2, 0.25)


def _answer(claimed, response) -> tuple | None:
    """The answer worth keeping: an API success, or where a web form's success sent the browser.
    Anything else changed nothing (None: the key is given back)."""
    if response is None or response.is_streamed:
        return None
    status, location = response.status_code, response.headers.get("Location")
    if claimed[1] == "api" and 200 <= status < 300:
        return status, response.content_type, location, response.get_data()
    if claimed[1] == "web" and 300 <= status < 400 and location and _flashed_success():
        return status, None, location, b""
    if claimed[1] == "web" and 200 <= status < 300:  # a result page (data reporting) rather than a redirect
        return status, response.content_type, None, response.get_data()
    return None


def _flashed_success() -> bool:
    """Whether the view said it acted: the pages flash "success" when they did, and also redirect
    after a refusal (the task was completed by someone else), which must not be replayed as a result."""
    return any(category == "success" for category, _message in session.get("_flashes", ()))


def _settle(s, response):
    """Keep the answer, or give the key back, in the request's last transaction (web/common/unit_of_work.py):
    committed with the request's work, or not at all. A request whose commit failed is answered with an
    error, with which this is called again: the key is then given back, since nothing was done."""
    claimed = g.get("idempotency")
    if claimed is None:
        return None
    answer = _answer(claimed, response)
    if answer is None:
        store.release_in(s, claimed[0])
    else:
        store.finish_in(s, claimed[0], *answer, now=datetime.now(UTC))
    del g.idempotency  # written: a write that raised leaves the claim for the request's end to settle again

    def done(kept: bool) -> None:
        if not kept:
            # The key stays claimed unless a later try gives it back: requests with it are refused (409)
            # until it expires, which is safer than letting them act a second time.
            g.idempotency = claimed
            log.error("the answer of an idempotent request could not be kept")
    return done


def prune_expired(app) -> int:
    """The periodic job's step: keys past their 24 hours are deleted."""
    with app.extensions[SESSIONS]() as s:
        removed = store.prune(s, datetime.now(UTC))
        s.commit()
    return removed
