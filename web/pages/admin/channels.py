"""The city admin's notification channels: the city's and the counties' group robots (WeCom, DingTalk)
and the outbox, where failed deliveries wait to be sent again."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from forms.channels import CATEGORY_LABELS, CHANNEL_LABELS, RobotForm, RobotSwitchForm
from models import DELIVERY_FAILED, DELIVERY_PENDING, Delivery, NotificationRobot, Region
from web.common.dataflow import cipher
from web.common.unit_of_work import writes_done
from web.extensions import db
from workflows.engine import clock
from workflows.errors import Forbidden
from workflows.permissions import has_right
from workflows.services.channels import robots_of, send_again

bp = Blueprint("channels_admin", __name__, url_prefix="/admin/channels")

STATUS_LABELS = {"pending": "待发送", "sent": "已发送", "failed": "发送失败"}


@bp.before_request
@login_required
def channel_managers_only():
    if not has_right(current_user, "channels.manage"):
        raise Forbidden(_("Only the city admin configures the notification channels."))


def _form() -> RobotForm:
    hosts = tuple(h.strip() for h in current_app.config["ROBOT_HOSTS"].split(",") if h.strip())
    form = RobotForm(allowed_hosts=hosts)
    counties = db.session.scalars(select(Region).where(Region.level == "county").order_by(Region.code))
    form.region_id.choices = [(0, _("City (the city's own group)"))] + [(r.id, r.name) for r in counties]
    return form


def _page(form, status=200):
    counts = dict(db.session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all())
    failed = db.session.scalars(select(Delivery).where(Delivery.status == DELIVERY_FAILED)
                                .order_by(Delivery.id.desc()).limit(50)).all()
    waiting = db.session.scalars(select(Delivery).where(Delivery.status == DELIVERY_PENDING, Delivery.attempts > 0)
                                 .order_by(Delivery.next_attempt_at).limit(50)).all()
    return render_template("admin/channels.html", form=form, robots=robots_of(db.session), counts=counts,
                           failed=failed, waiting=waiting, category_labels=CATEGORY_LABELS,
                           channel_labels=CHANNEL_LABELS, status_labels=STATUS_LABELS,
                           switch=RobotSwitchForm()), status


@bp.get("")
def index():
    return _page(_form())


@bp.post("/robots")
def add_robot():
    form = _form()
    if not form.validate():
        return _page(form, 422)
    box = cipher()
    db.session.add(NotificationRobot(
        name=form.name.data.strip(), channel=form.channel.data, region_id=form.region_id.data or None,
        url=box.encrypt(form.url.data.strip()), secret=box.encrypt(form.secret.data) if form.secret.data else None,
        categories=list(form.categories.data), active=True, created_at=clock.now()))
    writes_done()
    flash(_("The group robot is added."), "success")
    return redirect(url_for(".index"))


@bp.post("/robots/<int:robot_id>/active")
def switch_robot(robot_id):
    robot = db.session.get(NotificationRobot, robot_id)
    if robot is None:
        abort(404)
    form = RobotSwitchForm()
    if not form.validate():
        abort(400)
    robot.active = bool(form.active.data)
    writes_done()
    flash(_("The group robot is switched on.") if robot.active else _("The group robot is switched off."), "success")
    return redirect(url_for(".index"))


@bp.post("/send-again")
def retry():
    ids = [int(v) for v in request.form.getlist("delivery") if v.isdigit()][:500]
    if not ids:
        ids = list(db.session.scalars(select(Delivery.id).where(Delivery.status == DELIVERY_FAILED).limit(500)))
    count = send_again(db.session, ids, clock.now())
    writes_done()
    flash(_("%(n)d messages will be sent again.", n=count), "success")
    return redirect(url_for(".index"))
