"""Certificate renewal (L5): the register follows the case; timers warn, remind and expire."""
import re
import threading
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from conftest import enterprise_id
from sqlalchemy import func, insert, select

SHANGHAI = ZoneInfo("Asia/Shanghai")


def expiry_instant(day: date) -> datetime:
    """The model reads a certificate as expiring at midnight Shanghai time of its expiry day."""
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)


def register(api, app, username="kq_bottled_admin", days=200, **overrides):
    data = {"enterprise_id": enterprise_id(app), "kind": "principal", "number": "ZJ-RQ-2024-0017",
            "holder": "王建国", "issued_on": (date.today() - timedelta(days=1000)).isoformat(),
            "expires_on": (date.today() + timedelta(days=days)).isoformat()}
    data.update(overrides)
    return api(username).post("/cases", {"process": "certificate", "data": data})


def certificates(app):
    from models import Certificate
    from web.extensions import db

    with app.app_context():
        rows = db.session.scalars(select(Certificate).order_by(Certificate.id)).all()
        return [{"kind": c.kind, "number": c.number, "holder": c.holder, "issued_on": c.issued_on,
                 "expires_on": c.expires_on, "status": c.status, "case_id": c.case_id,
                 "enterprise_id": c.enterprise_id} for c in rows]


def messages(app, case_id):
    """The "message" notifications of a case: (username, text)."""
    from models import Notification, User
    from web.extensions import db

    with app.app_context():
        rows = db.session.execute(select(User.username, Notification.text).join(User, User.id == Notification.user_id)
                                  .where(Notification.case_id == case_id, Notification.kind == "message")
                                  .order_by(Notification.id)).all()
        return [tuple(r) for r in rows]


def case_count(app):
    from models import Case
    from web.extensions import db

    with app.app_context():
        return db.session.scalar(select(func.count(Case.id)))


def open_tasks(api_user, case_id):
    return [t for t in api_user.get("/tasks?scope=all").json["items"] if t["case_id"] == case_id]


def only_open_task(api_user, case_id):
    tasks = open_tasks(api_user, case_id)
    assert len(tasks) == 1, tasks
    return tasks[0]


def at(instant: datetime, hours=1) -> datetime:
    return instant + timedelta(hours=hours)


def test_registered_certificate_is_warned_reminded_rejected_and_renewed(app, api, engine):
    admin, staff, supervisor = api("kq_bottled_admin"), api("kq_bottled_staff"), api("keqiao_supervisor")
    expires_on = date.today() + timedelta(days=200)
    resp = register(api, app)
    assert resp.status_code == 201, resp.json
    case = resp.json
    assert case["status"] == "active" and case["tasks"] == [] and case["enterprise"] == enterprise_id(app)
    expiry = expiry_instant(expires_on)
    warn, remind = expiry - timedelta(days=90), expiry - timedelta(days=30)
    assert [(c["number"], c["status"], c["expires_on"], c["case_id"]) for c in certificates(app)] == [
        ("ZJ-RQ-2024-0017", "valid", expires_on, case["id"])]
    with app.app_context():
        from models import Case
        from web.extensions import db
        assert db.session.get(Case, case["id"]).next_timer_at == warn

    # Nothing before the warning date; 90 days before expiry the enterprise is asked to apply.
    assert engine.run_due_timers(at(warn, -1)) == 0
    assert engine.run_due_timers(at(warn)) == 1
    apply = only_open_task(staff, case["id"])
    assert apply["name"] == "Task_apply" and apply["role"] == "enterprise"
    assert datetime.fromisoformat(apply["due_at"]) == expiry
    assert certificates(app)[0]["status"] == "renewing"
    assert messages(app, case["id"]) == []

    # 30 days before expiry: a reminder for every user of the enterprise; the task stays open.
    assert engine.run_due_timers(at(remind)) == 1
    reminders = messages(app, case["id"])
    assert sorted(u for u, _text in reminders) == ["kq_bottled_admin", "kq_bottled_staff"]
    assert all("ZJ-RQ-2024-0017" in text and expires_on.isoformat() in text for _u, text in reminders)
    assert only_open_task(staff, case["id"])["id"] == apply["id"]
    assert admin.get("/notifications?unread=1").json["total"] >= 1

    assert staff.post(f"/tasks/{apply['id']}/complete", {"data": {"note": "申请换证，材料见附件"}}).status_code == 200
    review = only_open_task(supervisor, case["id"])
    assert review["name"] == "Task_review" and review["role"] == "county_supervisor"
    no_reason = supervisor.post(f"/tasks/{review['id']}/complete", {"data": {"decision": "reject"}})
    assert no_reason.status_code == 422 and "reasons" in no_reason.json["error"]["fields"]
    no_date = supervisor.post(f"/tasks/{review['id']}/complete", {"data": {"decision": "issue"}})
    assert no_date.status_code == 422 and "new_expires_on" in no_date.json["error"]["fields"]
    rejected = supervisor.post(f"/tasks/{review['id']}/complete",
                               {"data": {"decision": "reject", "reasons": "缺少培训合格证明"}})
    assert rejected.status_code == 200 and rejected.json["status"] == "active"

    again = only_open_task(staff, case["id"])
    assert again["name"] == "Task_apply" and again["id"] != apply["id"]
    assert datetime.fromisoformat(again["due_at"]) == expiry
    assert staff.post(f"/tasks/{again['id']}/complete", {"data": {"note": "补交培训合格证明"}}).status_code == 200
    review2 = only_open_task(supervisor, case["id"])
    new_expiry = expires_on + timedelta(days=3 * 365)
    issued = supervisor.post(f"/tasks/{review2['id']}/complete",
                             {"data": {"decision": "issue", "new_expires_on": new_expiry.isoformat()}})
    assert issued.status_code == 200, issued.json
    renewed = issued.json
    assert renewed["status"] == "active" and renewed["tasks"] == []
    assert renewed["data"]["renewals"] == 1 and renewed["data"]["expires_on"] == new_expiry.isoformat()
    [cert] = certificates(app)
    assert (cert["status"], cert["expires_on"]) == ("valid", new_expiry)
    assert cert["issued_on"] == datetime.now(SHANGHAI).date()

    # The watch starts again: the next warning is 90 days before the new expiry.
    new_warn = expiry_instant(new_expiry) - timedelta(days=90)
    with app.app_context():
        from models import Case
        from web.extensions import db
        assert db.session.get(Case, case["id"]).next_timer_at == new_warn
    # The old dates are gone: the old expiry passes without anything happening.
    assert engine.run_due_timers(at(expiry, 24)) == 0
    assert certificates(app)[0]["status"] == "valid"
    assert engine.run_due_timers(at(new_warn)) == 1
    third = only_open_task(staff, case["id"])
    assert third["name"] == "Task_apply" and datetime.fromisoformat(third["due_at"]) == expiry_instant(new_expiry)
    assert certificates(app)[0]["status"] == "renewing"


