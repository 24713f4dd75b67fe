"""Data review (L6): an enterprise's batch is reviewed row by row, rejected rows come back corrected."""
import re

ROWS = "浙D·A1234 危险品运输车 核载 2.5 吨\n浙D·B5678 危险品运输车 核载 1.5 吨\n\n  浙D·C9012 送气三轮车  \n"


def submit(api, rows_text=ROWS, username="kq_bottled_staff", **overrides):
    data = {"data_kind": "vehicles", "period": "2026-Q1", "rows_text": rows_text}
    data.update(overrides)
    return api(username).post("/cases", {"process": "data_review", "data": data})


def only_open_task(api_user, case_id):
    tasks = [t for t in api_user.get("/tasks?scope=all").json["items"] if t["case_id"] == case_id]
    assert len(tasks) == 1, tasks
    return tasks[0]


def review_form(api_user, task):
    detail = api_user.get(f"/tasks/{task['id']}")
    assert detail.status_code == 200, detail.json
    return detail.json["form"]


def test_batch_accepted_in_one_review(app, api):
    staff, supervisor = api("kq_bottled_staff"), api("keqiao_supervisor")
    resp = submit(api)
    assert resp.status_code == 201, resp.json
    case = resp.json
    assert case["data"]["items"] == [{"ref": 1, "summary": "浙D·A1234 危险品运输车 核载 2.5 吨"},
                                     {"ref": 2, "summary": "浙D·B5678 危险品运输车 核载 1.5 吨"},
                                     {"ref": 3, "summary": "浙D·C9012 送气三轮车"}]
    assert "rows_text" not in case["data"] and case["data"]["review_round"] == 1

    task = only_open_task(supervisor, case["id"])
    assert task["name"] == "Task_review" and task["role"] == "county_supervisor" and task["due_at"]
    form = review_form(supervisor, task)
    props = form["properties"]
    assert {f"decision_{r}" for r in (1, 2, 3)} | {f"reason_{r}" for r in (1, 2, 3)} <= set(props)
    assert props["decision_2"]["enum"][:2] == ["accept", "reject"] and "浙D·B5678" in props["decision_2"]["title"]
    # A decision per row, or one verdict for the batch (accept all / reject the selected rows with one reason):
    # so the per-row decisions are optional in the schema, and the form says which is missing.
    assert not any(name.startswith("decision_") for name in form["required"])
    assert form["properties"]["verdict"]["enum"][:2] == ["accept_all", "reject_selected"]
    nothing = supervisor.post(f"/tasks/{task['id']}/complete", {"data": {}})
    assert nothing.status_code == 422 and "verdict" in nothing.json["error"]["fields"]
    assert not any(name.startswith("reason_") for name in form["required"])
    # The enterprise does not review its own data.
    assert staff.get(f"/tasks/{task['id']}").status_code == 404

    missing = supervisor.post(f"/tasks/{task['id']}/complete", {"data": {"decision_1": "accept"}})
    assert missing.status_code == 422 and {"decision_2", "decision_3"} <= set(missing.json["error"]["fields"])
    unknown = supervisor.post(f"/tasks/{task['id']}/complete",
                              {"data": {f"decision_{r}": "accept" for r in (1, 2, 3, 4)}})
    assert unknown.status_code == 422 and "decision_4" in unknown.json["error"]["fields"]

    done = supervisor.post(f"/tasks/{task['id']}/complete",
                           {"data": {f"decision_{r}": "accept" for r in (1, 2, 3)}})
    assert done.status_code == 200, done.json
    result = done.json
    assert result["status"] == "completed" and result["history"][-1]["detail"]["end"] == "End_accepted"
    assert [r["ref"] for r in result["data"]["accepted_rows"]] == [1, 2, 3]
    assert result["data"]["review_round"] == 1 and result["data"]["rejected_count"] == 0
    assert staff.get(f"/cases/{case['id']}").json["status"] == "completed"


