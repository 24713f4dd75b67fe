"""Control of running cases (issue 14, item 5): cancel, suspend and resume with the remaining time, delegate a
task, transfer a case to another county, migrate running cases to a newer model version; each behind its
right, with its reason in the history and the audit log, and those concerned notified."""
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flows import ACCEPT, complete, open_order, task_named
from sqlalchemy import select

from workflows.engine import clock

RECTIFICATION = Path(__file__).resolve().parent.parent / "bpmn" / "rectification.bpmn"


def _db(app, fn):
    from web.extensions import db

    with app.app_context():
        return fn(db.session)


def _case_row(app, case_id):
    from models import Case

    return _db(app, lambda s: s.get(Case, case_id))


def _notes(app, username, kind):
    from models import Notification, User

    return _db(app, lambda s: s.scalars(select(Notification.text).join(User, User.id == Notification.user_id)
                                        .where(User.username == username, Notification.kind == kind)).all())


def _audit_reasons(app, endpoint):
    from models import AuditEntry

    return _db(app, lambda s: [(e.status, (e.detail or {}).get("reason")) for e in s.scalars(
        select(AuditEntry).where(AuditEntry.endpoint == endpoint).order_by(AuditEntry.id))])


def at(instant):
    return clock.frozen_at(instant)


# ---- suspend and resume ---------------------------------------------------------------------------------
def test_suspend_pauses_timers_and_resume_restores_the_remaining_time(app, api, engine):
    supervisor, staff = api("keqiao_supervisor"), api("kq_bottled_staff")
    t0 = datetime.now(UTC).replace(microsecond=0)
    case = open_order(api, app, deadline=(t0 + timedelta(hours=10)).isoformat())
    respond = task_named(staff, case["id"], "Task_respond")
    due = datetime.fromisoformat(respond["due_at"])
    assert due == t0 + timedelta(hours=10)

    with at(t0 + timedelta(hours=2)):
        paused = supervisor.post(f"/cases/{case['id']}/suspend", {"reason": "企业申请停业检修，暂停办理"})
    assert paused.status_code == 200, paused.json
    assert paused.json["status"] == "suspended"
    assert _case_row(app, case["id"]).next_timer_at is None
    # The enterprise, whose task it is, hears of it, with the reason.
    assert any("暂停办理" in n for n in _notes(app, "kq_bottled_staff", "case_suspended"))

    # A suspended case's task cannot be completed: a clear conflict, nothing written.
    refused = staff.post(f"/tasks/{respond['id']}/complete", {"data": {"response": "已整改"}})
    assert refused.status_code == 409 and "suspended" in refused.json["error"]["message"]
    # Its deadline passes while it is suspended: no timer fires, nobody is told the task is late.
    assert engine.run_due_timers(t0 + timedelta(hours=12)) == 0
    assert engine.notify_overdue(t0 + timedelta(hours=12)) == 0
    # Suspending again, or resuming a running case, is a state conflict.
    with at(t0 + timedelta(hours=3)):
        assert supervisor.post(f"/cases/{case['id']}/suspend", {"reason": "再次"}).status_code == 409

    with at(t0 + timedelta(hours=22)):  # 20 hours suspended, 8 hours were left
        resumed = supervisor.post(f"/cases/{case['id']}/resume", {"reason": "检修结束"})
    assert resumed.status_code == 200, resumed.json
    assert resumed.json["status"] == "active"
    moved = task_named(staff, case["id"], "Task_respond")
    assert datetime.fromisoformat(moved["due_at"]) == due + timedelta(hours=20)
    assert _case_row(app, case["id"]).next_timer_at == t0 + timedelta(hours=30)
    with at(t0 + timedelta(hours=23)):
        assert supervisor.post(f"/cases/{case['id']}/resume", {"reason": "再次"}).status_code == 409

    # 8 hours after resuming, not before, the deadline passes.
    assert engine.run_due_timers(t0 + timedelta(hours=29)) == 0
    assert engine.run_due_timers(t0 + timedelta(hours=31)) == 1
    assert task_named(supervisor, case["id"], "Task_escalate")

    history = supervisor.get(f"/cases/{case['id']}").json["history"]
    events = [(h["event"], h["detail"].get("reason")) for h in history if h["event"].startswith("case_")]
    assert ("case_suspended", "企业申请停业检修，暂停办理") in events and ("case_resumed", "检修结束") in events
    assert _audit_reasons(app, "api.suspend_case")[0] == (200, "企业申请停业检修，暂停办理")


