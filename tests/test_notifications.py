"""Notifications: written by the engine, shown at sign-in, in the header and on their page, read over the
API, and mailed by the periodic job through a real (local) SMTP server."""
import os
import re
import socket
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import pytest
from conftest import BPMN_DIR, csrf_of
from flows import open_order
from sqlalchemy import select, update

from models import Notification, Task, User
from workflows.services.shanghai_time import SHANGHAI

REDIS_URL = os.environ.get("REDIS_URL")


class Sink:
    """An SMTP server's handler that keeps every message it is given."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(app):
    from aiosmtpd.controller import Controller

    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_FROM="noreply@gas.sx.gov.cn",
                      BASE_URL="https://gas.example.cn")
    sink.port = controller.port
    yield sink
    controller.stop()


def set_email(app, username, email):
    from web.extensions import db

    with app.app_context():
        db.session.execute(update(User).where(User.username == username).values(email=email))
        db.session.commit()


def notes(app, **where):
    from web.extensions import db

    with app.app_context():
        stmt = select(Notification).order_by(Notification.id)
        for name, value in where.items():
            stmt = stmt.where(getattr(Notification, name) == value)
        return db.session.scalars(stmt).all()


def user_id(app, username):
    from web.extensions import db

    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))



def answer(api, case):
    staff = api("kq_bottled_staff")
    task = next(t for t in staff.get("/tasks").json["items"] if t["case_id"] == case["id"])
    assert staff.post(f"/tasks/{task['id']}/complete", {"data": {"response": "已整改"}}).status_code == 200


def test_a_new_task_is_mailed_to_its_user_once(app, api, smtp):
    from web.background.mail import send_pending_mail

    set_email(app, "keqiao_inspector", "liming@keqiao.example.cn")
    case = open_order(api, app, hazard="报警器失效")
    answer(api, case)  # the verification lands with the inspector who issued the order
    verify = next(t for t in api("keqiao_inspector").get("/tasks?scope=mine").json["items"]
                  if t["case_id"] == case["id"])

    assert send_pending_mail(app) == 1
    assert len(smtp.messages) == 1
    rcpt, msg = smtp.messages[0]
    assert rcpt == ["liming@keqiao.example.cn"]
    assert msg["Subject"] == f"新任务：{verify['title']}"
    assert "liming@keqiao.example.cn" in msg["To"] and "noreply@gas.sx.gov.cn" in msg["From"]
    body = msg.get_content()
    assert f"https://gas.example.cn/tasks/{verify['id']}" in body and f"#{case['id']}" in body

    inspector = user_id(app, "keqiao_inspector")
    mailed = [n for n in notes(app) if n.emailed_at is not None]
    assert [(n.user_id, n.task_id, n.kind) for n in mailed] == [(inspector, verify["id"], "task_created")]
    # The enterprise users have no address: their notifications stay unmailed, and are not tried again.
    assert all(n.emailed_at is None for n in notes(app) if n.user_id != inspector)
    assert send_pending_mail(app) == 0 and len(smtp.messages) == 1


def test_an_unreachable_mail_server_is_retried_on_the_next_run(app, api, smtp, caplog):
    from web.background.mail import send_pending_mail

    set_email(app, "kq_bottled_staff", "zhanghua@bottled.example.cn")
    open_order(api, app, hazard="报警器失效")
    app.config["MAIL_PORT"] = free_port()  # nothing listens there
    assert send_pending_mail(app) == 0
    assert "cannot reach the SMTP server" in caplog.text
    assert all(n.emailed_at is None for n in notes(app))

    app.config["MAIL_PORT"] = smtp.port
    assert send_pending_mail(app) == 1
    assert [rcpt for rcpt, _msg in smtp.messages] == [["zhanghua@bottled.example.cn"]]


def test_nothing_is_mailed_without_a_mail_server(app, api):
    from web.background.mail import send_pending_mail

    set_email(app, "kq_bottled_staff", "zhanghua@bottled.example.cn")
    open_order(api, app, hazard="报警器失效")
    assert app.config["MAIL_SERVER"] == ""
    assert send_pending_mail(app) == 0
    assert all(n.emailed_at is None for n in notes(app))


def test_read_notifications_are_not_mailed(app, api, smtp):
    from web.background.mail import send_pending_mail

    set_email(app, "kq_bottled_staff", "zhanghua@bottled.example.cn")
    open_order(api, app, hazard="报警器失效")
    assert api("kq_bottled_staff").post("/notifications/read", {"all": True}).json["marked"] == 1
    assert send_pending_mail(app) == 0 and smtp.messages == []


def calendar_entered(app):
    """The holidays of this year and the next entered: no reminder to enter them in the round, whatever the date
    the suite runs on (the reminder: tests/test_working_days.py)."""
    from web.extensions import db
    from workflows.services import working_days

    with app.app_context():
        year = datetime.now(SHANGHAI).year
        working_days.confirm_entered(db.session, year, datetime.now(UTC))
        working_days.confirm_entered(db.session, year + 1, datetime.now(UTC))
        db.session.commit()


def overdue_case(app, api):
    assert api("admin").post("/processes", data=(BPMN_DIR / "due_answer.bpmn").read_bytes(),
                             content_type="application/xml").status_code == 201
    return open_order(api, app, process="due_answer", hazard="报警器失效", hours=1)


def test_an_overdue_task_is_notified_once_and_mailed_by_the_periodic_job(app, api, smtp):
    from web.background.schedule import run_all as periodic
    from workflows.engine import clock

    set_email(app, "kq_bottled_staff", "zhanghua@bottled.example.cn")
    calendar_entered(app)
    case = overdue_case(app, api)
    # (the daily data checks run in the first round only, and find no reported data here)
    assert periodic(app) == {"timers": 0, "overdue": 0, "mailed": 1, "data_checks": 0, "documents": 0,
                             "idempotency_keys": 0, "delivered": 0,
                             "warning_digest": 0, "safety_scores": 12,  # the new task; the twelve enterprises' scores
                             "data_timeliness": 0, "calendar_reminder": 0}
    now = datetime.now(UTC)
    later = now + timedelta(hours=2)
    # After 22:00 Shanghai time, two hours on is a new day: the daily scores are stored again for it.
    new_day = later.astimezone(SHANGHAI).date() != now.astimezone(SHANGHAI).date()
    with clock.frozen_at(later):
        assert periodic(app) == {"timers": 0, "overdue": 1, "mailed": 1, "data_checks": 0, "documents": 0,
                                 "idempotency_keys": 0, "delivered": 0,
                                 "warning_digest": 0, "safety_scores": 12 if new_day else 0, "data_timeliness": 0,
                                 "calendar_reminder": 0}
        assert periodic(app) == {"timers": 0, "overdue": 0, "mailed": 0, "data_checks": 0, "documents": 0,
                                 "idempotency_keys": 0, "delivered": 0,
                                 "warning_digest": 0, "safety_scores": 0, "data_timeliness": 0,
                                 "calendar_reminder": 0}
    with clock.frozen_at(later + timedelta(hours=5)):
        assert periodic(app)["overdue"] == 0

    overdue = notes(app, kind="task_overdue")
    audience = {user_id(app, "kq_bottled_staff"), user_id(app, "kq_bottled_admin")}
    assert sorted(n.user_id for n in overdue) == sorted(audience)  # one each, not two
    assert {n.case_id for n in overdue} == {case["id"]}
    assert [msg["Subject"] for _rcpt, msg in smtp.messages] == ["新任务：按期答复", "任务已逾期：按期答复"]

    listed = api("kq_bottled_staff").get("/notifications").json["items"]
    assert [(n["kind"], n["read"]) for n in listed] == [("task_overdue", False), ("task_created", False)]


def test_gasflow_tick_notifies_and_mails(app, api, smtp, database_url, monkeypatch):
    from click.testing import CliRunner

    from web.cli import main
    from workflows.engine import clock

    set_email(app, "kq_bottled_admin", "admin@bottled.example.cn")
    overdue_case(app, api)
    for name, value in {"DATABASE_URL": database_url, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port),
                        "MAIL_FROM": "noreply@gas.sx.gov.cn"}.items():
        monkeypatch.setenv(name, value)
    with clock.frozen_at(datetime.now(UTC) + timedelta(hours=2)):
        result = CliRunner().invoke(main, ["tick"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["timers fired on 0 cases", "overdue tasks notified: 1, e-mails sent: 2"]
    assert [(rcpt, msg["Subject"]) for rcpt, msg in smtp.messages] == [
        (["admin@bottled.example.cn"], "新任务：按期答复"), (["admin@bottled.example.cn"], "任务已逾期：按期答复")]


@pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL not set (CI sets it for the PostgreSQL run)")
def test_rq_job_notifies_overdue_tasks_and_mails(app, api, smtp, database_url, monkeypatch):
    from redis import Redis
    from rq import Queue

    from web.background import jobs, schedule
    from web.background.queueing import worker_classes
    from workflows.engine import clock

    set_email(app, "kq_bottled_staff", "zhanghua@bottled.example.cn")
    overdue_case(app, api)
    for name, value in {"DATABASE_URL": database_url, "MAIL_SERVER": "127.0.0.1",
                        "MAIL_PORT": str(smtp.port)}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(jobs, "_app", None)
    queue = Queue("gasflow-test-mail", connection=Redis.from_url(REDIS_URL))
    queue.empty()
    with clock.frozen_at(datetime.now(UTC) + timedelta(hours=2)):
        run = [queue.enqueue(schedule.run_periodic_job, name) for name in ("timers", "overdue", "mailed")]
        worker_classes()[1]([queue], connection=queue.connection).work(burst=True)
    assert [job.get_status() for job in run] == ["finished"] * 3
    assert len(notes(app, kind="task_overdue")) == 2
    assert sorted(msg["Subject"] for _rcpt, msg in smtp.messages) == ["任务已逾期：按期答复", "新任务：按期答复"]


def login(app, username):
    from web.demo.seed import DEMO_PASSWORD

    client = app.test_client()
    client.get("/locale/en")
    page = client.get("/login")
    resp = client.post("/login", data={"username": username, "password": DEMO_PASSWORD,
                                       "csrf_token": csrf_of(page.data)}, follow_redirects=True)
    assert resp.status_code == 200
    return client, resp.data.decode()


def test_sign_in_tells_of_new_and_overdue_tasks(app, api):
    from web.extensions import db

    case = overdue_case(app, api)
    open_order(api, app, hazard="报警器失效")
    _client, page = login(app, "kq_bottled_staff")
    new = re.search(r'<a id="login-new-tasks" href="([^"]+)">([^<]+)</a>', page)
    assert new and new.group(1) == "/notifications" and new.group(2) == "2 new tasks"
    assert "login-overdue-tasks" not in page

    with app.app_context():  # the deadline has passed
        db.session.execute(update(Task).where(Task.case_id == case["id"])
                           .values(due_at=datetime.now(UTC) - timedelta(hours=1)))
        db.session.commit()
    _client, page = login(app, "kq_bottled_staff")
    overdue = re.search(r'<a id="login-overdue-tasks" href="([^"]+)">([^<]+)</a>', page)
    assert overdue and overdue.group(2) == "1 overdue tasks" and "overdue=1" in overdue.group(1)

    _client, page = login(app, "yc_pipeline_staff")  # nothing for another county's enterprise
    assert "login-new-tasks" not in page and "login-overdue-tasks" not in page


def test_bell_page_and_marking_read(app, api):
    open_order(api, app, hazard="报警器失效")
    open_order(api, app, hazard="报警器失效")
    client, page = login(app, "kq_bottled_staff")
    assert re.search(r'<span class="badge" id="bell-count">2</span>', page)
    listing = client.get("/notifications").data.decode()
    ids = re.findall(r'<tr data-notification="(\d+)" class="unread">', listing)
    assert len(ids) == 2 and "提交整改反馈" in listing

    token = csrf_of(listing.encode())
    resp = client.post("/notifications/read", data={"id": ids[0], "csrf_token": token})
    assert resp.status_code == 303
    listing = client.get("/notifications").data.decode()
    assert re.findall(r'<tr data-notification="(\d+)" class="unread">', listing) == [ids[1]]
    assert re.search(r'id="bell-count">1<', listing)
    assert client.post("/notifications/read", data={"all": "1"}).status_code == 400  # no CSRF token
    client.post("/notifications/read", data={"all": "1", "csrf_token": token})
    listing = client.get("/notifications").data.decode()
    assert "bell-count" not in listing and len(re.findall(r'class="read"', listing)) == 2

    # One user cannot mark another's notifications.
    other, _page = login(app, "kq_bottled_admin")
    other.post("/notifications/read", data={"id": ids[1], "all": "", "csrf_token": csrf_of(
        other.get("/notifications").data)})
    assert re.search(r'id="bell-count">2<', other.get("/").data.decode())
    assert app.test_client().get("/notifications").status_code == 302


def test_notifications_api(app, api):
    open_order(api, app, hazard="报警器失效")
    open_order(api, app, hazard="报警器失效")
    staff, other = api("kq_bottled_staff"), api("kq_bottled_admin")
    items = staff.get("/notifications").json["items"]
    assert [n["kind"] for n in items] == ["task_created", "task_created"] and not any(n["read"] for n in items)
    assert items[0]["id"] > items[1]["id"]  # newest first

    assert other.post("/notifications/read", {"ids": [items[0]["id"]]}).json["marked"] == 0
    resp = staff.post("/notifications/read", {"ids": [items[1]["id"]]})
    assert resp.status_code == 200 and resp.json == {"marked": 1, "unread": 1}
    items = staff.get("/notifications").json["items"]
    assert [n["read"] for n in items] == [False, True]  # unread first
    assert staff.get("/notifications?unread=1").json["total"] == 1

    for bad in ({"ids": "1"}, {"ids": [True]}, {}, {"all": "yes"}):
        resp = staff.post("/notifications/read", bad)
        assert resp.status_code == 422, bad
    assert staff.post("/notifications/read", {"all": True}).json == {"marked": 1, "unread": 0}
    assert other.get("/notifications?unread=1").json["total"] == 2
    assert app.test_client().get("/api/v1/notifications").status_code == 401


def test_a_failing_timer_step_does_not_hold_back_notices_and_mail(app, api, smtp, engine, monkeypatch):
    from web.background.schedule import run_all as periodic
    from workflows.engine import clock

    set_email(app, "kq_bottled_staff", "zhanghua@bottled.example.cn")
    overdue_case(app, api)

    def broken(*_args, **_kw):
        raise RuntimeError("a broken model")

    monkeypatch.setattr(engine, "run_due_timers", broken)
    with clock.frozen_at(datetime.now(UTC) + timedelta(hours=2)), pytest.raises(RuntimeError):
        periodic(app)  # the round is reported as failed ...
    assert len(notes(app, kind="task_overdue")) == 2  # ... after the other steps did their work
    assert len(smtp.messages) == 2
