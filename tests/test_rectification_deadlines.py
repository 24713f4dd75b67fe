"""Deadlines of the rectification lifecycle (L2) by hazard class on the working-day calendar: the
class's period from the DMN table (shortened by the inspector, never lengthened), a send-back that
sets a new deadline, the enterprise's one extension request, the verification period with its
reminder and escalation, and the re-inspection with its 整改复查意见书."""
import re
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import enterprise_id, future
from flows import KQ_BOTTLED, complete, open_names, open_order, task_named

from workflows.engine import clock


def test_a_send_back_after_the_deadline_sets_a_new_deadline_and_is_not_overdue(app, api, engine):
    inspector, staff = api("keqiao_inspector"), api("kq_bottled_staff")
    case = open_order(api, app, hours=2)
    complete(staff, case["id"], "Task_respond", {"response": "已更换报警器"})
    # The inspector verifies five hours later, after the order's deadline, and sends it back.
    later = datetime.now(UTC) + timedelta(hours=5)
    with clock.frozen_at(later):
        back = complete(inspector, case["id"], "Task_verify", {"decision": "send_back", "comment": "照片不清晰"})
    new_deadline = datetime.fromisoformat(back["data"]["deadline_at"])
    assert new_deadline > later
    # The enterprise gets its retry: no timer fires a minute later, the answer is its task again.
    assert engine.run_due_timers(later + timedelta(minutes=1)) == 0
    assert open_names(staff, case["id"]) == ["Task_respond"]
    assert inspector.get(f"/cases/{case['id']}").json["data"]["overdue_count"] == 0


BEIJING = ZoneInfo("Asia/Shanghai")


def beijing(*args) -> datetime:
    return datetime(*args, tzinfo=BEIJING)


def due_of(user, case_id: int, name: str) -> datetime:
    return datetime.fromisoformat(task_named(user, case_id, name)["due_at"])


def test_the_class_period_counts_working_days_across_national_day_with_its_make_up_days(app, api, engine):
    inspector, staff = api("keqiao_inspector"), api("kq_bottled_staff")
    # Wednesday Sep 30, 2026, 10:00: a class II hazard has 3 working days. Oct 1-7 are off; Saturday
    # Oct 10 is a make-up working day: Oct 8, 9 and 10, to the end of that day.
    with clock.frozen_at(beijing(2026, 9, 30, 10)):
        case = open_order(api, app, hazard_class="II", deadline_at=None)
    deadline = datetime.fromisoformat(case["data"]["deadline_at"])
    assert deadline == beijing(2026, 10, 10, 23, 59, 59)
    assert due_of(staff, case["id"], "Task_respond") == deadline
    # Nothing fires during the holiday; after the make-up Saturday the order is overdue.
    assert engine.run_due_timers(beijing(2026, 10, 9, 12)) == 0
    assert engine.run_due_timers(beijing(2026, 10, 11, 0, 1)) == 1
    assert open_names(inspector, case["id"]) == ["Task_escalate"]

    # Friday Sep 18, class III (7 working days): the make-up Sunday Sep 20 counts, Mid-Autumn is off.
    with clock.frozen_at(beijing(2026, 9, 18, 9)):
        third = open_order(api, app, hazard_class="III", deadline_at=None)
    # Sep 20 (Sun, worked), 21, 22, 23, 24, then Mid-Autumn Sep 25-27 off, Sep 28, 29.
    assert datetime.fromisoformat(third["data"]["deadline_at"]) == beijing(2026, 9, 29, 23, 59, 59)
    # Class I: 24 calendar hours, holiday or not.
    with clock.frozen_at(beijing(2026, 10, 1, 8)):
        first = open_order(api, app, hazard_class="I", deadline_at=None)
    assert datetime.fromisoformat(first["data"]["deadline_at"]) == beijing(2026, 10, 2, 8)


def test_a_city_adjustment_moves_the_deadline(app, api, engine):
    from models import CalendarAdjustment
    from web.extensions import db
    with app.app_context():
        db.session.add(CalendarAdjustment(day=date(2026, 10, 8), working=False, note="本地调整"))
        db.session.commit()
    with clock.frozen_at(beijing(2026, 9, 30, 10)):
        case = open_order(api, app, hazard_class="II", deadline_at=None)
    # Oct 8 is off in Shaoxing: Oct 9, 10 (make-up) and Monday Oct 12.
    assert datetime.fromisoformat(case["data"]["deadline_at"]) == beijing(2026, 10, 12, 23, 59, 59)


