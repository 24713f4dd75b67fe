"""Notification channels beyond the site and mail: WeCom and DingTalk group robots and SMS through
Alibaba Cloud, each delivered to a local server that checks the provider's signature the way the
provider does, retried after failures, and never dropped."""
import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from flows import open_order
from sqlalchemy import select

from models import Delivery, Notification, User

SMS_SECRET, DING_SECRET = "sms-secret-测试", "SEC0123456789abcdef"


class Provider(BaseHTTPRequestHandler):
    """WeCom, DingTalk and Alibaba Cloud SMS in one local server; ``fail`` answers that many requests
    with a provider error first."""

    def log_message(self, *args):
        pass

    def do_POST(self):
        server = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path, _, query = self.path.partition("?")
        server.seen.append((path, query, body))
        if server.fail > 0:
            server.fail -= 1
            self.send_response(502)
            self.end_headers()
            return
        if path == "/sms":
            answer = self.check_sms(body)
        elif path == "/dingtalk":
            answer = self.check_dingtalk(query, body)
        else:
            message = json.loads(body)
            ok = message.get("msgtype") == "text" and message["text"]["content"]
            answer = {"errcode": 0 if ok else 40008, "errmsg": "ok" if ok else "invalid message"}
        if answer.get("errcode") == 0 or answer.get("Code") == "OK":
            server.delivered.append((path, answer.pop("_text", "")))
        raw = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    @staticmethod
    def check_sms(body: bytes) -> dict:
        # Written from Alibaba Cloud's description of signature version 1.0, not from the adapter.
        params = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
        given = params.pop("Signature", "")

        def enc(v):
            return urllib.parse.quote(v, safe="~")

        query = "&".join(f"{enc(k)}={enc(params[k])}" for k in sorted(params))
        text = "POST&%2F&" + enc(query)
        want = base64.b64encode(hmac.new((SMS_SECRET + "&").encode(), text.encode(), hashlib.sha1).digest()).decode()
        if given != want or params.get("SignatureMethod") != "HMAC-SHA1" or params.get("Action") != "SendSms":
            return {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched"}
        return {"Code": "OK", "Message": "OK", "BizId": "1", "_text": params["PhoneNumbers"] + " "
                + params["TemplateParam"]}

    @staticmethod
    def check_dingtalk(query: str, body: bytes) -> dict:
        args = dict(urllib.parse.parse_qsl(query))
        stamp = int(args.get("timestamp", "0"))
        want = base64.b64encode(hmac.new(DING_SECRET.encode(), f"{stamp}\n{DING_SECRET}".encode(),
                                         hashlib.sha256).digest()).decode()
        if args.get("sign") != want or abs(time.time() * 1000 - stamp) > 3_600_000:
            return {"errcode": 310000, "errmsg": "sign not match"}
        return {"errcode": 0, "errmsg": "ok", "_text": json.loads(body)["text"]["content"]}


@pytest.fixture
def provider(app):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    server.seen, server.delivered, server.fail = [], [], 0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    app.config.update(SMS_PROVIDER="aliyun", ALIYUN_SMS_ENDPOINT=f"{base}/sms", ALIYUN_SMS_ACCESS_KEY_ID="LTAI-test",
                      ALIYUN_SMS_ACCESS_KEY_SECRET=SMS_SECRET, ALIYUN_SMS_SIGN_NAME="绍兴燃气",
                      ALIYUN_SMS_TEMPLATE_CODE="SMS_0001", ROBOT_HOSTS="127.0.0.1", BASE_URL="https://gas.example.cn")
    server.base = base
    yield server
    server.shutdown()


def deliver(app, minutes=0):
    from web.common.dataflow import cipher
    from web.extensions import db
    from workflows.engine import clock
    from workflows.services.channels import deliver_pending

    with app.app_context():
        return deliver_pending(db.session, app.config, cipher().decrypt, clock.now() + timedelta(minutes=minutes))


def deliveries(app):
    from web.extensions import db

    with app.app_context():
        rows = db.session.scalars(select(Delivery).order_by(Delivery.id)).all()
        db.session.expunge_all()
        return rows


def choose(browser, username, data):
    page = browser(username)
    resp = page.form_post("/account/notifications", data)
    return page, resp


def test_a_user_chooses_sms_and_gets_the_task_by_signed_sms(app, api, browser, provider):
    page, resp = choose(browser, "kq_bottled_staff", {"mobile": "13812345678", "task__sms": "y"})
    assert resp.status_code == 302
    shown = page.client.get("/account/notifications").data.decode()
    assert "138****5678" in shown and "13812345678" not in shown  # kept encrypted, shown masked
    with app.app_context():
        from web.extensions import db

        stored = db.session.scalar(select(User.mobile).where(User.username == "kq_bottled_staff"))
    assert stored.startswith("enc:")

    case = open_order(api, app, hazard="报警器失效")
    [row] = [d for d in deliveries(app) if d.channel == "sms"]
    assert row.status == "pending" and row.category == "task" and row.case_id == case["id"]
    assert deliver(app) == 1
    [(path, text)] = provider.delivered
    assert path == "/sms" and text.startswith("13812345678 ") and "新任务" in text
    assert deliveries(app)[0].status == "sent"
    # The user ticked no mail for tasks: the notification is on the site, not in the mail queue.
    with app.app_context():
        from web.extensions import db

        told = dict(db.session.execute(select(User.username, Notification.mail)
                                       .join(User, User.id == Notification.user_id)
                                       .where(Notification.case_id == case["id"])).all())
    assert told["kq_bottled_staff"] is False and all(v for k, v in told.items() if k != "kq_bottled_staff")


def test_bad_choices_are_refused_with_the_field_named(app, browser):
    _page, resp = choose(browser, "kq_bottled_staff", {"mobile": "12345", "task__sms": "y"})
    assert resp.status_code == 422 and "11 位" in resp.data.decode()
    _page, resp = choose(browser, "kq_bottled_staff", {"task__sms": "y"})
    assert resp.status_code == 422 and "短信需要手机号码" in resp.data.decode()
    _page, resp = choose(browser, "kq_bottled_staff", {"mobile": "138\x0012345678"})
    assert resp.status_code == 422
    with app.app_context():
        from web.extensions import db

        user = db.session.scalar(select(User).where(User.username == "kq_bottled_staff"))
        assert user.mobile is None and user.notify_channels is None


def add_robot(browser, **fields):
    admin = browser("admin")
    return admin.form_post("/admin/channels/robots", fields, page_path="/admin/channels")


def test_a_county_robot_hears_what_the_county_staff_hear(app, api, browser, provider):
    resp = add_robot(browser, name="柯桥区燃气监管群", channel="dingtalk", region_id=_county(app, "柯桥区"),
                     url=f"{provider.base}/dingtalk?access_token=abc", secret=DING_SECRET, categories=["task"])
    assert resp.status_code == 302
    case = open_order(api, app, hazard="报警器失效")
    # The order's task is the enterprise's: no authority person of the county is told, so no robot.
    assert deliveries(app) == []
    staff = api("kq_bottled_staff")
    task = next(t for t in staff.get("/tasks").json["items"] if t["case_id"] == case["id"])
    assert staff.post(f"/tasks/{task['id']}/complete", {"data": {"response": "已整改"}}).status_code == 200
    [row] = deliveries(app)
    assert row.channel == "dingtalk" and row.category == "task"
    assert deliver(app) == 1
    [(path, text)] = provider.delivered
    assert path == "/dingtalk" and "新任务" in text and "https://gas.example.cn/tasks/" in text


def _county(app, name):
    from models import Region
    from web.extensions import db

    with app.app_context():
        return db.session.scalar(select(Region.id).where(Region.name == name))


def test_a_robot_address_must_be_a_robot_host(app, browser, provider):
    resp = add_robot(browser, name="内网", channel="wecom", region_id=0, url="http://10.0.0.5/hook",
                     categories=["task"])
    assert resp.status_code == 422 and "群机器人只能发送到" in resp.data.decode()
    resp = add_robot(browser, name="", channel="wecom", region_id=0, url="ftp://127.0.0.1/x", categories=[])
    body = resp.data.decode()
    assert resp.status_code == 422 and body.count('class="errors"') >= 3


def test_a_failed_send_is_retried_then_kept_until_sent_again(app, api, browser, provider):
    from workflows.services.channels import MAX_ATTEMPTS

    assert add_robot(browser, name="市局值班群", channel="wecom", region_id=0, url=f"{provider.base}/wecom?key=k1",
                     categories=["task", "message", "overdue"]).status_code == 302
    from web.extensions import db
    from workflows import notify
    from workflows.engine import clock

    with app.app_context():
        admin = db.session.scalar(select(User.id).where(User.username == "admin"))
        notify.add(db.session, [admin], notify.MESSAGE, clock.now(), text="管网压力异常，请关注")
        db.session.commit()
    provider.fail = 2
    assert deliver(app) == 0
    [row] = deliveries(app)
    assert row.status == "pending" and row.attempts == 1 and "HTTP 502" in row.last_error
    assert deliver(app) == 0 and deliveries(app)[0].attempts == 1  # not due yet: the pause holds it
    assert deliver(app, minutes=1) == 0 and deliveries(app)[0].attempts == 2
    assert deliver(app, minutes=4) == 1
    assert provider.delivered == [("/wecom", "")] and deliveries(app)[0].status == "sent"

    # An outage longer than every pause: the row fails for good, stays, and is sent again by the admin.
    with app.app_context():
        notify.add(db.session, [admin], notify.MESSAGE, clock.now(), text="第二条")
        db.session.commit()
    provider.fail = MAX_ATTEMPTS
    for hours in range(0, 30):
        deliver(app, minutes=60 * hours)
    failed = [d for d in deliveries(app) if d.status == "failed"]
    assert len(failed) == 1 and failed[0].attempts == MAX_ATTEMPTS
    page = browser("admin")
    shown = page.client.get("/admin/channels").data.decode()
    assert "发送失败" in shown and "第二条" in shown
    assert page.form_post("/admin/channels/send-again", {}, page_path="/admin/channels").status_code == 302
    assert deliver(app) == 1 and [d.status for d in deliveries(app)] == ["sent", "sent"]


def test_sms_waits_unsent_while_no_provider_is_configured(app, api, browser):
    choose(browser, "kq_bottled_staff", {"mobile": "13812345678", "task__sms": "y", "task__mail": "y"})
    open_order(api, app, hazard="报警器失效")
    assert app.config["SMS_PROVIDER"] == ""
    assert deliver(app) == 0
    [row] = deliveries(app)
    assert row.status == "pending" and row.attempts == 0


def test_level_one_warnings_go_by_sms_by_default(app, api, browser, provider):
    from datetime import UTC, datetime

    choose(browser, "kq_bottled_staff", {"mobile": "13912345678", "task__mail": "y", "warning_l1__sms": "y"})
    at = datetime.now(UTC).replace(microsecond=0)
    readings = [{"site": "KQ-LPG-01", "site_kind": "storage_station", "sensor": "GAS-01",
                 "quantity": "gas_concentration", "value": v, "at": (at + timedelta(minutes=i)).isoformat()}
                for i, v in enumerate((12, 30, 40))]
    assert api("kq_bottled_staff").post("/readings", {"readings": readings}).status_code == 202
    sms = [d for d in deliveries(app) if d.channel == "sms"]
    assert [d.category for d in sms] == ["warning_l1"]
    # Others keep the default: the supervisor has no number, so nothing waits for him.
    assert all(d.user_id == sms[0].user_id for d in sms)
    assert deliver(app) == 1 and "一级预警" in provider.delivered[0][1]


def test_only_the_city_admin_configures_channels(app, browser):
    page = browser("keqiao_supervisor")
    assert page.client.get("/admin/channels").status_code == 403