def test_completing_works_again_after_resume(app, api):
    supervisor, staff = api("keqiao_supervisor"), api("kq_bottled_staff")
    case = open_order(api, app)
    assert supervisor.post(f"/cases/{case['id']}/suspend", {"reason": "核实情况"}).status_code == 200
    assert supervisor.post(f"/cases/{case['id']}/resume", {"reason": "核实完毕"}).status_code == 200
    done = complete(staff, case["id"], "Task_respond", {"response": "已整改"})
    assert [t["name"] for t in done["tasks"]] == ["Task_verify"] or done["tasks"] == []


def test_control_refusals(app, api):
    supervisor, inspector, staff = api("keqiao_supervisor"), api("keqiao_inspector"), api("kq_bottled_staff")
    case = open_order(api, app)
    path = f"/cases/{case['id']}"
    for action in ("cancel", "suspend"):
        # No reason, a blank one, one that is not text: 422 naming the field.
        for body in ({}, {"reason": "   "}, {"reason": 5}, {"reason": "x" * 1001}, {"reason": "a\x00b"},
                     {"reason": "\ud800"}, {"reason": ["撤销"]}, {"reason": None}):
            resp = supervisor.post(f"{path}/{action}", body)
            assert resp.status_code == 422 and "reason" in resp.json["error"]["fields"], (action, body, resp.json)
        # Without the right (an inspector), 403; outside the area or an enterprise, 404.
        assert inspector.post(f"{path}/{action}", {"reason": "试试"}).status_code == 403
        assert staff.post(f"{path}/{action}", {"reason": "试试"}).status_code == 404
        assert api("yuecheng_inspector").post(f"{path}/{action}", {"reason": "试试"}).status_code == 404
    assert supervisor.post(f"{path}/resume", {"reason": "并未暂停"}).status_code == 409
    assert supervisor.post(f"{path}/cancel", "not an object").status_code == 422
    # Nothing of the refusals reached the case.
    assert supervisor.get(path).json["status"] == "active"
    assert not [h for h in supervisor.get(path).json["history"] if h["event"] in ("case_cancelled", "case_suspended")]


def test_a_revoked_right_is_refused(app, api):
    from models import User, UserRight

    def revoke(s):
        user = s.scalar(select(User).where(User.username == "keqiao_supervisor"))
        s.add(UserRight(user_id=user.id, right="cases.control", granted=False))
        s.commit()

    _db(app, revoke)
    case = open_order(api, app)
    resp = api("keqiao_supervisor").post(f"/cases/{case['id']}/suspend", {"reason": "暂停"})
    assert resp.status_code == 403 and "cases.control" in resp.json["error"]["message"]


# ---- cancel ------------------------------------------------------------------------------------------------
def test_cancel_ends_timers_and_tasks(app, api, engine):
    supervisor, staff = api("keqiao_supervisor"), api("kq_bottled_staff")
    case = open_order(api, app, hours=2)
    respond = task_named(staff, case["id"], "Task_respond")
    resp = supervisor.post(f"/cases/{case['id']}/cancel", {"reason": "重复立案，予以撤销"})
    assert resp.status_code == 200, resp.json
    assert resp.json["status"] == "cancelled" and resp.json["tasks"] == [] and resp.json["completed_at"]
    row = _case_row(app, case["id"])
    assert row.next_timer_at is None
    # The timer never fires; the task is gone from the enterprise's queue and cannot be completed.
    assert engine.run_due_timers(datetime.now(UTC) + timedelta(hours=5)) == 0
    assert all(t["case_id"] != case["id"] for t in staff.get("/tasks?scope=group").json["items"])
    assert staff.post(f"/tasks/{respond['id']}/complete", {"data": {"response": "x"}}).status_code == 409
    assert supervisor.post(f"/cases/{case['id']}/cancel", {"reason": "再次"}).status_code == 409
    history = supervisor.get(f"/cases/{case['id']}").json["history"]
    assert history[-1]["event"] == "case_cancelled" and history[-1]["detail"]["reason"] == "重复立案，予以撤销"
    assert "task_cancelled" in [h["event"] for h in history]
    assert any("重复立案" in n for n in _notes(app, "kq_bottled_staff", "case_cancelled"))
    assert any("重复立案" in n for n in _notes(app, "keqiao_inspector", "case_cancelled"))  # who opened it
    assert [c["id"] for c in supervisor.get("/cases?status=cancelled").json["items"]] == [case["id"]]


