"""Errors as the API contract states them, and as pages for browsers."""
from flask import g, jsonify, render_template, request
from flask_babel import gettext as _
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
        return render_template("error.html", status=status, message=exc.message), status

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
        return render_template("error.html", status=exc.code, message=exc.description), exc.code, headers

    # The database gone (restarting, failing over, unreachable) or too busy to give a connection: the
    # request could not be served but nothing is wrong with it, so 503 and "try again", never a 500.
    # Its transaction was never committed; the pool checks connections before use (pool_pre_ping),
    # so the same process serves again as soon as the database is back.
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
            response, status = render_template("error.html", status=503, message=message), 503
        return response, status, {"Retry-After": "30"}
