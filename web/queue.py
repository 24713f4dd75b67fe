"""Task queues and task pages."""
from datetime import UTC, datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from models import Case, Task, User
from workflows import access
from workflows.errors import Conflict, InvalidInput
from workflows.roles import user_plays

from . import case_engine, taskflow
from .extensions import db

bp = Blueprint("queue", __name__)
PER_PAGE = 50


def _queue_stmt(user, scope: str):
    stmt = select(Task).where(access.task_scope(user), Task.status == "open")
    if scope == "mine":
        return stmt.where(Task.assignee_id == user.id)
    if scope == "group":
        return stmt.where(access.group_queue(user))
    return stmt


@bp.get("/")
@login_required
def index():
    user = current_user
    scope = request.args.get("scope", "group")
    if scope not in ("mine", "group", "all"):
        scope = "group"
    stmt = _queue_stmt(user, scope)
    process = request.args.get("process", "")
    if process:
        stmt = stmt.join(Case, Case.id == Task.case_id).where(Case.process_key == process)
    overdue = request.args.get("overdue") == "1"
    if overdue:
        stmt = stmt.where(Task.due_at < datetime.now(UTC))
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and int(page) > 0 else 1
    tasks = db.session.scalars(stmt.order_by(Task.due_at.is_(None), Task.due_at, Task.id)
                               .limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    counts = {s: db.session.scalar(select(func.count()).select_from(_queue_stmt(user, s).subquery()))
              for s in ("mine", "group", "all")}
    overdue_count = db.session.scalar(select(func.count()).select_from(
        _queue_stmt(user, "all").where(Task.due_at < datetime.now(UTC)).subquery()))
    return render_template("queue.html", tasks=tasks, scope=scope, counts=counts, process=process,
                           overdue=overdue, overdue_count=overdue_count, page=page, per_page=PER_PAGE,
                           is_overdue=taskflow.is_overdue)


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@login_required
def task(task_id):
    user = current_user._get_current_object()
    task = taskflow.visible_task(task_id, user)
    can_work = task.status == "open" and access.can_work_task(user, task)
    form = None
    if can_work:
        form = taskflow.bind_form(task.form_key, user, task=task)  # Flask-WTF reads the posted form and files
        if request.method == "POST" and form.validate():
            try:
                case_id = taskflow.complete_task(task, user, form)
            except Conflict:
                flash(_("This task was completed by someone else in the meantime."), "error")
                return redirect(url_for("cases.detail", case_id=task.case_id))
            except InvalidInput as exc:
                for name, messages in exc.fields.items():
                    if name in form:
                        form[name].errors = list(messages)
                flash(exc.message, "error")
                return render_template("task.html", task=task, form=form, can_work=can_work,
                                       assignees=_assignees(task)), 422
            flash(_("Task completed."), "success")
            return redirect(url_for("cases.detail", case_id=case_id))
        if request.method == "POST":
            return render_template("task.html", task=task, form=form, can_work=can_work,
                                   assignees=_assignees(task)), 422
    elif request.method == "POST":
        flash(_("This task is not open for you."), "error")
        return redirect(url_for("queue.task", task_id=task_id)), 303
    return render_template("task.html", task=task, form=form, can_work=can_work, assignees=_assignees(task),
                           case=taskflow.case_dict(task.case, user, full=False))


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
        elif action == "unclaim":
            engine.unclaim(task_id, user)
        elif action == "assign":
            engine.assign(task_id, user, request.form.get("user", ""))
        else:
            return redirect(url_for("queue.task", task_id=task_id))
    except (Conflict, InvalidInput) as exc:
        flash(exc.message, "error")
    return redirect(url_for("queue.task", task_id=task_id))