# ---- delegate ----------------------------------------------------------------------------------------------
def test_delegate_a_task_and_keep_sight_of_it(app, api):
    inspector, other, staff = api("keqiao_inspector"), api("keqiao_inspector2"), api("kq_bottled_staff")
    case = open_order(api, app)
    complete(staff, case["id"], "Task_respond", {"response": "已更换"})
    verify = task_named(inspector, case["id"], "Task_verify")
    assert verify["assignee"] == "keqiao_inspector"
    url = f"/tasks/{verify['id']}/delegate"

    # Refusals first: not his task (403), no such user or one who cannot work it (422 "user"), no reason.
    assert other.post(url, {"user": "keqiao_inspector2", "reason": "抢"}).status_code == 403
    assert staff.post(url, {"user": "keqiao_inspector2", "reason": "x"}).status_code == 404
    for body in ({"user": "nobody", "reason": "出差"}, {"user": "yuecheng_inspector", "reason": "出差"},
                 {"user": "keqiao_supervisor", "reason": "出差"}, {"user": "keqiao_inspector", "reason": "出差"},
                 {"reason": "出差"}, {"user": 7, "reason": "出差"},
                 {"user": "keqiao_\x00inspector2", "reason": "出差"}):
        resp = inspector.post(url, body)
        assert resp.status_code == 422 and "user" in resp.json["error"]["fields"], (body, resp.json)
    resp = inspector.post(url, {"user": "keqiao_inspector2"})
    assert resp.status_code == 422 and "reason" in resp.json["error"]["fields"]

    done = inspector.post(url, {"user": "keqiao_inspector2", "reason": "本人出差，委托赵强核查"})
    assert done.status_code == 200, done.json
    assert done.json["assignee"] == "keqiao_inspector2" and done.json["delegated_by"] == "keqiao_inspector"
    # The delegator keeps sight of it; the delegate has it in his own queue and was told.
    delegated = inspector.get("/tasks?scope=delegated").json
    assert [t["id"] for t in delegated["items"]] == [verify["id"]] and delegated["counts"]["delegated"] == 1
    assert verify["id"] in [t["id"] for t in other.get("/tasks?scope=mine").json["items"]]
    assert any("委托赵强" in n for n in _notes(app, "keqiao_inspector2", "task_delegated"))
    # The delegator no longer works it; the delegate does.
    assert inspector.post(f"/tasks/{verify['id']}/complete", {"data": ACCEPT}).status_code == 403
    assert other.post(f"/tasks/{verify['id']}/complete", {"data": ACCEPT}).status_code == 200
    history = inspector.get(f"/cases/{case['id']}").json["history"]
    event = next(h for h in history if h["event"] == "task_delegated")
    assert event["detail"] == {"reason": "本人出差，委托赵强核查", "delegate": "柯桥区检查员 赵强"}
    # Done, it stays in the delegator's list of completed delegated tasks.
    assert [t["id"] for t in inspector.get("/tasks?scope=delegated&status=completed").json["items"]] == [verify["id"]]


# ---- transfer ----------------------------------------------------------------------------------------------
def _county(app, name):
    from models import Region

    return _db(app, lambda s: s.scalar(select(Region.id).where(Region.name == name)))


