"""Notifications: the header count, the list page, marking read, and the summary shown at sign-in."""
from datetime import UTC, datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import func, select, update

from models import TASK_OPEN, Notification, Task
from web.common import taskflow
from web.common.params import small_int
from web.common.unit_of_work import writes_done
from web.extensions import db
from workflows import access, lateness
from workflows.engine import clock

bp = Blueprint("notifications", __name__)
PER_PAGE = 50
KINDS = {"task_created": _l("New task"), "task_assigned": _l("Task assigned to you"),
         "task_overdue": _l("Task overdue"), "message": _l("Message"),
         "case_cancelled": _l("Case cancelled"), "case_suspended": _l("Case suspended"),
         "case_resumed": _l("Case resumed"), "case_transferred": _l("Case transferred"),
         "case_migrated": _l("Case moved to a newer model version"), "task_delegated": _l("Task delegated to you")}
TASK_KINDS = ("task_created", "task_assigned", "task_delegated")


def user_stmt(user):
    """The user's notifications, unread first, newest first."""
    return select(Notification).where(Notification.user_id == user.id) \
        .order_by(Notification.read_at.is_not(None), Notification.id.desc())


def unread_count(user) -> int:
    return db.session.scalar(select(func.count()).where(Notification.user_id == user.id,
                                                        Notification.read_at.is_(None))) or 0


def mark_read(user, ids=None) -> int:
    """Mark the user's notifications read (all unread ones when ``ids`` is None); returns how many."""
    stmt = update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if ids is not None:
        if not ids:
            return 0
        stmt = stmt.where(Notification.id.in_(ids))
    result = db.session.execute(stmt.values(read_at=datetime.now(UTC)).execution_options(synchronize_session=False))
    writes_done()
    return result.rowcount


def as_dict(n: Notification) -> dict:
    return {"id": n.id, "kind": n.kind, "text": n.text, "case_id": n.case_id, "task_id": n.task_id,
            "created_at": taskflow.iso(n.created_at), "read_at": taskflow.iso(n.read_at),
            "read": n.read_at is not None}


def login_summary(user) -> None:
    """Flash, right after sign-in, how many new and overdue tasks wait, with links to them."""
    new_tasks = db.session.scalar(
        select(func.count(func.distinct(Notification.task_id)))
        .join(Task, Task.id == Notification.task_id)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None),
               Notification.kind.in_(TASK_KINDS), Task.status == TASK_OPEN)) or 0
    overdue = db.session.scalar(
        select(func.count()).select_from(Task)
        .where(access.group_queue(user), Task.status == TASK_OPEN, lateness.late(clock.now()))) or 0
    if not new_tasks and not overdue:
        return
    parts = []
    if new_tasks:
        parts.append(Markup('<a id="login-new-tasks" href="{}">{}</a>').format(
            url_for("notifications.index"), _("%(n)s new tasks", n=new_tasks)))
    if overdue:
        parts.append(Markup('<a id="login-overdue-tasks" href="{}">{}</a>').format(
            url_for("queue.index", scope="group", overdue="1"), _("%(n)s overdue tasks", n=overdue)))
    flash(Markup("{} ").format(_("Waiting for you:")) + Markup(" · ").join(parts), "info")


def link_for(n: Notification) -> str | None:
    if n.task_id:
        return url_for("queue.task", task_id=n.task_id)
    if n.case_id:
        return url_for("cases.detail", case_id=n.case_id)
    return None


@bp.app_context_processor
def header_count():
    # A function, so pages that do not show the header cost no query.
    def unread_notifications() -> int:
        return unread_count(current_user) if current_user.is_authenticated else 0

    return {"unread_notifications": unread_notifications}


@bp.get("/notifications")
@login_required
def index():
    page = request.args.get("page", "1")
    page = small_int(page) or 1
    items = db.session.scalars(user_stmt(current_user).limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    total = db.session.scalar(select(func.count()).where(Notification.user_id == current_user.id))
    return render_template("notifications.html", items=items, kinds=KINDS, link_for=link_for, page=page,
                           per_page=PER_PAGE, total=total, unread=unread_count(current_user))


@bp.post("/notifications/read")
@login_required
def read():
    if request.form.get("all"):
        mark_read(current_user)
    else:
        ids = [small_int(i) for i in request.form.getlist("id") if small_int(i) is not None]
        mark_read(current_user, ids)
    target = request.form.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target, 303)
    flash(_("Marked as read."), "success")
    return redirect(url_for("notifications.index"), 303)
