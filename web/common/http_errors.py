"""Errors as the API contract states them, and as pages for browsers."""
import re

from flask import g, jsonify, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, InternalServerError

from workflows.errors import (
    Conflict,
    EngineError,
    Forbidden,
    InvalidInput,
    InvalidModel,
    ModelRuntimeError,
    NotFound,
)

STATUS = {NotFound: 404, Forbidden: 403, Conflict: 409, InvalidInput: 422, InvalidModel: 422,
          ModelRuntimeError: 422}


# What an error page says, in the reader's language: a title and what to do, per status.
PAGE_TITLES = {400: _l("The request was not understood"), 403: _l("Not allowed"), 404: _l("Page not found"),
               405: _l("Not allowed this way"), 409: _l("Changed meanwhile"), 413: _l("File too large"),
               422: _l("The input was not accepted"), 429: _l("Too many requests"),
               500: _l("Something went wrong"), 503: _l("Unavailable for the moment")}
PAGE_TEXTS = {400: _l("Check the address or the form and try again."),
              403: _l("Your account does not have the right to see this page or do this."),
              404: _l("There is no such page, or it is not in your area."),
              405: _l("This page cannot be used this way."),
              409: _l("Someone else changed this in the meantime. Open it again and repeat what you did."),
              413: _l("The upload is larger than allowed. Send smaller files, or fewer at once."),
              422: _l("Check what you entered and try again."),
              429: _l("Too many requests in a short time. Wait a moment and try again."),
              500: _l("The error was recorded. Try again; if it happens again, tell the administrator."),
              503: _l("Please try again in a minute.")}
# The engine's own words (English, for the API and the logs), as a person reads them on a page. The engine
# stays Flask-free and words its refusals once, in English; the pages translate them here, at the web's edge.
ENGINE_MESSAGES = {"no such case": _l("There is no such case."), "no such task": _l("There is no such task."),
                   "task is no longer open": _l("This task is no longer open."),
                   "task is no longer ready": _l("This task is no longer open."),
                   "this task is not yours to complete": _l("This task is assigned to someone else."),
                   "task is assigned to someone else": _l("This task is assigned to someone else."),
                   "this task is not for your role": _l("This task is for another role."),
                   "no such item": _l("There is no such item."), "no such record": _l("There is no such record."),
                   "no such attachment": _l("There is no such file."),
                   "invalid data": _l("Check the fields marked below."),
                   "user cannot work this task": _l("Choose a user who may work this task."),
                   "no such user for this task": _l("Choose a user who may work this task."),
                   "only the assignee or a supervisor may release a task":
                       _l("Only the assignee or a supervisor may release a task."),
                   "only a supervisor may assign tasks": _l("Only a supervisor may assign tasks."),
                   "only the assignee or a supervisor may set the follow-up date":
                       _l("Only the assignee or a supervisor may set the follow-up date."),
                   "this account may not comment on cases": _l("This account may not comment on cases."),
                   "the case is suspended: its tasks cannot be completed until it is resumed":
                       _l("The case is suspended: its tasks cannot be completed until it is resumed."),
                   "enterprise not found": _l("Unknown enterprise."), "unknown enterprise": _l("Unknown enterprise."),
                   "unknown attachment": _l("A file is no longer there: upload it again."),
                   "unknown process": _l("Unknown process.")}


def refusal(message, status: int | None = 422) -> str:
    """A refusal as a person reads it, in the reader's language: a known engine message in its words, a
    page's own (translated) words as they are; else, on a Chinese page, what to do for the status (never a
    program's English). For flashes and field messages; error pages word theirs the same."""
    text = str(message or "")
    known = ENGINE_MESSAGES.get(text)
    if known is not None:
        return str(known)
    if text and (not str(get_locale() or "zh").startswith("zh") or _CJK.search(text)):
        return text
    status = status or 422
    return str(PAGE_TEXTS.get(status) or PAGE_TEXTS[500 if status >= 500 else 400])


def error_page(status: int, message=None):
    """The error page in the reader's language: its title, what to do, and the particular reason where it
    is written for a person (a page's own translated words, or a known engine message); never a
    program's English on a Chinese page."""
    title = PAGE_TITLES.get(status) or PAGE_TITLES[500 if (status or 500) >= 500 else 400]
    advice = PAGE_TEXTS.get(status) or PAGE_TEXTS[500 if (status or 500) >= 500 else 400]
    detail = refusal(message, status) if message else None
    if detail == str(advice):
        detail = None
    return render_template("error.html", status=status, title=str(title), advice=str(advice), message=detail)


_CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


def wants_json() -> bool:
    return request.path.startswith("/api/")


def json_error(status: int, code: str, message: str, fields: dict | None = None):
    body = {"error": {"code": code, "message": message, "fields": fields or {}}}
    return jsonify(body), status


def status_of(exc: EngineError) -> int:
    return next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)


def register(app):
    @app.errorhandler(EngineError)
    def engine_error(exc: EngineError):
        status = status_of(exc)
        if wants_json():
            return json_error(status, exc.code, exc.message, exc.fields)
        return error_page(status, exc.message), status

    @app.errorhandler(InternalServerError)
    def server_error(exc: InternalServerError):
        # An unhandled exception may leave the request's transaction failed (a statement the database
        # refused, a failed flush): rolled back first, or the page, which asks who is signed in, fails too.
        from web.extensions import db

        try:
            db.session.rollback()
        except Exception:  # the connection is gone; the session is discarded at teardown anyway
            app.logger.exception("the failed request's session could not be rolled back")
        return http_error(exc)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        # The exception's own headers say how to go on: Allow on a 405, Retry-After on a 429 or 503,
        # WWW-Authenticate on a 401. Only its body is replaced.
        headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
        if wants_json():
            code = (exc.name or "error").lower().replace(" ", "_")
            response, status = json_error(exc.code or 500, code, exc.description or exc.name)
            return response, status, headers
        # Werkzeug's own description is English; a description the page gave (translated) is kept.
        given = exc.description if exc.description != type(exc).description else None
        return error_page(exc.code, given), exc.code, headers

    # The database gone (restarting, failing over, unreachable) or too busy to give a connection: the
    # request could not be served but nothing is wrong with it, so 503 and "try again", never a 500.
    # Its transaction was never committed; the failed connection invalidates the pool, and the pool
    # pings connections idle for a moment before use (web/database.py, ping_after_idle), so the same
    # process serves again as soon as the database is back.
    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(DisconnectionError)
    @app.errorhandler(PoolTimeout)
    def database_unavailable(exc):
        app.logger.error("database unavailable: %s", exc)
        from web.extensions import db, login_manager

        try:
            db.session.rollback()
        except Exception:  # the connection is gone; the session is discarded at teardown anyway
            pass
        # The page must not ask the database who is signed in.
        g._login_user = login_manager.anonymous_user()
        message = _("The database is unavailable at the moment. Please try again in a minute.")
        if wants_json():
            response, status = json_error(503, "database_unavailable", message)
        else:
            response, status = error_page(503, message), 503
        return response, status, {"Retry-After": "30"}
