"""Task queues and task pages."""
from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from models import User
from web.common import task_context, taskflow
from web.common.http_errors import refusal
from web.common.params import small_int
from web.extensions import case_engine, db
from web.pages import case_control, drafts
from workflows import access
from workflows.errors import Conflict, Forbidden, InvalidInput
from workflows.lateness import is_late
from workflows.roles import user_plays

bp = Blueprint("queue", __name__)
PER_PAGE = taskflow.PER_PAGE


@bp.get("/")
@login_required
def index():
    user = current_user._get_current_object()
    args = request.args.to_dict()
    # The page keeps its old leniency about page numbers; filters a user got wrong are said out loud.
    page = args.get("page") or "1"
    if not small_int(page):
        args.pop("page", None)
    args.pop("per_page", None)
    error, status = None, 200
    try:
        query = taskflow.parse_queue_args(args)
        result = taskflow.queue_page(user, query)
    except taskflow.BadFilter as exc:
        error, status = exc, 400
        scope = args.get("scope") if args.get("scope") in taskflow.SCOPES else "group"
        query = taskflow.QueueQuery(scope=scope)
        result = taskflow.QueuePage(items=[], total=0, page=1, per_page=PER_PAGE,
                                    counts=taskflow.queue_counts(user))
    return render_template("queue.html", query=query, result=result, tasks=result.items, scope=query.scope,
                           counts=result.counts, overdue_count=result.counts["overdue"], error=error,
                           choices=taskflow.queue_choices(user), is_late=is_late,
                           follow_up_reached=taskflow.follow_up_reached), status


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@login_required
def task(task_id):
    user = current_user._get_current_object()
    task = taskflow.visible_task(task_id, user)
    g.presenting_process = task.case.process_key  # the case's fields by its own forms' labels
    # A suspended case's tasks wait for it to be resumed (workflows/engine/control.py).
    can_work = task.status == "open" and access.can_work_task(user, task) and task.case.status != "suspended"
    form = None
    if can_work:
        form = taskflow.bind_form(task.form_key, user, task=task)  # Flask-WTF reads the posted form and files
        if request.method == "GET":
            drafts.restore(form, task, user)  # a half-filled checklist, as the inspector left it
        if request.method == "POST" and form.validate():
            try:
                case_id = taskflow.complete_task(task, user, form)
            except Conflict:
                flash(_("This task was completed by someone else in the meantime."), "error")
                return redirect(url_for("cases.detail", case_id=task.case_id))
            except InvalidInput as exc:
                for name, messages in exc.fields.items():
                    if name in form:
                        form[name].errors = [refusal(m) if isinstance(m, str) else m for m in messages]
                flash(refusal(exc.message), "error")
                return _task_page(task, form, can_work), 422
            drafts.completed(task)
            flash(_("Task completed."), "success")
            return redirect(url_for("cases.detail", case_id=case_id))
        if request.method == "POST":
            return _task_page(task, form, can_work), 422
    elif request.method == "POST":
        flash(_("This task is not open for you."), "error")
        return redirect(url_for("queue.task", task_id=task_id)), 303
    return _task_page(task, form, can_work)


def _task_page(task, form, can_work):
    user = current_user._get_current_object()
    context = task_context.context_of(task, user)
    if form is not None:
        task_context.label_rows(form, context)
    return render_template("task.html", task=task, form=form, can_work=can_work, assignees=_assignees(task),
                           context=context,
                           case=taskflow.case_dict(task.case, user, full=False),
                           overdue=is_late(task), follow_up_reached=taskflow.follow_up_reached(task),
                           can_follow_up=taskflow.may_set_follow_up(task, user),
                           delegates=case_control.delegates(task, user))


@bp.post("/tasks/<int:task_id>/follow-up")
@login_required
def follow_up(task_id):
    user = current_user._get_current_object()
    task = taskflow.visible_task(task_id, user)
    try:
        when = None
        if request.form.get("action") != "clear":
            when = taskflow.parse_instant(request.form.get("follow_up_at", ""), "follow_up_at")
        taskflow.set_follow_up(task, user, when)
    except Conflict:
        flash(_("This task is no longer open."), "error")
    except Forbidden:
        flash(_("Only the assignee or a supervisor may set the follow-up date."), "error")
    except InvalidInput as exc:
        flash(refusal(exc.message), "error")
    else:
        flash(_("Follow-up date saved.") if when else _("Follow-up date cleared."), "success")
    return redirect(url_for("queue.task", task_id=task_id))


def _assignees(task):
    if not access.can_assign(current_user, task) or task.status != "open":
        return []
    users = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.username)).all()
    return [u for u in users if user_plays(u.role, task.role) and access.can_see_task(u, task)]


@bp.post("/tasks/<int:task_id>/<action>")
@login_required
def act(task_id, action):
    user = current_user._get_current_object()
    engine = case_engine()
    try:
        if action == "claim":
            engine.claim(task_id, user)
            flash(_("You claimed this task; it is in your tasks now."), "success")
        elif action == "unclaim":
            engine.unclaim(task_id, user)
            flash(_("Task released; anyone of its role may claim it."), "success")
        elif action == "assign":
            username = request.form.get("user", "")
            engine.assign(task_id, user, username)
            assignee = db.session.scalar(select(User).where(User.username == username))
            flash(_("Task assigned to %(name)s.", name=assignee.display_name if assignee else username), "success")
        else:
            return redirect(url_for("queue.task", task_id=task_id))
    except (Conflict, InvalidInput) as exc:
        # A refused right (Forbidden) stays a 403 page: the access matrix depends on it.
        flash(refusal(exc.message, 409 if isinstance(exc, Conflict) else 422), "error")
    return redirect(url_for("queue.task", task_id=task_id))
