"""Abnormal-operation rules (O7): each fires once per episode and again only after a quiet window
(time moved with the engine clock), the city admin's rule form changes what fires, others are refused."""
import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import csrf_of, sign_in_form
from flask import Blueprint
from sqlalchemy import select

from web.demo.seed import DEMO_PASSWORD
from workflows.engine import clock

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The off-hours rule as shipped: the suite's template has it off, so tests of other things never meet it.
pytestmark = pytest.mark.usefixtures("working_hours")


def next_monday_10() -> datetime:
    """10:00 in Shanghai on a Monday (inside the default working hours) one to seven days ahead: after
    the demo passwords were set (a session that proved a password older than its last change ends)
    and long before they expire."""
    day = (datetime.now(SHANGHAI) + timedelta(days=1)).date()
    day += timedelta(days=-day.weekday() % 7)
    return datetime.combine(day, time(10), SHANGHAI).astimezone(UTC)


MONDAY_10 = next_monday_10()
DMN = "/admin/models/decisions/penalty_approval/1/table.dmn"


def signed_in(app, username, at):
    """A client signed in (second factor included) at the moved time ``at``: sessions are timed with
    the engine clock, so a client signed in at another time would find its session ended."""
    client = app.test_client()
    with clock.frozen_at(at):
        assert sign_in_form(client, username, DEMO_PASSWORD, at=at).status_code == 302
    return client


def form_post(client, path, data):
    page = client.get(path)
    return client.post(path, data={**data, "csrf_token": csrf_of(page.data)}, content_type="multipart/form-data")


def alerts(app, rule):
    from models import AuditAlert
    from web.extensions import db

    with app.app_context():
        rows = db.session.scalars(select(AuditAlert).where(AuditAlert.rule == rule).order_by(AuditAlert.id)).all()
        db.session.expunge_all()
        return rows


def alert_notifications(app, needle):
    from models import Notification, User
    from web.extensions import db

    with app.app_context():
        return db.session.scalars(select(Notification.text).join(User, User.id == Notification.user_id).where(
            User.username == "admin", Notification.kind == "audit_alert", Notification.text.contains(needle))).all()