def test_certificate_not_renewed_expires(app, api, engine):
    staff, supervisor = api("kq_bottled_staff"), api("keqiao_supervisor")
    expires_on = date.today() + timedelta(days=120)
    case = register(api, app, username="keqiao_supervisor", days=120).json
    expiry = expiry_instant(expires_on)
    assert engine.run_due_timers(at(expiry - timedelta(days=90))) == 1
    apply = only_open_task(staff, case["id"])
    assert engine.run_due_timers(at(expiry - timedelta(days=30))) == 1
    assert len(messages(app, case["id"])) == 2
    assert engine.run_due_timers(at(expiry, -2)) == 0

    assert engine.run_due_timers(at(expiry)) == 1
    done = supervisor.get(f"/cases/{case['id']}").json
    assert done["status"] == "completed" and done["tasks"] == []
    assert done["history"][-1]["event"] == "case_completed" and done["history"][-1]["detail"]["end"] == "End_expired"
    assert certificates(app)[0]["status"] == "expired"
    assert open_tasks(staff, case["id"]) == []
    assert staff.post(f"/tasks/{apply['id']}/complete", {"data": {"note": "迟到的申请"}}).status_code == 409


def test_expiry_reached_in_one_step_ends_at_expired(app, api, engine):
    """A job that did not run for months fires the warning, the reminder and the expiry at once."""
    supervisor = api("keqiao_supervisor")
    expires_on = date.today() + timedelta(days=100)
    case = register(api, app, days=100).json
    expiry = expiry_instant(expires_on)
    for _ in range(3):
        engine.run_due_timers(at(expiry, 24))
    done = supervisor.get(f"/cases/{case['id']}").json
    assert done["status"] == "completed" and done["history"][-1]["detail"]["end"] == "End_expired"
    assert certificates(app)[0]["status"] == "expired"


def test_duplicate_registration_is_refused_and_nothing_is_written(app, api):
    first = register(api, app)
    assert first.status_code == 201
    before = case_count(app)
    again = register(api, app, username="keqiao_supervisor", holder="李四")
    assert again.status_code == 422 and "number" in again.json["error"]["fields"], again.json
    assert case_count(app) == before
    assert [(c["holder"], c["case_id"]) for c in certificates(app)] == [("王建国", first.json["id"])]
    # Another kind may carry the same number.
    other = register(api, app, kind="safety_officer")
    assert other.status_code == 201 and len(certificates(app)) == 2


def test_registration_input_is_checked(app, api):
    past = register(api, app, days=-1)
    assert past.status_code == 422 and "expires_on" in past.json["error"]["fields"]
    before_issue = register(api, app, issued_on=(date.today() + timedelta(days=300)).isoformat())
    assert before_issue.status_code == 422 and "expires_on" in before_issue.json["error"]["fields"]
    assert register(api, app, username="kq_bottled_staff").status_code == 403
    assert certificates(app) == [] and case_count(app) == 0