def test_a_deadline_past_the_class_period_is_refused_naming_the_field(app, api):
    inspector = api("keqiao_inspector")
    ent = enterprise_id(app, KQ_BOTTLED)
    for hazard_class, hours in (("I", 30), ("II", 24 * 12), ("III", 24 * 20)):
        resp = inspector.post("/cases", {"process": "rectification", "data": {
            "enterprise_id": ent, "hazard_description": "报警器失效", "hazard_class": hazard_class,
            "deadline_at": future(hours)}})
        assert resp.status_code == 422, resp.json
        assert list(resp.json["error"]["fields"]) == ["deadline_at"], resp.json
    # A shorter one is the inspector's to give, and stands.
    short = future(12)
    case = open_order(api, app, hazard_class="I", deadline=short)
    assert datetime.fromisoformat(case["data"]["deadline_at"]) == datetime.fromisoformat(short)
    # Hostile input: not a date, a date in the past.
    for bad in ("明天", "2026-02-30T10:00:00+08:00", "2001-01-01T00:00:00+00:00"):
        resp = inspector.post("/cases", {"process": "rectification", "data": {
            "enterprise_id": ent, "hazard_description": "报警器失效", "hazard_class": "II", "deadline_at": bad}})
        assert resp.status_code == 422 and "deadline_at" in resp.json["error"]["fields"], (bad, resp.json)


def test_the_send_back_deadline_is_proposed_from_the_table_and_cannot_be_lengthened(app, api, engine):
    inspector, staff = api("keqiao_inspector"), api("kq_bottled_staff")
    case = open_order(api, app, hazard_class="I", hours=12)
    complete(staff, case["id"], "Task_respond", {"response": "已整改"})
    too_long = complete(inspector, case["id"], "Task_verify", {
        "decision": "send_back", "comment": "未整改到位", "new_deadline_at": future(48)}, status=422)
    assert list(too_long["error"]["fields"]) == ["new_deadline_at"]
    back = complete(inspector, case["id"], "Task_verify", {"decision": "send_back", "comment": "未整改到位"})
    proposed = datetime.fromisoformat(back["data"]["deadline_at"])
    assert timedelta(hours=23) < proposed - datetime.now(UTC) <= timedelta(hours=24)


def ask_extension(staff, case_id, until, status=200, reason="设备到货需要时间"):
    return complete(staff, case_id, "Task_respond", {"action": "extension", "extension_reason": reason,
                                                    "extension_until": until}, status=status)


def test_the_extension_request_approved_then_a_second_request_refused(app, api, engine):
    staff, supervisor = api("kq_bottled_staff"), api("keqiao_supervisor")
    case = open_order(api, app, hazard_class="II", deadline_at=None)
    deadline = datetime.fromisoformat(case["data"]["deadline_at"])
    # Without a reason, or past the table's extension period (3 working days more): refused, by field.
    no_reason = ask_extension(staff, case["id"], (deadline + timedelta(days=1)).isoformat(), 422, reason="")
    assert list(no_reason["error"]["fields"]) == ["extension_reason"]
    too_far = ask_extension(staff, case["id"], (deadline + timedelta(days=30)).isoformat(), 422)
    assert list(too_far["error"]["fields"]) == ["extension_until"]
    for bad in ("明天", "", (deadline - timedelta(hours=1)).isoformat()):
        refused = ask_extension(staff, case["id"], bad, 422)
        assert list(refused["error"]["fields"]) == ["extension_until"], (bad, refused)
    unknown = complete(staff, case["id"], "Task_respond", {"action": "later", "response": "已整改"}, 422)
    assert list(unknown["error"]["fields"]) == ["action"]
    asked = (deadline + timedelta(days=1)).isoformat()
    ask_extension(staff, case["id"], asked)
    # The supervisor decides; the enterprise's answer task is gone meanwhile.
    assert open_names(supervisor, case["id"]) == ["Task_extension"]
    task = task_named(supervisor, case["id"], "Task_extension")
    assert task["role"] == "county_supervisor"
    later = complete(supervisor, case["id"], "Task_extension", {
        "extension_decision": "approve", "deadline_at": (deadline + timedelta(days=2)).isoformat()}, status=422)
    assert list(later["error"]["fields"]) == ["deadline_at"]  # not past what was asked
    done = complete(supervisor, case["id"], "Task_extension", {"extension_decision": "approve"})
    assert datetime.fromisoformat(done["data"]["deadline_at"]) == datetime.fromisoformat(asked)
    assert due_of(staff, case["id"], "Task_respond") == datetime.fromisoformat(asked)
    notes = [n["text"] for n in staff.get("/notifications").json["items"]]
    assert any("延期申请已批准" in n for n in notes), notes
    # Once only.
    again = ask_extension(staff, case["id"], (datetime.fromisoformat(asked) + timedelta(days=1)).isoformat(), 422)
    assert list(again["error"]["fields"]) == ["action"]
    assert open_names(staff, case["id"]) == ["Task_respond"]


