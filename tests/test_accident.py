"""Accident handling (L4) over the REST API: report, emergency response, investigation, conclusion
and the follow-up cases the conclusion opens."""
import re
from datetime import UTC, datetime, timedelta

import pytest
from conftest import enterprise_id

from workflows.services.working_days import WorkingCalendar


def past(hours=3) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).isoformat()


def report(api, app, username="keqiao_inspector", **overrides):
    data = {"enterprise_id": enterprise_id(app), "source": "emergency_call", "accident_type": "leak",
            "title": "柯桥瓶装供应站储瓶间泄漏", "occurred_at": past(), "address": "柯桥区华舍街道 12 号",
            "lon": 120.49, "lat": 30.08, "description": "储瓶间一只钢瓶角阀泄漏，现场已疏散。"}
    data.update(overrides)
    return api(username).post("/cases", {"process": "accident", "data": data})


def only_open_task(api_user, case_id):
    tasks = [t for t in api_user.get("/tasks?scope=all").json["items"] if t["case_id"] == case_id]
    assert len(tasks) == 1, tasks
    return tasks[0]


def complete(api_user, task, data):
    resp = api_user.post(f"/tasks/{task['id']}/complete", {"data": data})
    assert resp.status_code == 200, resp.json
    return resp.json


def named_task(api_user, case_id, name):
    tasks = [t for t in api_user.get("/tasks?scope=all").json["items"] if t["case_id"] == case_id and t["name"] == name]
    assert len(tasks) == 1, tasks
    return tasks[0]


def report_up(api, case_id, username="keqiao_supervisor", to="绍兴市应急管理局"):
    """The county's (or the city's) report upward, within its 2 hours (Decree 493, arts. 10–11)."""
    user = api(username)
    name = "Task_report_city" if username != "admin" else "Task_report_up"
    return complete(user, named_task(user, case_id, name),
                    {"reporter": "值班员张三", "reported_at": past(0.01), "reported_to": to, "method": "phone"})


def to_conclusion(api, app, reporter="keqiao_inspector"):
    """Report an accident and carry it through the reports, response and investigation; returns (case,
    conclude task)."""
    staff, inspector, supervisor = api("kq_bottled_staff"), api("keqiao_inspector"), api("keqiao_supervisor")
    resp = report(api, app, reporter, **({"source": "enterprise"} if reporter.startswith("kq_") else {}))
    assert resp.status_code == 201, resp.json
    case = resp.json
    if not reporter.startswith("kq_"):
        complete(staff, named_task(staff, case["id"], "Task_enterprise_report"),
                 {"situation": "储瓶间角阀泄漏，已关阀疏散", "enterprise_reporter": "站长李四",
                  "reported_direct_loss": 1000})
    report_up(api, case["id"])
    response = named_task(staff, case["id"], "Task_response")
    assert response["role"] == "enterprise"
    complete(staff, response, {"measures": "关闭总阀，更换角阀，通风检测合格", "leak_location": "储瓶间 3 号瓶",
                               "pressure_mpa": 0.8, "finished_at": past(1)})
    investigate = only_open_task(inspector, case["id"])
    assert investigate["name"] == "Task_investigate" and investigate["role"] == "inspector"
    complete(inspector, investigate, {"action": "submit", "cause": "角阀老化", "deaths": 0, "serious_injuries": 0,
                                      "direct_loss": 1200.50})
    conclude = only_open_task(supervisor, case["id"])
    assert conclude["name"] == "Task_conclude" and conclude["role"] == "county_supervisor"
    return case, conclude


def close(api, case_id):
    """The city's closing approval."""
    admin = api("admin")
    return complete(admin, named_task(admin, case_id, "Task_close"), {"decision": "approve"})


def opened(case_json) -> dict:
    """The linked cases the accident opened: process → case id."""
    return {h["detail"]["process"]: h["detail"]["case"] for h in case_json["history"] if h["event"] == "case_opened"}