def test_rejected_rows_are_corrected_and_reviewed_again(app, api):
    staff, supervisor = api("kq_bottled_staff"), api("keqiao_supervisor")
    case = submit(api).json
    task = only_open_task(supervisor, case["id"])

    no_reason = supervisor.post(f"/tasks/{task['id']}/complete",
                                {"data": {"decision_1": "accept", "decision_2": "reject", "decision_3": "reject",
                                          "reason_3": "缺少行驶证号"}})
    assert no_reason.status_code == 422
    assert set(no_reason.json["error"]["fields"]) == {"reason_2"}
    assert only_open_task(supervisor, case["id"])["id"] == task["id"]

    reviewed = supervisor.post(f"/tasks/{task['id']}/complete",
                               {"data": {"decision_1": "accept", "decision_2": "reject", "reason_2": "核载与行驶证不符",
                                         "decision_3": "reject", "reason_3": "缺少行驶证号"}})
    assert reviewed.status_code == 200, reviewed.json
    assert reviewed.json["status"] == "active"
    data = reviewed.json["data"]
    assert data["rejected_count"] == 2
    assert [(r["ref"], r["reason"]) for r in data["rejected_rows"]] == [(2, "核载与行驶证不符"), (3, "缺少行驶证号")]
    assert [r["ref"] for r in data["accepted_rows"]] == [1]

    correct = only_open_task(staff, case["id"])
    assert correct["name"] == "Task_correct" and correct["role"] == "enterprise"
    form = review_form(staff, correct)
    assert form["required"] == ["rows_text"] and "data_kind" not in form["properties"]
    # The page lists what was rejected and why.
    assert "#2" in form["properties"]["rows_text"]["description"]
    assert "缺少行驶证号" in form["properties"]["rows_text"]["description"]
    empty = staff.post(f"/tasks/{correct['id']}/complete", {"data": {"rows_text": " \n "}})
    assert empty.status_code == 422 and "rows_text" in empty.json["error"]["fields"]
    # One corrected line per rejected row: a missing or an extra line is refused.
    short = staff.post(f"/tasks/{correct['id']}/complete", {"data": {"rows_text": "浙D·B5678 核载 2.0 吨"}})
    assert short.status_code == 422 and "rows_text" in short.json["error"]["fields"]
    corrected = "浙D·B5678 危险品运输车 核载 2.0 吨\n浙D·C9012 送气三轮车 行驶证 330600123"
    fixed = staff.post(f"/tasks/{correct['id']}/complete", {"data": {"rows_text": corrected}})
    assert fixed.status_code == 200, fixed.json
    assert fixed.json["data"]["review_round"] == 2
    # The corrected lines keep the numbers of the rows they correct.
    assert fixed.json["data"]["items"] == [{"ref": 2, "summary": "浙D·B5678 危险品运输车 核载 2.0 吨"},
                                           {"ref": 3, "summary": "浙D·C9012 送气三轮车 行驶证 330600123"}]

    # The second review covers the corrected rows only.
    second = only_open_task(supervisor, case["id"])
    assert second["name"] == "Task_review" and second["id"] != task["id"]
    props = review_form(supervisor, second)["properties"]
    assert sorted(name for name in props if name.startswith("decision_")) == ["decision_2", "decision_3"]
    assert "核载 2.0 吨" in props["decision_2"]["title"]
    done = supervisor.post(f"/tasks/{second['id']}/complete",
                           {"data": {"decision_2": "accept", "decision_3": "accept"}})
    assert done.status_code == 200, done.json
    result = done.json
    assert result["status"] == "completed" and result["history"][-1]["detail"]["end"] == "End_accepted"
    assert result["data"]["review_round"] == 2 and result["data"]["rejected_count"] == 0
    assert result["data"]["accepted_rows"] == [{"ref": 1, "summary": "浙D·A1234 危险品运输车 核载 2.5 吨"},
                                               {"ref": 2, "summary": "浙D·B5678 危险品运输车 核载 2.0 吨"},
                                               {"ref": 3, "summary": "浙D·C9012 送气三轮车 行驶证 330600123"}]
    completed = [(h["actor"], h["task"]) for h in result["history"] if h["event"] == "task_completed"]
    assert completed == [("keqiao_supervisor", "逐条审核"), ("kq_bottled_staff", "修正被驳回数据"),
                         ("keqiao_supervisor", "逐条审核")]


def test_another_county_does_not_see_the_review(app, api):
    case = submit(api, username="kq_bottled_admin").json
    task = only_open_task(api("keqiao_supervisor"), case["id"])
    other = api("yuecheng_inspector")
    assert other.get(f"/tasks/{task['id']}").status_code == 404
    assert other.post(f"/tasks/{task['id']}/complete", {"data": {"decision_1": "accept"}}).status_code == 404
    assert other.get(f"/cases/{case['id']}").status_code == 404
    assert all(t["case_id"] != case["id"] for t in other.get("/tasks?scope=all").json["items"])
    assert api("yc_pipeline_staff").get(f"/cases/{case['id']}").status_code == 404


def test_bad_batches_are_refused(app, api):
    assert submit(api, rows_text="").status_code == 422
    too_many = submit(api, rows_text="\n".join(f"row {i}" for i in range(201)))
    assert too_many.status_code == 422 and "rows_text" in too_many.json["error"]["fields"]
    assert submit(api, data_kind="nonsense").status_code == 422
    assert submit(api, username="keqiao_inspector").status_code == 403
    assert api("kq_bottled_staff").get("/cases?process=data_review").json["total"] == 0


def test_data_review_diagram_renders(app, api, browser):
    case = submit(api).json
    resp = browser("keqiao_supervisor").client.get(f"/cases/{case['id']}/diagram.bpmn")
    assert resp.status_code == 200 and resp.mimetype == "application/xml"
    xml = resp.get_data(as_text=True)
    for element in ("Start_submit", "Task_review", "Gateway_rejected", "Task_correct", "End_accepted"):
        assert re.search(rf'<bpmndi:BPMNShape [^>]*bpmnElement="{element}"', xml), element


def test_rows_accepted_over_rounds_are_listed_in_batch_order(app, api):
    staff, supervisor = api("kq_bottled_staff"), api("keqiao_supervisor")
    case = submit(api, rows_text="甲\n乙\n丙").json
    first = only_open_task(supervisor, case["id"])
    assert supervisor.post(f"/tasks/{first['id']}/complete",
                           {"data": {"decision_1": "reject", "reason_1": "格式错误", "decision_2": "accept",
                                     "decision_3": "accept"}}).status_code == 200
    correct = only_open_task(staff, case["id"])
    assert staff.post(f"/tasks/{correct['id']}/complete", {"data": {"rows_text": "甲（已更正）"}}).status_code == 200
    second = only_open_task(supervisor, case["id"])
    done = supervisor.post(f"/tasks/{second['id']}/complete", {"data": {"decision_1": "accept"}}).json
    assert done["status"] == "completed"
    accepted = [(r["ref"], r["summary"]) for r in done["data"]["accepted_rows"]]
    assert accepted == [(1, "甲（已更正）"), (2, "乙"), (3, "丙")]