def test_transfer_a_case_to_another_county(app, api):
    supervisor, admin = api("keqiao_supervisor"), api("admin")
    yuecheng = _county(app, "越城区")
    case = open_order(api, app)
    url = f"/cases/{case['id']}/transfer"
    for body in ({"county": 999999, "reason": "管辖"}, {"county": 2**40, "reason": "管辖"},
                 {"county": -1, "reason": "管辖"}, {"county": "越城区", "reason": "管辖"}, {"reason": "管辖"},
                 {"county": case["county"], "reason": "管辖"}, {"county": True, "reason": "管辖"}):
        resp = supervisor.post(url, body)
        assert resp.status_code == 422 and "county" in resp.json["error"]["fields"], (body, resp.json)
    assert supervisor.post(url, {"county": yuecheng}).status_code == 422
    assert api("keqiao_inspector").post(url, {"county": yuecheng, "reason": "管辖"}).status_code == 403

    done = supervisor.post(url, {"county": yuecheng, "reason": "经营地址属越城区管辖"})
    assert done.status_code == 200, done.json
    assert done.json["county"] == yuecheng
    # The new county sees it and its task; the old one no longer does; the history keeps the move.
    assert supervisor.get(f"/cases/{case['id']}").status_code == 404
    assert api("yuecheng_inspector").get(f"/cases/{case['id']}").status_code == 200
    full = admin.get(f"/cases/{case['id']}").json
    assert all(t["county"] == yuecheng for t in full["tasks"])
    moved = next(h for h in full["history"] if h["event"] == "case_transferred")
    assert moved["detail"] == {"reason": "经营地址属越城区管辖", "from_county": "柯桥区", "to_county": "越城区"}
    assert any("越城区管辖" in n for n in _notes(app, "yuecheng_inspector", "case_transferred")
               ) or any("越城区管辖" in n for n in _notes(app, "kq_bottled_staff", "case_transferred"))


# ---- migrate -----------------------------------------------------------------------------------------------
def _deploy_variant(engine, replace: dict[str, str]) -> int:
    xml = RECTIFICATION.read_text(encoding="utf-8")
    for old, new in replace.items():
        assert old in xml
        xml = xml.replace(old, new)
    model_id, created = engine.deploy(xml.encode("utf-8"))
    assert created
    return model_id


def _version(app, model_id):
    from models import ProcessModel

    return _db(app, lambda s: s.get(ProcessModel, model_id).version)


def test_migrate_running_cases_to_a_newer_version(app, api, engine):
    admin, staff, inspector = api("admin"), api("kq_bottled_staff"), api("keqiao_inspector")
    at_respond = open_order(api, app, hours=30)
    at_verify = open_order(api, app, hazard="调压箱锈蚀")
    complete(staff, at_verify["id"], "Task_respond", {"response": "已除锈"})
    timer_before = _case_row(app, at_respond["id"]).next_timer_at

    # The new version renames the verification step's id: cases waiting there cannot move.
    new_id = _deploy_variant(engine, {"Task_verify": "Task_check", "核查整改情况": "复查整改情况"})
    new_version = _version(app, new_id)
    assert new_version > at_respond["version"]

    preview = admin.get("/processes/rectification/migration")
    assert preview.status_code == 200, preview.json
    by_case = {p["case_id"]: p for p in preview.json}
    assert by_case[at_respond["id"]]["movable"] is True and by_case[at_respond["id"]]["to_version"] == new_version
    refused = by_case[at_verify["id"]]
    assert refused["movable"] is False and refused["missing"] == ["核查整改情况"]
    assert "核查整改情况" in refused["reason"] and str(new_version) in refused["reason"]

    # Without the right (a supervisor), 403; without a reason, 422.
    assert api("keqiao_supervisor").get("/processes/rectification/migration").status_code == 403
    assert api("keqiao_supervisor").post(f"/cases/{at_respond['id']}/migrate",
                                         {"reason": "新版"}).status_code == 403
    resp = admin.post(f"/cases/{at_respond['id']}/migrate", {})
    assert resp.status_code == 422 and "reason" in resp.json["error"]["fields"]
    for version in (99, 2**40, "2", True, 0):
        resp = admin.post(f"/cases/{at_respond['id']}/migrate", {"reason": "新版", "version": version})
        assert resp.status_code == 422 and "version" in resp.json["error"]["fields"], version

    # The refused case: 409 with the reason, and it stays on its version.
    resp = admin.post(f"/cases/{at_verify['id']}/migrate", {"reason": "采用新版流程"})
    assert resp.status_code == 409 and "核查整改情况" in resp.json["error"]["message"]
    assert admin.get(f"/cases/{at_verify['id']}").json["version"] == at_verify["version"]

    moved = admin.post(f"/cases/{at_respond['id']}/migrate", {"reason": "采用新版流程"})
    assert moved.status_code == 200, moved.json
    assert moved.json["version"] == new_version
    # Its step and its deadline carry over: the same task, the same timer.
    assert [t["name"] for t in moved.json["tasks"]] == ["Task_respond"]
    assert _case_row(app, at_respond["id"]).next_timer_at == timer_before
    event = next(h for h in moved.json["history"] if h["event"] == "case_migrated")
    assert event["detail"] == {"reason": "采用新版流程", "from_version": at_respond["version"],
                               "to_version": new_version}
    # It now runs the new version: the next step is the renamed one.
    after = complete(staff, at_respond["id"], "Task_respond", {"response": "已整改"})
    assert [t["name"] for t in after["tasks"] if t["role"] == "inspector"] or \
        [t["name"] for t in inspector.get(f"/cases/{at_respond['id']}").json["tasks"]] == ["Task_check"]
    assert [t["name"] for t in inspector.get(f"/cases/{at_respond['id']}").json["tasks"]] == ["Task_check"]
    # A second migration to the same version: nothing to do.
    assert admin.post(f"/cases/{at_respond['id']}/migrate", {"reason": "again"}).status_code == 409
    assert at_respond["id"] not in [p["case_id"] for p in admin.get("/processes/rectification/migration").json]