def rule_form(**overrides):
    data = {"bulk_export_enabled": "y", "bulk_export_threshold": "20", "bulk_export_window_minutes": "10",
            "off_hours_enabled": "y", "off_hours_start_hour": "8", "off_hours_end_hour": "18",
            "off_hours_weekdays": ["1", "2", "3", "4", "5"], "off_hours_window_minutes": "120",
            "denied_burst_enabled": "y", "denied_burst_threshold": "20", "denied_burst_window_minutes": "5",
            "mass_delete_enabled": "y", "mass_delete_threshold": "10", "mass_delete_window_minutes": "10",
            "account_locked_enabled": "y", "account_locked_window_minutes": "15"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_bulk_exports_alert_once_per_episode_after_the_admin_lowers_the_threshold(app):
    an_hour_before = MONDAY_10 - timedelta(hours=1)
    admin = signed_in(app, "admin", an_hour_before)
    with clock.frozen_at(an_hour_before):
        for _ in range(3):
            assert admin.get(DMN).status_code == 200
        assert alerts(app, "bulk_export") == []  # the default is 20 in 10 minutes

        saved = form_post(admin, "/admin/audit/rules", rule_form(bulk_export_threshold="3"))
        assert saved.status_code == 303
        page = admin.get("/admin/audit/rules").get_data(as_text=True)
        assert re.search(r'name="bulk_export_threshold"[^>]*value="3"', page)

    admin = signed_in(app, "admin", MONDAY_10)  # idle for an hour: the earlier session has ended
    for minute in range(6):
        with clock.frozen_at(MONDAY_10 + timedelta(minutes=minute)):
            assert admin.get(DMN).status_code == 200
        assert len(alerts(app, "bulk_export")) == (0 if minute < 2 else 1)
    first = alerts(app, "bulk_export")[0]
    assert first.subject.startswith("user:") and first.matches == 4
    assert first.first_at == MONDAY_10 + timedelta(minutes=2) and first.last_at == MONDAY_10 + timedelta(minutes=5)
    assert len(alert_notifications(app, "导出")) == 1

    # Quiet for longer than the window: the next burst is a new episode.
    for minute in range(3):
        with clock.frozen_at(MONDAY_10 + timedelta(minutes=30 + minute)):
            assert admin.get(DMN).status_code == 200
    assert len(alerts(app, "bulk_export")) == 2
    texts = alert_notifications(app, "导出")
    assert len(texts) == 2 and "admin" in texts[0] and "10 分钟内导出/下载 3 次" in texts[0]
    with clock.frozen_at(MONDAY_10 + timedelta(minutes=33)):
        shown = admin.get("/admin/audit").get_data(as_text=True)
    assert shown.count('data-rule="bulk_export"') == 2


def test_a_burst_of_refused_requests_from_one_address_alerts_once(app, browser):
    anonymous = app.test_client()
    bad = {"Authorization": "Bearer gf_not-a-token"}
    for i in range(25):
        with clock.frozen_at(MONDAY_10 + timedelta(seconds=5 * i)):
            assert anonymous.get("/api/v1/cases", headers=bad).status_code == 401
        assert len(alerts(app, "denied_burst")) == (0 if i < 19 else 1)
    alert = alerts(app, "denied_burst")[0]
    assert alert.subject == "address:127.0.0.1" and alert.matches == 6
    assert "地址 127.0.0.1" in alert_notifications(app, "被拒绝")[0]

    for i in range(20):
        with clock.frozen_at(MONDAY_10 + timedelta(minutes=15, seconds=i)):
            anonymous.get("/api/v1/cases", headers=bad)
    assert len(alerts(app, "denied_burst")) == 2

    # Switched off by the city admin: nothing more.
    admin = browser("admin")
    assert admin.form_post("/admin/audit/rules", rule_form(denied_burst_enabled=None)).status_code == 303
    for i in range(25):
        with clock.frozen_at(MONDAY_10 + timedelta(minutes=40, seconds=i)):
            anonymous.get("/api/v1/cases", headers=bad)
    assert len(alerts(app, "denied_burst")) == 2


def test_a_signed_in_user_probing_is_an_episode_of_the_user_and_of_the_address(app):
    user = signed_in(app, "kq_bottled_staff", MONDAY_10)
    with clock.frozen_at(MONDAY_10):
        for _ in range(20):
            assert user.get("/admin/audit").status_code == 403
    subjects = sorted(a.subject for a in alerts(app, "denied_burst"))
    assert len(subjects) == 2 and subjects[0] == "address:127.0.0.1" and subjects[1].startswith("user:")


def test_access_outside_working_hours_alerts_once_per_episode(app, api):
    inspector = api("keqiao_inspector")
    saturday_10 = MONDAY_10 - timedelta(days=2)
    with clock.frozen_at(MONDAY_10):
        inspector.post("/cases", {"process": "rectification", "data": {}})
    assert alerts(app, "off_hours") == []

    for minutes in (0, 30, 90):  # Saturday morning, activity never quiet for two hours
        with clock.frozen_at(saturday_10 + timedelta(minutes=minutes)):
            inspector.post("/cases", {"process": "rectification", "data": {}})
    found = alerts(app, "off_hours")
    assert len(found) == 1 and found[0].matches == 3
    assert "keqiao_inspector" in found[0].text and f"{saturday_10.astimezone(SHANGHAI):%Y-%m-%d} 10:00" in found[0].text

    with clock.frozen_at(saturday_10 + timedelta(hours=5)):  # after a quiet gap: a new episode
        inspector.post("/cases", {"process": "rectification", "data": {}})
    with clock.frozen_at(MONDAY_10 + timedelta(hours=11)):  # Monday 21:00 in Shanghai
        inspector.post("/cases", {"process": "rectification", "data": {}})
    assert len(alerts(app, "off_hours")) == 3
    assert len(alert_notifications(app, "非工作时间")) == 3


def test_working_hours_edited_through_the_form_change_what_is_off_hours(app, api):
    form = rule_form(off_hours_start_hour="11", off_hours_end_hour="17",
                     off_hours_weekdays=["1", "2", "3", "4", "5", "6"])
    admin = signed_in(app, "admin", MONDAY_10 + timedelta(hours=3))
    with clock.frozen_at(MONDAY_10 + timedelta(hours=3)):  # the admin saves at 13:00
        assert form_post(admin, "/admin/audit/rules", form).status_code == 303
    inspector = api("keqiao_inspector")
    with clock.frozen_at(MONDAY_10 - timedelta(days=2, hours=-3)):  # Saturday 13:00: now a working day
        inspector.post("/cases", {"process": "rectification", "data": {}})
    assert alerts(app, "off_hours") == []
    with clock.frozen_at(MONDAY_10):  # Monday 10:00: before the new start hour
        inspector.post("/cases", {"process": "rectification", "data": {}})
    assert len(alerts(app, "off_hours")) == 1


def test_mass_deletions_alert_once_per_episode(own_app):
    from models import Notification, User
    from web.extensions import csrf, db

    app = own_app()

    # No page of the platform deletes anything yet; a route like the ones that will, for this test.
    bp = Blueprint("deleting", __name__)

    @bp.delete("/test-only/notifications/<int:note_id>")
    def delete_note(note_id):
        note = db.session.get(Notification, note_id)
        if note is None:
            return {"error": "no such notification"}, 404
        db.session.delete(note)
        db.session.commit()
        return "", 204

    csrf.exempt(bp)
    app.register_blueprint(bp)
    with app.app_context():
        staff = db.session.scalar(select(User.id).where(User.username == "kq_bottled_staff"))
        db.session.add_all([Notification(user_id=staff, kind="message", text=str(i)) for i in range(30)])
        db.session.commit()
        ids = db.session.scalars(select(Notification.id).where(Notification.user_id == staff)).all()
    user = signed_in(app, "kq_bottled_staff", MONDAY_10)
    for i, note_id in enumerate(ids[:12]):
        with clock.frozen_at(MONDAY_10 + timedelta(seconds=10 * i)):
            assert user.delete(f"/test-only/notifications/{note_id}").status_code == 204
        assert len(alerts(app, "mass_delete")) == (0 if i < 9 else 1)
    with clock.frozen_at(MONDAY_10 + timedelta(minutes=5)):  # refused deletions are not deletions
        for _ in range(5):
            assert user.delete(f"/test-only/notifications/{ids[0]}").status_code == 404
    assert alerts(app, "mass_delete")[0].matches == 3
    for i, note_id in enumerate(ids[12:22]):
        with clock.frozen_at(MONDAY_10 + timedelta(minutes=30, seconds=i)):
            assert user.delete(f"/test-only/notifications/{note_id}").status_code == 204
    assert len(alerts(app, "mass_delete")) == 2
    assert len(alert_notifications(app, "删除/停用 10 次")) == 2


def test_the_rules_form_refuses_bad_values_with_messages(app, browser):
    admin = browser("admin")
    bad = admin.form_post("/admin/audit/rules", rule_form(off_hours_start_hour="18", off_hours_end_hour="8",
                                                          bulk_export_threshold="0", mass_delete_threshold="x"))
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert html.count('class="errors"') == 3
    errors = dict(re.findall(r'id="field-(\w+)">\s*<label[^>]*>[^<]*</label>[^\n]*\s*<ul class="errors"><li>([^<]*)',
                             html))
    assert set(errors) == {"off_hours_end_hour", "bulk_export_threshold", "mass_delete_threshold"}
    assert errors["off_hours_end_hour"] == "结束时间须晚于开始时间。"  # Chinese unless English is chosen
    admin.client.get("/locale/en")
    bad = admin.form_post("/admin/audit/rules", rule_form(off_hours_start_hour="18", off_hours_end_hour="8"))
    assert bad.status_code == 422 and "The end hour must be after the start hour." in bad.get_data(as_text=True)
    from workflows.services import audit_rules

    with app.app_context():
        from web.extensions import db

        assert audit_rules.rules(db.session)["bulk_export"].threshold == 20  # nothing saved


@pytest.mark.parametrize("username", ["keqiao_supervisor", "keqiao_inspector", "kq_bottled_admin"])
def test_only_the_city_admin_edits_the_rules(app, browser, username):
    user = browser(username)
    assert user.client.get("/admin/audit/rules").status_code == 403
    page = user.client.get("/")
    resp = user.client.post("/admin/audit/rules", data={**rule_form(bulk_export_threshold="1"),
                                                        "csrf_token": csrf_of(page.data)})
    assert resp.status_code == 403
    from web.extensions import db
    from workflows.services import audit_rules

    with app.app_context():
        assert audit_rules.rules(db.session)["bulk_export"].threshold == 20


@pytest.mark.postgresql  # SQLite writes one transaction at a time: the race is PostgreSQL's
def test_two_processes_evaluating_one_burst_at_once_raise_one_alert(app):
    """Two workers' entries of one burst evaluated at the same moment: the second waits for the first's
    episode and extends it, instead of finding none open and raising it a second time."""
    import threading
    from types import SimpleNamespace

    from sqlalchemy.orm import Session

    from web.extensions import db
    from workflows.services import audit_rules

    with app.app_context():
        engine = db.engine
    at = datetime.now(UTC)
    entry = SimpleNamespace(id=None, at=at, username="", address="198.51.100.9", user_id=None)
    subject = f"address:{entry.address}"
    with Session(engine) as first:
        rule = audit_rules.rules(first)[audit_rules.DENIED_BURST]
        raised = audit_rules._episode(first, rule, subject, entry, count=20)
        first.flush()
        assert raised is not None
        second_raised = []

        def second_worker():
            with Session(engine) as second:
                second_raised.append(audit_rules._episode(second, rule, subject, entry, count=21))
                second.commit()

        worker = threading.Thread(target=second_worker)
        worker.start()
        worker.join(1.0)
        assert worker.is_alive()  # waits for the first's transaction, which holds the episode
        first.commit()
    worker.join(10)
    assert not worker.is_alive() and second_raised == [None]  # it extended the episode
    [alert] = alerts(app, audit_rules.DENIED_BURST)
    assert (alert.subject, alert.matches) == (subject, 2)