def test_certificate_diagram_renders(app, api, browser):
    case = register(api, app).json
    resp = browser("kq_bottled_admin").client.get(f"/cases/{case['id']}/diagram.bpmn")
    assert resp.status_code == 200 and resp.mimetype == "application/xml"
    xml = resp.get_data(as_text=True)
    for element in ("Timer_warn", "Task_apply", "Timer_remind", "Timer_expired", "Task_review", "End_expired"):
        assert re.search(rf'<bpmndi:BPMNShape [^>]*bpmnElement="{element}"', xml), element


def renew(api, case_id, new_expiry: date):
    staff, supervisor = api("kq_bottled_staff"), api("keqiao_supervisor")
    apply = only_open_task(staff, case_id)
    assert staff.post(f"/tasks/{apply['id']}/complete", {"data": {"note": "申请换证"}}).status_code == 200
    review = only_open_task(supervisor, case_id)
    return supervisor.post(f"/tasks/{review['id']}/complete",
                           {"data": {"decision": "issue", "new_expires_on": new_expiry.isoformat()}})


def test_renewal_is_dated_by_the_day_in_shanghai(app, api, engine):
    from workflows.engine import clock

    expires_on = date.today() + timedelta(days=60)  # inside the warning window: the task opens at once
    case = register(api, app, days=60).json
    assert [t["name"] for t in case["tasks"]] == ["Task_apply"]
    # 23:30 UTC is 07:30 the next morning in Shanghai.
    evening = datetime.combine(date.today(), datetime.min.time(), tzinfo=UTC) + timedelta(hours=23, minutes=30)
    with clock.frozen_at(evening):
        resp = renew(api, case["id"], expires_on + timedelta(days=1095))
    assert resp.status_code == 200, resp.json
    shanghai_day = (evening + timedelta(hours=8)).date()
    assert resp.json["data"]["issued_on"] == shanghai_day.isoformat()
    assert certificates(app)[0]["issued_on"] == shanghai_day


def test_review_still_pending_at_expiry_then_rejected_expires(app, api, engine):
    """An application made in time keeps the certificate renewing; rejected after the expiry date, it expires."""
    staff, supervisor = api("kq_bottled_staff"), api("keqiao_supervisor")
    expires_on = date.today() + timedelta(days=100)
    case = register(api, app, days=100).json
    expiry = expiry_instant(expires_on)
    engine.run_due_timers(at(expiry - timedelta(days=90)))
    apply = only_open_task(staff, case["id"])
    assert staff.post(f"/tasks/{apply['id']}/complete", {"data": {"note": "申请换证"}}).status_code == 200
    assert engine.run_due_timers(at(expiry, 48)) == 0  # no timer waits on the review
    assert certificates(app)[0]["status"] == "renewing"
    review = only_open_task(supervisor, case["id"])
    from workflows.engine import clock

    with clock.frozen_at(at(expiry, 72)):
        resp = supervisor.post(f"/tasks/{review['id']}/complete",
                               {"data": {"decision": "reject", "reasons": "不符合换证条件"}})
    assert resp.status_code == 200, resp.json
    assert resp.json["status"] == "completed" and resp.json["history"][-1]["detail"]["end"] == "End_expired"
    assert certificates(app)[0]["status"] == "expired"


def test_concurrent_duplicate_registration_is_refused_not_a_server_error(app, api):
    """The duplicate check cannot see a registration not yet committed: the unique index decides, as a 422."""
    from models import Certificate
    from web.extensions import db

    admin = api("kq_bottled_admin")
    expires_on = date.today() + timedelta(days=200)
    with app.app_context():
        side = db.engine.connect()
    tx = side.begin()
    side.execute(insert(Certificate.__table__).values(
        enterprise_id=enterprise_id(app), kind="principal", number="ZJ-RQ-2024-0017", holder="并发登记",
        expires_on=expires_on, status="valid", updated_at=datetime.now(UTC)))
    result = {}

    def post():
        try:
            result["resp"] = register(api, app)
        except Exception as exc:  # noqa: BLE001 - a server error surfaces here under TESTING
            result["error"] = exc

    worker = threading.Thread(target=post)
    worker.start()
    time.sleep(1.0)  # the registration reaches the certificate insert and waits on the other transaction
    tx.commit()
    side.close()
    worker.join(timeout=60)
    assert "error" not in result, result.get("error")
    resp = result["resp"]
    assert resp.status_code == 422 and "number" in resp.json["error"]["fields"], resp.json
    assert case_count(app) == 0
    assert [c["holder"] for c in certificates(app)] == ["并发登记"]
    assert admin.get("/cases?process=certificate").json["total"] == 0
