"""Notification channels beyond the site and mail: group robots (WeCom, DingTalk) and SMS.

A delivery is an outbox row written in the transaction that wrote the notification, so a message is
never lost between the event and the send: the periodic job sends pending rows and retries failures
with a growing pause; after the last attempt a row stays as ``failed`` until an admin sends it again.
"""
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .org import Region
from .types import UTCDateTime

CHANNEL_WECOM, CHANNEL_DINGTALK, CHANNEL_SMS = "wecom", "dingtalk", "sms"
ROBOT_CHANNELS = (CHANNEL_WECOM, CHANNEL_DINGTALK)
DELIVERY_PENDING, DELIVERY_SENT, DELIVERY_FAILED = "pending", "sent", "failed"


class NotificationRobot(Base):
    """A group robot of the city's or a county's working group: told what that area's authority
    people are told, for the categories chosen. The webhook address and signing secret are
    credentials, kept encrypted with the field cipher."""

    __tablename__ = "notification_robots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    # None: the city's own group (city-level authority people); else a county's.
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str | None] = mapped_column(Text)
    categories: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    region: Mapped[Region | None] = relationship()


class Delivery(Base):
    """One message on one channel to one addressee (a user for SMS, a robot for a group)."""

    __tablename__ = "deliveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    robot_id: Mapped[int | None] = mapped_column(ForeignKey("notification_robots.id", ondelete="CASCADE"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    text: Mapped[str] = mapped_column(String(512), default="")
    status: Mapped[str] = mapped_column(String(16), default=DELIVERY_PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str] = mapped_column(String(512), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    robot: Mapped[NotificationRobot | None] = relationship()


Index("ix_deliveries_due", Delivery.status, Delivery.next_attempt_at)
