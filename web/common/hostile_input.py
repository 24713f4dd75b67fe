"""NUL, lone surrogates and runaway nesting, refused where requests come in (issue 16).

Two doors, one check each: every JSON body goes through the app's JSON provider (so every
``request.get_json`` of every view), and every query parameter, uploaded file name and, for the API,
every form field goes through one before-request hook. The pages' own forms are checked by their
WTForms base (forms/base.py), so a page shows its form again with the message.
"""
from flask import abort, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext as _

from workflows import text
from workflows.errors import InvalidInput

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def bad_text_message() -> str:
    return _("Contains a character that is not allowed (NUL or an unpaired surrogate).")


def refuse(field: str):
    raise InvalidInput(_("%(field)s contains a character that is not allowed.", field=field),
                       {field: [bad_text_message()]})


class GuardedJSONProvider(DefaultJSONProvider):
    """``loads`` bounded in depth (400) and refusing NUL and lone surrogates (422, naming the path).
    Raised as HTTP and engine errors, not ValueError, so ``get_json(silent=True)`` does not hide them."""

    def loads(self, s, **kwargs):
        if kwargs:
            return super().loads(s, **kwargs)
        try:
            return text.loads(s)
        except text.TooDeep as exc:
            abort(400, str(exc))
        except text.BadText as exc:
            refuse(exc.path)


def _refuse_bad_text():
    if text.has_bad_text(request.path):
        # An API path parameter is named like a query parameter (422), so a client learns which value to fix.
        named = [k for k, v in (request.view_args or {}).items() if text.has_bad_text(v)]
        if request.path.startswith("/api/") and named:
            refuse(named[0])
        abort(400, _("The address contains a character that is not allowed."))
    mimetype = request.mimetype
    if mimetype == "application/x-www-form-urlencoded":
        # Kept before the form is parsed: a view may want the raw body (`curl --data-binary` of a model).
        request.get_data()
    for name, value in request.args.items(multi=True):
        if text.has_bad_text(name) or text.has_bad_text(value):
            refuse(text.clean_text(name) or "query")
    if mimetype not in FORM_TYPES:
        # Werkzeug parses fields and files from these two bodies only; any other (the API's JSON) has
        # none, and asking for them cost the request a form parser and a wrapped input stream.
        return
    for name, upload in request.files.items(multi=True):
        if text.has_bad_text(upload.filename):
            refuse(text.clean_text(name or "") or "file")
    if request.path.startswith("/api/"):
        for name, value in request.form.items(multi=True):
            if text.has_bad_text(name) or text.has_bad_text(value):
                refuse(text.clean_text(name or "") or "form")


def register(app) -> None:
    app.json = GuardedJSONProvider(app)
    app.before_request_funcs.setdefault(None, []).insert(0, _refuse_bad_text)  # before authentication too
