"""Drafts of task forms (an inspector's checklist): the task page saves the form as it changes
(``static/js/checklist.js``) and reads the draft back when the task is opened again. JSON in and out,
under the page's session and CSRF token (sent as the X-CSRFToken header)."""
from flask import Blueprint, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from forms import FORMS
from forms.drafts import DraftRefused, check
from web.common import taskflow
from web.common.http_errors import json_error
from web.common.unit_of_work import writes_done
from web.extensions import db
from workflows import access
from workflows.engine import clock
from workflows.errors import Conflict, InvalidInput
from workflows.services import task_drafts

bp = Blueprint("drafts", __name__)
MAX_BODY = 512 * 1024


def _keeps_drafts(task) -> bool:
    return bool(getattr(FORMS.get(task.form_key), "keeps_drafts", False))


def _workable(task_id):
    """The task if the caller may work it and its form keeps drafts; else the JSON error to answer."""
    user = current_user._get_current_object()
    task = taskflow.visible_task(task_id, user)  # 404 for a task the caller cannot see
    if not _keeps_drafts(task):
        return None, json_error(404, "not_found", _("This task's form keeps no drafts."))
    if task.status != "open":
        return None, _no_longer_open()
    if not access.can_work_task(user, task):
        return None, json_error(403, "forbidden", _("This task is not open for you."))
    return task, None


def _no_longer_open():
    return json_error(409, "conflict", _("This task is no longer open."))


def _saved(draft) -> dict:
    return {"data": draft.data, "saved_at": taskflow.iso(draft.saved_at)}


@bp.get("/tasks/<int:task_id>/draft")
@login_required
def show(task_id):
    task, refused = _workable(task_id)
    if refused:
        return refused
    draft = task_drafts.load(db.session, task, current_user)
    if draft is None:
        return json_error(404, "not_found", _("No draft of this task."))
    return jsonify(_saved(draft))


@bp.put("/tasks/<int:task_id>/draft")
@login_required
def save(task_id):
    task, refused = _workable(task_id)
    if refused:
        return refused
    if (request.content_length or 0) > MAX_BODY:
        return json_error(413, "too_large", _("The draft is too large."))
    try:
        body = request.get_json(silent=True)
    except InvalidInput as exc:  # NUL or a lone surrogate, refused as the JSON is read (names its path)
        fields = {name.removeprefix("data."): messages for name, messages in exc.fields.items()}
        return json_error(422, "invalid", _("The draft was not saved."), fields)
    if not isinstance(body, dict) or "data" not in body:
        return json_error(422, "invalid", _("Send the draft as {\"data\": {field: value}}."),
                          {"data": [_("Must be an object of field names and values.")]})
    user = current_user._get_current_object()
    form = taskflow.bind_form(task.form_key, user, json={}, task=task)
    try:
        data = check(form, body["data"])
    except DraftRefused as exc:
        return json_error(422, "invalid", _("The draft was not saved."), exc.fields)
    try:
        draft = task_drafts.save(db.session, task, user, data, clock.now())
    except Conflict:  # completed while this save was on its way (the page autosaves as it is sent)
        return _no_longer_open()
    writes_done()
    return jsonify(_saved(draft))


@bp.delete("/tasks/<int:task_id>/draft")
@login_required
def discard(task_id):
    task, refused = _workable(task_id)
    if refused:
        return refused
    task_drafts.discard(db.session, task.id, current_user)
    writes_done()
    return "", 204


def restore(form, task, user):
    """Fill a freshly shown task form from the user's draft, if there is one; the form then carries the
    time it was saved (``restored_draft``) for the page to say so."""
    if not getattr(form, "keeps_drafts", False):
        return
    draft = task_drafts.load(db.session, task, user)
    if draft is None:
        return
    pairs = [(k, v) for k, value in draft.data.items() for v in (value if isinstance(value, list) else [value])]
    form.process(formdata=MultiDict(pairs))
    form.restored_draft = draft.saved_at


def completed(task):
    """The task is done: its drafts go (everyone's)."""
    task_drafts.discard(db.session, task.id)
    writes_done()