def test_the_extension_request_refused_keeps_the_deadline(app, api, engine):
    staff, supervisor = api("kq_bottled_staff"), api("keqiao_supervisor")
    case = open_order(api, app, hazard_class="II", hours=30)
    deadline = datetime.fromisoformat(case["data"]["deadline_at"])
    ask_extension(staff, case["id"], (deadline + timedelta(days=1)).isoformat())
    no_reason = complete(supervisor, case["id"], "Task_extension", {"extension_decision": "refuse"}, status=422)
    assert list(no_reason["error"]["fields"]) == ["extension_comment"]
    done = complete(supervisor, case["id"], "Task_extension",
                    {"extension_decision": "refuse", "extension_comment": "隐患可当日整改"})
    assert datetime.fromisoformat(done["data"]["deadline_at"]) == deadline
    assert due_of(staff, case["id"], "Task_respond") == deadline
    notes = [n["text"] for n in staff.get("/notifications").json["items"]]
    assert any("延期申请未获批准" in n and "隐患可当日整改" in n for n in notes), notes
    # A refused request was the one request.
    ask_extension(staff, case["id"], (deadline + timedelta(days=1)).isoformat(), 422)


def test_a_refusal_after_the_deadline_passed_must_set_a_new_one(app, api, engine):
    staff, supervisor = api("kq_bottled_staff"), api("keqiao_supervisor")
    case = open_order(api, app, hazard_class="II", hours=2)
    deadline = datetime.fromisoformat(case["data"]["deadline_at"])
    ask_extension(staff, case["id"], (deadline + timedelta(days=1)).isoformat())
    later = datetime.now(UTC) + timedelta(hours=5)
    with clock.frozen_at(later):
        bare = complete(supervisor, case["id"], "Task_extension",
                        {"extension_decision": "refuse", "extension_comment": "理由不充分"}, status=422)
        assert list(bare["error"]["fields"]) == ["deadline_at"]
        done = complete(supervisor, case["id"], "Task_extension", {
            "extension_decision": "refuse", "extension_comment": "理由不充分",
            "deadline_at": (later + timedelta(hours=20)).isoformat()})
    assert datetime.fromisoformat(done["data"]["deadline_at"]) > later
    assert engine.run_due_timers(later + timedelta(minutes=1)) == 0


def test_verification_has_its_period_a_reminder_then_the_supervisor(app, api, engine):
    inspector, staff, supervisor = api("keqiao_inspector"), api("kq_bottled_staff"), api("keqiao_supervisor")
    # Answered on Friday Sep 18, 2026 at 10:00: 2 working days are the make-up Sunday Sep 20 and Monday Sep 21.
    with clock.frozen_at(beijing(2026, 9, 18, 9)):
        case = open_order(api, app, hazard_class="III", deadline_at=None)
    with clock.frozen_at(beijing(2026, 9, 18, 10)):
        answered = complete(staff, case["id"], "Task_respond", {"response": "已整改"})
    assert datetime.fromisoformat(answered["data"]["verify_due_at"]) == beijing(2026, 9, 21, 23, 59, 59)
    assert due_of(inspector, case["id"], "Task_verify") == beijing(2026, 9, 21, 23, 59, 59)
    # ... and a working day more before the supervisor takes it: Tuesday Sep 22.
    assert datetime.fromisoformat(answered["data"]["verify_escalate_at"]) == beijing(2026, 9, 22, 23, 59, 59)

    assert engine.run_due_timers(beijing(2026, 9, 21, 12)) == 0
    assert engine.run_due_timers(beijing(2026, 9, 22, 0, 5)) == 1  # the reminder; the task stays
    assert open_names(inspector, case["id"]) == ["Task_verify"]
    notes = [n["text"] for n in inspector.get("/notifications").json["items"]]
    assert any("整改核查期限已到" in n for n in notes), notes
    assert engine.run_due_timers(beijing(2026, 9, 22, 12)) == 0
    assert engine.run_due_timers(beijing(2026, 9, 23, 0, 5)) == 1  # escalation
    assert open_names(supervisor, case["id"]) == ["Task_verify_escalated"]
    assert task_named(supervisor, case["id"], "Task_verify_escalated")["role"] == "county_supervisor"
    closed = complete(supervisor, case["id"], "Task_verify_escalated", {
        "decision": "accept", "reinspected_on": "2026-09-23", "reinspection_findings": "报警器已更换，运行正常"})
    assert closed["status"] == "completed"