# ---- the path taken ----------------------------------------------------------------------------------------
def test_the_case_keeps_the_path_it_took(app, api):
    staff, inspector = api("kq_bottled_staff"), api("keqiao_inspector")
    case = open_order(api, app)
    assert {"Start_issue", "Script_register"} <= set(case["path"])
    complete(staff, case["id"], "Task_respond", {"response": "已整改"})
    complete(inspector, case["id"], "Task_verify", {"decision": "send_back", "comment": "照片不清"})
    path = inspector.get(f"/cases/{case['id']}").json["path"]
    assert {"Task_respond", "Task_verify", "Gateway_verify", "Script_sendback"} <= set(path)
    assert "End_closed" not in path and "Task_escalate" not in path


# ---- the pages -----------------------------------------------------------------------------------------------
def test_case_page_suspends_with_confirmation_and_reason(app, api, browser):
    case = open_order(api, app)
    page_path = f"/cases/{case['id']}"
    supervisor = browser("keqiao_supervisor")
    page = supervisor.client.get(page_path)
    assert b'id="case-control"' in page.data and b'id="control-suspend"' in page.data
    assert b'id="control-resume"' not in page.data
    # The inspector has no such right: no block, and a post is refused.
    inspector = browser("keqiao_inspector")
    assert b'id="case-control"' not in inspector.client.get(page_path).data
    assert inspector.form_post(f"{page_path}/control/suspend", {"reason": "x", "confirm": "1"},
                               page_path).status_code == 403

    # Without the confirmation, or without a reason: the page again, with the message, nothing done.
    unconfirmed = supervisor.form_post(f"{page_path}/control/suspend", {"reason": "停业"}, page_path)
    assert unconfirmed.status_code == 422 and "勾选确认".encode() in unconfirmed.data
    assert "停业".encode() in unconfirmed.data  # what was typed is kept
    no_reason = supervisor.form_post(f"{page_path}/control/suspend", {"reason": " ", "confirm": "1"}, page_path)
    assert no_reason.status_code == 422 and "请填写理由".encode() in no_reason.data
    done = supervisor.form_post(f"{page_path}/control/suspend", {"reason": "企业停业", "confirm": "1"}, page_path)
    assert done.status_code == 303
    page = supervisor.client.get(page_path)
    text = page.data.decode()
    assert "已暂停" in text and 'id="control-resume"' in text and 'id="suspended-note"' in text
    assert "企业停业" in text and "暂停办理" in text  # the history: the event and its reason
    # Suspending again from a stale page: a conflict, said in words.
    again = supervisor.form_post(f"{page_path}/control/suspend", {"reason": "再次", "confirm": "1"}, page_path)
    assert again.status_code == 409 and "只有办理中的案卷才能暂停".encode() in again.data

    # The enterprise's task page says why it cannot be completed, and offers no form.
    staff = browser("kq_bottled_staff")
    respond = task_named(api("kq_bottled_staff"), case["id"], "Task_respond")
    task_page = staff.client.get(f"/tasks/{respond['id']}").data.decode()
    assert 'id="suspended-note"' in task_page and 'id="submit"' not in task_page