def test_report_response_investigation_and_conclusion_without_follow_ups(app, api):
    inspector, supervisor = api("keqiao_inspector"), api("keqiao_supervisor")
    case, conclude = to_conclusion(api, app)
    assert case["process"] == "accident" and case["status"] == "active"
    assert case["data"]["accident_type"] == "leak" and case["enterprise"] == enterprise_id(app)

    concluded = complete(supervisor, conclude,
                         {"conclusion": "一般泄漏事故，已处置", "responsibility": "设备维护不到位"})
    assert concluded["status"] == "active" and [t["name"] for t in concluded["tasks"]] == ["Task_close"]
    done = close(api, case["id"])
    assert done["status"] == "completed" and done["tasks"] == [] and done["children"] == []
    assert done["history"][-1]["event"] == "case_completed" and done["history"][-1]["detail"]["end"] == "End_closed"
    assert opened(done) == {}
    assert done["data"]["economic_loss"] == 1200.5 and done["data"]["casualties"] == 0
    completed = [(h["actor"], h["task"]) for h in done["history"] if h["event"] == "task_completed"]
    assert completed == [("kq_bottled_staff", "企业事故报告"), ("keqiao_supervisor", "县级上报市级"),
                         ("kq_bottled_staff", "应急处置与抢修"), ("keqiao_inspector", "事故调查报告"),
                         ("keqiao_supervisor", "调查结论"), ("admin", "结案审批")]
    assert done["data"]["grade"] == "general" and done["data"]["upward_reports"][0]["reported_to"] == "绍兴市应急管理局"
    assert inspector.get(f"/cases/{case['id']}").json["status"] == "completed"


def test_response_is_due_a_day_after_the_accident(app, api):
    occurred = datetime.now(UTC) - timedelta(hours=5)
    case = report(api, app, occurred_at=occurred.isoformat()).json
    task = named_task(api("kq_bottled_staff"), case["id"], "Task_response")
    assert datetime.fromisoformat(task["due_at"]) == occurred + timedelta(days=1)


def test_conclusion_opens_a_rectification(app, api):
    supervisor, staff = api("keqiao_supervisor"), api("kq_bottled_staff")
    case, conclude = to_conclusion(api, app)
    done = complete(supervisor, conclude, {"conclusion": "泄漏事故", "responsibility": "企业",
                                           "open_rectification": True, "rectification_class": "I",
                                           "rectification_description": "更换全部老化角阀", "rectification_days": 10})
    assert done["status"] == "active" and opened(done) == {}  # nothing follows before the closing approval
    done = close(api, case["id"])
    assert done["status"] == "completed"
    links = opened(done)
    assert set(links) == {"rectification"}
    assert [(c["id"], c["process"]) for c in done["children"]] == [(links["rectification"], "rectification")]

    child = supervisor.get(f"/cases/{links['rectification']}").json
    assert child["status"] == "active" and child["enterprise"] == case["enterprise"]
    assert child["parent"]["id"] == case["id"] and child["parent"]["process"] == "accident"
    assert child["data"]["hazard_description"] == "更换全部老化角阀" and child["data"]["hazard_class"] == "I"
    # The enterprise answers the order within the days the county allowed.
    respond = only_open_task(staff, child["id"])
    assert respond["name"] == "Task_respond"
    due = datetime.fromisoformat(respond["due_at"])
    # The 10 days asked are cut to the class I period (rectification_period.dmn: 24 hours).
    assert abs(due - (datetime.now(UTC) + timedelta(hours=24))) < timedelta(minutes=5)


def test_conclusion_files_a_penalty(app, api):
    supervisor, inspector = api("keqiao_supervisor"), api("keqiao_inspector")
    case, conclude = to_conclusion(api, app)
    done = complete(supervisor, conclude, {"conclusion": "责任事故", "responsibility": "企业",
                                           "open_penalty": True, "penalty_facts": "未按规定检验钢瓶角阀"})
    done = close(api, case["id"])
    links = opened(done)
    assert set(links) == {"penalty"} and [c["process"] for c in done["children"]] == ["penalty"]
    child = supervisor.get(f"/cases/{links['penalty']}").json
    assert child["parent"]["id"] == case["id"] and child["enterprise"] == case["enterprise"]
    assert child["data"]["source"] == "accident" and child["data"]["facts"] == "未按规定检验钢瓶角阀"
    # Once the head files it, the penalty's investigation goes with the inspector who reported the accident.
    filing = only_open_task(supervisor, child["id"])
    assert filing["name"] == "Task_file_approve"
    complete(supervisor, filing, {"filing_decision": "approve"})
    investigate = only_open_task(inspector, child["id"])
    assert investigate["name"] == "Task_investigate" and investigate["assignee"] == "keqiao_inspector"


