"""Sending the outbox (models/delivery.py): WeCom and DingTalk group robots, SMS through Alibaba Cloud.

Each adapter is a plain HTTPS call with the provider's own request signing; an answer that is not the
provider's "ok" is a failure. The job (``deliver_pending``) claims due rows, sends each, and on failure
counts the attempt and sets the next one after a growing pause; after ``MAX_ATTEMPTS`` the row is
``failed`` and waits for an admin to send it again, so no message is dropped silently.
"""
import base64
import hashlib
import hmac
import json
import logging
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import (
    CHANNEL_DINGTALK,
    CHANNEL_SMS,
    CHANNEL_WECOM,
    DELIVERY_FAILED,
    DELIVERY_PENDING,
    DELIVERY_SENT,
    Delivery,
    NotificationRobot,
    User,
)

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
# Minutes before attempt n+1 after n failures: quick at first (a blip), then hourly-ish (an outage).
PAUSES = (1, 2, 5, 10, 30, 60, 120, 240, 480)
SENDER = "绍兴市燃气监管平台"
CATEGORY_NAMES = {"task": "新任务", "overdue": "任务逾期", "overdue_penalty": "处罚案件逾期",
                  "warning_l1": "一级预警", "message": "平台通知"}


class DeliveryError(Exception):
    """The provider did not take the message; the text says why (kept on the row)."""


def _post(url: str, body: bytes, content_type: str, timeout: float) -> dict:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 (https by config)
            raw = answer.read(65536)
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code}") from None
    except (OSError, ValueError) as exc:
        raise DeliveryError(f"unreachable: {exc}") from None
    try:
        found = json.loads(raw or b"{}")
    except ValueError:
        raise DeliveryError("the answer is not JSON") from None
    return found if isinstance(found, dict) else {}


def send_wecom(url: str, text: str, timeout: float = 10) -> None:
    """WeCom (企业微信) group robot: the key in the webhook address is its credential."""
    answer = _post(url, json.dumps({"msgtype": "text", "text": {"content": text}}, ensure_ascii=False).encode(),
                   "application/json", timeout)
    if answer.get("errcode") != 0:
        raise DeliveryError(f"WeCom errcode {answer.get('errcode')}: {answer.get('errmsg', '')}"[:500])


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's 加签: base64(HMAC-SHA256(secret, "timestamp\\nsecret")), URL-encoded by the caller."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def send_dingtalk(url: str, secret: str | None, text: str, timeout: float = 10) -> None:
    """DingTalk (钉钉) group robot, signed when the robot has a secret."""
    if secret:
        stamp = int(time.time() * 1000)
        url += ("&" if "?" in url else "?") + urllib.parse.urlencode(
            {"timestamp": stamp, "sign": dingtalk_sign(secret, stamp)})
    answer = _post(url, json.dumps({"msgtype": "text", "text": {"content": text}}, ensure_ascii=False).encode(),
                   "application/json", timeout)
    if answer.get("errcode") != 0:
        raise DeliveryError(f"DingTalk errcode {answer.get('errcode')}: {answer.get('errmsg', '')}"[:500])


def _pe(value: str) -> str:
    """Alibaba Cloud's percent-encoding (RFC 3986: space as %20, * as %2A, ~ kept)."""
    return urllib.parse.quote(value, safe="~")


def aliyun_signature(method: str, params: dict, secret: str) -> str:
    """Signature version 1.0 of Alibaba Cloud's RPC APIs (HMAC-SHA1 over the sorted, encoded query)."""
    canonical = "&".join(f"{_pe(k)}={_pe(str(v))}" for k, v in sorted(params.items()))
    to_sign = f"{method}&{_pe('/')}&{_pe(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def send_aliyun_sms(config, phone: str, template_params: dict, timeout: float = 10) -> None:
    """SendSms of Alibaba Cloud SMS (dysmsapi, version 2017-05-25)."""
    params = {
        "AccessKeyId": config["ALIYUN_SMS_ACCESS_KEY_ID"], "Action": "SendSms", "Format": "JSON",
        "PhoneNumbers": phone, "RegionId": "cn-hangzhou", "SignName": config["ALIYUN_SMS_SIGN_NAME"],
        "SignatureMethod": "HMAC-SHA1", "SignatureNonce": uuid.uuid4().hex, "SignatureVersion": "1.0",
        "TemplateCode": config["ALIYUN_SMS_TEMPLATE_CODE"],
        "TemplateParam": json.dumps(template_params, ensure_ascii=False),
        "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "Version": "2017-05-25",
    }
    params["Signature"] = aliyun_signature("POST", params, config["ALIYUN_SMS_ACCESS_KEY_SECRET"])
    answer = _post(config["ALIYUN_SMS_ENDPOINT"], urllib.parse.urlencode(params).encode(),
                   "application/x-www-form-urlencoded", timeout)
    if answer.get("Code") != "OK":
        raise DeliveryError(f"Alibaba Cloud SMS {answer.get('Code')}: {answer.get('Message', '')}"[:500])