def test_case_page_transfer_and_cancel(app, api, browser):
    case = open_order(api, app)
    page_path = f"/cases/{case['id']}"
    supervisor = browser("keqiao_supervisor")
    bad = supervisor.form_post(f"{page_path}/control/transfer", {"county": "", "reason": "管辖", "confirm": "1"},
                               page_path)
    assert bad.status_code == 422 and "请选择另一个县".encode() in bad.data
    yuecheng = str(_county(app, "越城区"))
    moved = supervisor.form_post(f"{page_path}/control/transfer",
                                 {"county": yuecheng, "reason": "管辖变更", "confirm": "1"}, page_path)
    assert moved.status_code == 303 and moved.headers["Location"].endswith("/cases")
    assert supervisor.client.get(page_path).status_code == 404
    admin = browser("admin")
    gone = admin.form_post(f"{page_path}/control/cancel", {"reason": "重复立案", "confirm": "1"}, page_path)
    assert gone.status_code == 303
    text = admin.client.get(page_path).data.decode()
    assert "已撤销" in text and 'id="case-control"' not in text and "越城区" in text


def test_task_page_delegates(app, api, browser):
    case = open_order(api, app)
    complete(api("kq_bottled_staff"), case["id"], "Task_respond", {"response": "已整改"})
    verify = task_named(api("keqiao_inspector"), case["id"], "Task_verify")
    inspector = browser("keqiao_inspector")
    page = inspector.client.get(f"/tasks/{verify['id']}").data.decode()
    assert 'id="task-delegate"' in page and "柯桥区检查员 赵强" in page and "越城区检查员" not in page
    task_path = f"/tasks/{verify['id']}"
    done = inspector.form_post(f"{task_path}/delegate",
                               {"user": "keqiao_inspector2", "reason": "出差", "confirm": "1"}, task_path)
    assert done.status_code == 303 and "scope=delegated" in done.headers["Location"]
    queue = inspector.client.get("/?scope=delegated").data.decode()
    assert 'id="tab-delegated"' in queue and "核查整改情况" in queue


def test_admin_previews_and_applies_a_migration(app, api, engine, browser):
    at_respond = open_order(api, app)
    at_verify = open_order(api, app, hazard="调压箱锈蚀")
    complete(api("kq_bottled_staff"), at_verify["id"], "Task_respond", {"response": "已除锈"})
    version = _version(app, _deploy_variant(engine, {"Task_verify": "Task_check", "核查整改情况": "复查整改情况"}))
    admin = browser("admin")
    url = "/admin/models/processes/rectification/migration"
    assert 'id="migration-link"' in admin.client.get(f"/admin/models/processes/rectification/{version}").data.decode()
    preview = admin.client.get(url).data.decode()
    assert f'data-case="{at_respond["id"]}" class="movable"' in preview
    assert f'data-case="{at_verify["id"]}" class="refused"' in preview
    assert f"第 {version} 版没有“核查整改情况”这一步" in preview
    assert browser("keqiao_supervisor").client.get(url).status_code == 403
    no_reason = admin.form_post(url, {"reason": "", "confirm": "1"})
    assert no_reason.status_code == 422 and "请填写理由".encode() in no_reason.data
    done = admin.form_post(url, {"reason": "采用新版流程", "confirm": "1"})
    assert done.status_code == 303
    assert (303, "采用新版流程") in _audit_reasons(app, "case_control.migrate")
    assert api("admin").get(f"/cases/{at_respond['id']}").json["version"] == version
    assert api("admin").get(f"/cases/{at_verify['id']}").json["version"] == at_verify["version"]
    after = admin.client.get(url).data.decode()
    assert f'data-case="{at_respond["id"]}"' not in after and f'data-case="{at_verify["id"]}"' in after
