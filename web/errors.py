"""Errors as the API contract states them, and as pages for browsers."""
from flask import jsonify, render_template, request
from werkzeug.exceptions import HTTPException

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

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if wants_json():
            code = (exc.name or "error").lower().replace(" ", "_")
            return json_error(exc.code or 500, code, exc.description or exc.name)
        return render_template("error.html", status=exc.code, message=exc.description), exc.code