def test_conclusion_opens_both_follow_ups_from_an_enterprise_report(app, api):
    admin, supervisor = api("kq_bottled_admin"), api("keqiao_supervisor")
    case, conclude = to_conclusion(api, app, reporter="kq_bottled_admin")
    done = complete(supervisor, conclude, {"conclusion": "较大事故", "responsibility": "企业",
                                           "open_rectification": True, "rectification_description": "整改储瓶间",
                                           "open_penalty": True, "penalty_facts": "违规储存"})
    done = close(api, case["id"])
    links = opened(done)
    assert set(links) == {"rectification", "penalty"}
    assert sorted(c["process"] for c in done["children"]) == ["penalty", "rectification"]
    rect = supervisor.get(f"/cases/{links['rectification']}").json
    assert rect["data"]["hazard_class"] == "II"  # the form's default class
    due = datetime.fromisoformat(only_open_task(api("kq_bottled_staff"), rect["id"])["due_at"])
    # The form's 15 days are cut to the class II period: 3 working days on the official calendar.
    assert due == WorkingCalendar().add_working_days(datetime.now(UTC), 3)
    # The enterprise that reported the accident sees both cases opened about it.
    mine = admin.get(f"/cases/{case['id']}").json
    assert sorted(c["process"] for c in mine["children"]) == ["penalty", "rectification"]


def test_repair_cannot_finish_before_the_accident(app, api):
    staff = api("kq_bottled_staff")
    case = report(api, app, occurred_at=past(5)).json
    task = named_task(staff, case["id"], "Task_response")
    early = staff.post(f"/tasks/{task['id']}/complete", {"data": {"measures": "关阀", "finished_at": past(6)}})
    assert early.status_code == 422 and "finished_at" in early.json["error"]["fields"]
    future = staff.post(f"/tasks/{task['id']}/complete", {"data": {"measures": "关阀", "finished_at": past(-1)}})
    assert future.status_code == 422 and "finished_at" in future.json["error"]["fields"]
    assert named_task(staff, case["id"], "Task_response")["id"] == task["id"]
    assert staff.post(f"/tasks/{task['id']}/complete", {"data": {"measures": "关阀", "finished_at": past(4)}}) \
        .status_code == 200


def test_county_supervisor_may_report(app, api):
    resp = report(api, app, "keqiao_supervisor")
    assert resp.status_code == 201, resp.json
    staff = api("kq_bottled_staff")
    assert named_task(staff, resp.json["id"], "Task_response")["role"] == "enterprise"
    assert report(api, app, "kq_bottled_staff").status_code == 403


def test_conclusion_ordering_a_rectification_needs_a_description(app, api):
    supervisor = api("keqiao_supervisor")
    case, conclude = to_conclusion(api, app)
    resp = supervisor.post(f"/tasks/{conclude['id']}/complete",
                           {"data": {"conclusion": "x", "responsibility": "y", "open_rectification": True}})
    assert resp.status_code == 422 and "rectification_description" in resp.json["error"]["fields"]
    resp = supervisor.post(f"/tasks/{conclude['id']}/complete",
                           {"data": {"conclusion": "x", "responsibility": "y", "open_penalty": True,
                                     "penalty_facts": "  "}})
    assert resp.status_code == 422 and "penalty_facts" in resp.json["error"]["fields"]
    after = supervisor.get(f"/cases/{case['id']}").json
    assert after["status"] == "active" and opened(after) == {}
    assert only_open_task(supervisor, case["id"])["id"] == conclude["id"]


@pytest.mark.parametrize(("field", "value"), [
    ("occurred_at", (datetime.now(UTC) + timedelta(hours=2)).isoformat()),
    ("lon", 200.0),
    ("lat", -91),
], ids=["occurred_at-in-the-future", "lon-200", "lat-minus-91"])  # ids stable across runs (xdist compares them)
def test_bad_report_is_refused(app, api, field, value):
    resp = report(api, app, **{field: value})
    assert resp.status_code == 422 and field in resp.json["error"]["fields"], resp.json
    assert api("keqiao_inspector").get("/cases?process=accident").json["total"] == 0


def test_accident_diagram_renders(app, api, browser):
    case = report(api, app).json
    resp = browser("keqiao_inspector").client.get(f"/cases/{case['id']}/diagram.bpmn")
    assert resp.status_code == 200 and resp.mimetype == "application/xml"
    xml = resp.get_data(as_text=True)
    for element in ("Start_report", "Task_response", "Task_investigate", "Task_conclude", "End_closed"):
        assert re.search(rf'<bpmndi:BPMNShape [^>]*bpmnElement="{element}"', xml), element
    assert browser("yc_pipeline_staff").client.get(f"/cases/{case['id']}/diagram.bpmn").status_code == 404
