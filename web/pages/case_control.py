"""Control of running cases on the pages: cancel, suspend, resume and transfer on the case page, delegate on
the task page, migrate running cases to a newer version on the process model's admin page (preview, then
apply). Each form asks for a reason and a ticked confirmation; a refused one is shown again with its
message (422 or 409), nothing changed."""
from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from models import CASE_ACTIVE, ProcessModel, User
from web.common import taskflow
from web.common.rights import check_right
from web.extensions import case_engine, db
from web.pages.case_page import detail_page
from workflows import access
from workflows.errors import Conflict, Forbidden, InvalidInput
from workflows.permissions import has_right, may_work
from workflows.roles import user_plays

bp = Blueprint("case_control", __name__)
ACTIONS = {"cancel": ("cases.control", _l("Case cancelled.")),
           "suspend": ("cases.control", _l("Case suspended.")),
           "resume": ("cases.control", _l("Case resumed.")),
           "transfer": ("cases.transfer", _l("Case transferred."))}
CONFLICTS = {"cancel": _l("Only a running case can be cancelled."),
             "suspend": _l("Only an active case can be suspended."),
             "resume": _l("Only a suspended case can be resumed."),
             "transfer": _l("Only a running case can be transferred.")}


def field_message(name: str) -> str:
    return {"reason": _("Give a reason."), "county": _("Choose another county."),
            "user": _("Choose a user who may work this task."), "confirm": _("Tick the confirmation."),
            "version": _("Choose a newer version.")}.get(name, _("Check this field."))


def delegates(task, user) -> list[User]:
    """Whom the user may hand the task to: active users who may work it, other than himself."""
    if not (task.status == "open" and has_right(user, "tasks.delegate") and access.can_work_task(user, task)
            and task.case.status == CASE_ACTIVE):
        return []
    users = db.session.scalars(select(User).where(User.active.is_(True), User.id != user.id)
                               .order_by(User.display_name)).all()
    return [u for u in users if user_plays(u.role, task.role) and access.can_see_task(u, task) and may_work(u, task)]


def _note_reason(reason: str) -> None:
    """The reason goes with the audit log's entry of this request (web/pages/admin/audit.py)."""
    g.audit_detail = {"reason": (reason or "").strip()[:300]}


def _confirmed() -> None:
    if request.form.get("confirm") != "1":
        raise InvalidInput("confirm", {"confirm": ["required"]})


@bp.post("/cases/<int:case_id>/control/<action>")
@login_required
def act(case_id, action):
    user = current_user._get_current_object()
    case = taskflow.visible_case(case_id, user)
    if action not in ACTIONS:
        return redirect(url_for("cases.detail", case_id=case_id))
    right, done = ACTIONS[action]
    check_right(user, right)
    control = case_engine().control
    reason = request.form.get("reason", "")
    _note_reason(reason)
    try:
        _confirmed()
        if action == "transfer":
            county = request.form.get("county", "")
            county_id = int(county) if county.isdigit() and len(county) < 10 else None
            control.transfer(case_id, user, county_id, reason)
            flash(str(done), "success")
            # The case is out of the user's area now (unless he is the city's): back to the list.
            if not access.can_see_case(user, case):
                return redirect(url_for("cases.index"), 303)
        else:
            getattr(control, action)(case_id, user, reason)
            flash(str(done), "success")
    except InvalidInput as exc:
        errors = {name: field_message(name) for name in exc.fields}
        return _again(case_id, user, action, reason, errors, 422)
    except Conflict:
        return _again(case_id, user, action, reason, {"state": str(CONFLICTS[action])}, 409)
    return redirect(url_for("cases.detail", case_id=case_id, _anchor="history"), 303)


def _again(case_id, user, action, reason, errors, status):
    db.session.rollback()
    db.session.expire_all()
    case = taskflow.visible_case(case_id, user)
    return detail_page(case, user, control_form={"action": action, "reason": reason, "errors": errors}), status


@bp.post("/tasks/<int:task_id>/delegate")
@login_required
def delegate(task_id):
    user = current_user._get_current_object()
    taskflow.visible_task(task_id, user)
    check_right(user, "tasks.delegate")
    _note_reason(request.form.get("reason", ""))
    try:
        _confirmed()
        case_engine().control.delegate(task_id, user, request.form.get("user", ""), request.form.get("reason", ""))
    except InvalidInput as exc:
        for name in exc.fields:
            flash(field_message(name), "error")
        return redirect(url_for("queue.task", task_id=task_id), 303)
    except (Conflict, Forbidden):
        flash(_("This task cannot be delegated now."), "error")
        return redirect(url_for("queue.task", task_id=task_id), 303)
    flash(_("Task delegated."), "success")
    return redirect(url_for("queue.index", scope="delegated"), 303)


# ---- migration (the city admin's process model page) ---------------------------------------------------------
def _latest(key: str) -> ProcessModel:
    model = db.session.scalar(select(ProcessModel).where(ProcessModel.key == key)
                              .order_by(ProcessModel.version.desc()).limit(1))
    if model is None:
        from flask import abort

        abort(404)
    return model


def _preview_page(key, reason="", errors=None, moved=None, status=200):
    user = current_user._get_current_object()
    model = _latest(key)
    checks = case_engine().control.migration_preview(user, key, model.version)
    return render_template("admin/migration.html", model=model, checks=checks, reason=reason,
                           errors=errors or {}, moved=moved), status


@bp.get("/admin/models/processes/<key>/migration")
@login_required
def migration(key):
    check_right(current_user, "cases.migrate")
    return _preview_page(key)


@bp.post("/admin/models/processes/<key>/migration")
@login_required
def migrate(key):
    user = current_user._get_current_object()
    check_right(user, "cases.migrate")
    model = _latest(key)
    reason = request.form.get("reason", "")
    _note_reason(reason)
    try:
        _confirmed()
        moved, _refused = case_engine().control.migrate_all(user, key, reason, model.version)
    except InvalidInput as exc:
        db.session.rollback()
        return _preview_page(key, reason, {name: field_message(name) for name in exc.fields}, status=422)
    flash(_("%(n)s cases moved to version %(v)s.", n=len(moved), v=model.version), "success")
    return redirect(url_for("case_control.migration", key=key), 303)