def sms_configured(config) -> bool:
    return config.get("SMS_PROVIDER") == "aliyun" and all(
        config.get(k) for k in ("ALIYUN_SMS_ACCESS_KEY_ID", "ALIYUN_SMS_ACCESS_KEY_SECRET",
                                "ALIYUN_SMS_SIGN_NAME", "ALIYUN_SMS_TEMPLATE_CODE"))


def robot_text(row: Delivery, base_url: str) -> str:
    lines = [f"【{SENDER}】{CATEGORY_NAMES.get(row.category, '平台通知')}", row.text]
    if row.task_id:
        lines.append(f"办理：{base_url}/tasks/{row.task_id}")
    elif row.case_id:
        lines.append(f"案卷：{base_url}/cases/{row.case_id}")
    return "\n".join(lines)


def _send_one(s: Session, row: Delivery, config, decrypt: Callable[[str], str]) -> None:
    timeout = float(config.get("CHANNEL_TIMEOUT", 10))
    base_url = config.get("BASE_URL", "http://localhost:5000").rstrip("/")
    if row.channel == CHANNEL_SMS:
        mobile = s.scalar(select(User.mobile).where(User.id == row.user_id))
        if not mobile:
            raise DeliveryError("the user has no mobile number any more")
        # SMS template variables are short (35 characters a variable at Alibaba Cloud).
        send_aliyun_sms(config, decrypt(mobile), {"category": CATEGORY_NAMES.get(row.category, "平台通知"),
                                                  "title": row.text[:30]}, timeout)
        return
    robot = row.robot
    if robot is None or not robot.active:
        raise DeliveryError("the robot was removed or switched off")
    url, secret = decrypt(robot.url), decrypt(robot.secret) if robot.secret else None
    if robot.channel == CHANNEL_WECOM:
        send_wecom(url, robot_text(row, base_url), timeout)
    elif robot.channel == CHANNEL_DINGTALK:
        send_dingtalk(url, secret, robot_text(row, base_url), timeout)
    else:
        raise DeliveryError(f"unknown channel {robot.channel}")


def deliver_pending(s: Session, config, decrypt: Callable[[str], str], now: datetime, limit: int = 100) -> int:
    """Send the due outbox rows; returns how many were sent. SMS waits, uncounted, while no provider is
    configured. Rows are claimed FOR UPDATE SKIP LOCKED so that two workers never send one twice."""
    due = [Delivery.status == DELIVERY_PENDING, Delivery.next_attempt_at <= now]
    if not sms_configured(config):
        due.append(Delivery.channel != CHANNEL_SMS)
    rows = s.scalars(select(Delivery).where(*due).order_by(Delivery.next_attempt_at, Delivery.id).limit(limit)
                     .with_for_update(of=Delivery, skip_locked=True)).all()
    sent = 0
    for row in rows:
        try:
            _send_one(s, row, config, decrypt)
        except DeliveryError as exc:
            row.attempts += 1
            row.last_error = str(exc)[:512]
            if row.attempts >= MAX_ATTEMPTS:
                row.status = DELIVERY_FAILED
                log.error("delivery %s (%s) failed for good after %s attempts: %s", row.id, row.channel,
                          row.attempts, exc)
            else:
                row.next_attempt_at = now + timedelta(minutes=PAUSES[min(row.attempts, len(PAUSES)) - 1])
                log.warning("delivery %s (%s) failed, attempt %s: %s", row.id, row.channel, row.attempts, exc)
            continue
        row.status, row.sent_at, row.attempts, row.last_error = DELIVERY_SENT, now, row.attempts + 1, ""
        sent += 1
    s.commit()
    return sent


def send_again(s: Session, delivery_ids, now: datetime) -> int:
    """An admin's "send again" for failed rows: back to pending, due now, attempts counted afresh."""
    rows = s.scalars(select(Delivery).where(Delivery.id.in_(list(delivery_ids)),
                                            or_(Delivery.status == DELIVERY_FAILED,
                                                Delivery.status == DELIVERY_PENDING))).all()
    for row in rows:
        row.status, row.attempts, row.next_attempt_at = DELIVERY_PENDING, 0, now
    return len(rows)


def robots_of(s: Session) -> list[NotificationRobot]:
    return list(s.scalars(select(NotificationRobot).order_by(NotificationRobot.region_id.is_not(None),
                                                             NotificationRobot.region_id, NotificationRobot.id)))
