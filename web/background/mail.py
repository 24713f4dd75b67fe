"""E-mail for notifications, sent by the periodic job when MAIL_SERVER is set.

Rows are claimed with FOR UPDATE SKIP LOCKED (PostgreSQL) so that two workers running the job at
once do not mail the same notification twice; on SQLite the job's single writer does the same.
A message that could not be sent keeps ``emailed_at`` empty and is tried again on the next run.
Notifications of users without an e-mail address are never selected (the join filters them out),
and neither are those the user has already read on the site.
"""
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Notification, User
from workflows.engine import clock

log = logging.getLogger(__name__)

SUBJECTS = {
    "task_created": "新任务：{text}",
    "task_assigned": "任务已分派给您：{text}",
    "task_overdue": "任务已逾期：{text}",
    "message": "平台通知：{text}",
}
LEADS = {
    "task_created": "您有一项新任务待处理。",
    "task_assigned": "一项任务已分派给您。",
    "task_overdue": "以下任务已超过办理期限，请尽快处理。",
    "message": "您收到一条平台通知。",
}
SENDER_NAME = "绍兴市燃气监管平台"


def send_pending_mail(target: Flask | Session, limit: int = 100, config: dict | None = None) -> int:
    """Mail up to ``limit`` unsent notifications; returns how many were sent. Never raises.

    ``target`` is the app (the job's way) or an open session (then ``config`` or the current app's
    config names the SMTP server).
    """
    if isinstance(target, Flask):
        from web.extensions import case_engine

        with case_engine(target).sessions() as s:
            return send_pending_mail(s, limit, config or target.config)
    if config is None:
        from flask import current_app

        config = current_app.config
    if not config.get("MAIL_SERVER"):
        return 0
    try:
        return _send(target, limit, config)
    except Exception:  # the job must keep running; what was not marked sent is retried next time
        log.exception("sending notification e-mail failed")
        target.rollback()
        return 0


def _send(s: Session, limit: int, config) -> int:
    rows = s.execute(
        select(Notification, User)
        .join(User, User.id == Notification.user_id)
        .where(Notification.emailed_at.is_(None), Notification.read_at.is_(None), Notification.mail.is_(True),
               User.email != "", User.email.is_not(None), User.active.is_(True))
        .order_by(Notification.id).limit(limit)
        .with_for_update(of=Notification, skip_locked=True)
    ).all()
    if not rows:
        s.rollback()
        return 0
    sent = 0
    try:
        smtp = _connect(config)
    except (OSError, smtplib.SMTPException):
        log.exception("cannot reach the SMTP server %s:%s", config["MAIL_SERVER"], config["MAIL_PORT"])
        s.rollback()
        return 0
    try:
        for note, user in rows:
            try:
                smtp.send_message(compose(note, user, config))
            except smtplib.SMTPRecipientsRefused:
                log.warning("mail server refused %s for notification %s", user.email, note.id)
                continue
            except (OSError, smtplib.SMTPException):
                log.exception("sending notification %s failed; the rest waits for the next run", note.id)
                break
            note.emailed_at = clock.now()
            sent += 1
    finally:
        s.commit()
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            pass
    return sent


def _connect(config) -> smtplib.SMTP:
    host, port, timeout = config["MAIL_SERVER"], int(config["MAIL_PORT"]), config.get("MAIL_TIMEOUT", 30)
    if config.get("MAIL_USE_SSL"):
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
        if config.get("MAIL_USE_TLS"):
            smtp.starttls(context=ssl.create_default_context())
    if config.get("MAIL_USERNAME"):
        smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD", ""))
    return smtp


def link_for(note: Notification, base_url: str) -> str:
    if note.task_id:
        return f"{base_url}/tasks/{note.task_id}"
    if note.case_id:
        return f"{base_url}/cases/{note.case_id}"
    return f"{base_url}/notifications"


def compose(note: Notification, user: User, config) -> EmailMessage:
    text = " ".join((note.text or "").split())  # no line breaks in a header
    msg = EmailMessage()
    msg["Subject"] = SUBJECTS.get(note.kind, "平台通知：{text}").format(text=text)[:200]
    msg["From"] = formataddr((SENDER_NAME, config["MAIL_FROM"]))
    msg["To"] = formataddr((user.display_name, user.email))
    msg["Message-ID"] = make_msgid(domain=config["MAIL_FROM"].rpartition("@")[2] or None)
    lines = [f"{user.display_name}，您好：", "", LEADS.get(note.kind, LEADS["message"]), ""]
    label = "事项" if note.kind == "message" else "任务"
    lines.append(f"{label}：{note.text}")
    if note.case_id:
        lines.append(f"案件编号：#{note.case_id}")
    lines += [f"办理链接：{link_for(note, config.get('BASE_URL', 'http://localhost:5000').rstrip('/'))}",
              "", f"—— {SENDER_NAME}（系统自动发送，请勿直接回复）"]
    msg.set_content("\n".join(lines))
    return msg