@pytest.mark.documents
def test_acceptance_records_the_reinspection_and_closes_with_the_review_pdf(app, api, tmp_path):
    inspector, staff = api("keqiao_inspector"), api("kq_bottled_staff")
    case = open_order(api, app, hazard_class="II", deadline_at=None)
    complete(staff, case["id"], "Task_respond", {"response": "已更换报警器"})
    no_findings = complete(inspector, case["id"], "Task_verify", {"decision": "accept"}, status=422)
    assert list(no_findings["error"]["fields"]) == ["reinspection_findings"]
    tomorrow = (datetime.now(BEIJING) + timedelta(days=1)).date().isoformat()
    future_day = complete(inspector, case["id"], "Task_verify", {
        "decision": "accept", "reinspected_on": tomorrow, "reinspection_findings": "已整改"}, status=422)
    assert list(future_day["error"]["fields"]) == ["reinspected_on"]
    today = datetime.now(BEIJING).date()
    closed = complete(inspector, case["id"], "Task_verify", {
        "decision": "accept", "reinspected_on": today.isoformat(),
        "reinspection_findings": "现场复查：报警器已更换并联动测试正常。"})
    assert closed["status"] == "completed"
    assert closed["data"]["reinspected_on"] == today.isoformat()
    kinds = {d["kind"]: d for d in closed["documents"]}
    assert set(kinds) == {"rectification_notice", "rectification_review"}
    review = kinds["rectification_review"]
    assert review["title"] == "整改复查意见书" and review["number"].startswith("绍燃复")
    pdf = next(a for a in closed["attachments"] if a["id"] == review["attachment_id"])
    content = staff.get(f"/attachments/{pdf['id']}").data  # the enterprise gets its copy
    assert content.startswith(b"%PDF-")
    if shutil.which("pdftotext"):
        path = tmp_path / "review.pdf"
        path.write_bytes(content)
        text = re.sub(r"\s+", "", subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"],
                                                 capture_output=True, check=True).stdout.decode())
        assert "整改复查意见书" in text and kinds["rectification_notice"]["number"] in text
        assert "报警器已更换并联动测试正常" in text and f"{today.year}年{today.month}月{today.day}日" in text
        assert "柯桥检查员" in text or "检查员" in text


def test_the_city_admin_adds_and_removes_local_adjustments(app, api, browser):
    admin = browser("admin")
    page = admin.client.get("/admin/calendar")
    assert page.status_code == 200
    bad = admin.form_post("/admin/calendar", {"day": "2026-13-40", "working": "off", "note": "x"})
    assert bad.status_code == 422 and bad.data.count(b'class="errors"') == 1
    assert admin.form_post("/admin/calendar", {"day": "2026-10-12", "working": "maybe"}).status_code == 422
    done = admin.form_post("/admin/calendar", {"day": "2026-10-08", "working": "off", "note": "台风停工"})
    assert done.status_code == 302
    listed = admin.client.get("/admin/calendar").data.decode()
    assert 'data-day="2026-10-08"' in listed and "台风停工" in listed
    # The order's deadline follows at once.
    with clock.frozen_at(beijing(2026, 9, 30, 10)):
        case = open_order(api, app, hazard_class="II", deadline_at=None)
    assert datetime.fromisoformat(case["data"]["deadline_at"]) == beijing(2026, 10, 12, 23, 59, 59)
    from models import CalendarAdjustment
    from web.extensions import db
    with app.app_context():
        row_id = db.session.query(CalendarAdjustment.id).scalar()
    removed = admin.form_post(f"/admin/calendar/{row_id}/delete", {}, page_path="/admin/calendar")
    assert removed.status_code == 302
    assert 'data-day="2026-10-08"' not in admin.client.get("/admin/calendar").data.decode()
    # Not for an inspector.
    assert browser("keqiao_inspector").client.get("/admin/calendar").status_code == 403
