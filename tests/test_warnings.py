"""Warnings from monitoring readings (A7, A1.8): one warning per episode, level 1 opens a warning case,
the warning lifecycle (close, or escalate to an accident), threshold rules edited by the city admin."""
from datetime import UTC, datetime, timedelta

import pytest
from conftest import enterprise_id
from flows import children, complete, end_of, task_named

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def gas(value, minute, sensor="GAS-01", site="KQ-LPG-01") -> dict:
    return {"site": site, "site_kind": "storage_station", "sensor": sensor, "quantity": "gas_concentration",
            "value": value, "at": at(minute)}


def send(api, readings, user="kq_bottled_staff"):
    resp = api(user).post("/readings", {"readings": readings})
    assert resp.status_code == 202, resp.json
    assert resp.json["rejected"] == []
    return resp.json


def warnings_of(api, user="kq_bottled_staff", query="status="):
    resp = api(user).get(f"/warnings?{query}&per_page=200")
    assert resp.status_code == 200, resp.json
    return resp.json["items"]


def test_one_warning_per_episode(app, api):
    opened = send(api, [gas(12 + i % 3, i) for i in range(20)])["warnings_opened"]  # 12–14 %LEL: level 2
    assert len(opened) == 1
    send(api, [gas(15, 20 + i) for i in range(5)])
    [w] = warnings_of(api)
    assert w["status"] == "open" and w["level"] == 2 and w["reading_count"] == 25 and w["peak_value"] == 15
    # Level 2 has its own case now (the response ladder): one per episode.
    assert w["started_at"] == at(0) and w["last_seen_at"] == at(24) and w["case_id"] is not None
    assert w["category"] == "station" and w["site"] == "KQ-LPG-01" and w["quantity"] == "gas_concentration"
    assert "二级预警" in w["description"] and w["county_id"] is not None

    send(api, [gas(3, 30), gas(2, 31)])  # back to normal
    [w] = warnings_of(api)
    assert w["status"] == "closed" and w["ended_at"] == at(30)

    assert len(send(api, [gas(11, 40), gas(12, 41)])["warnings_opened"]) == 1  # a new episode
    ws = warnings_of(api)
    assert [x["status"] for x in ws] == ["open", "closed"] or sorted(x["status"] for x in ws) == ["closed", "open"]
    assert len(warnings_of(api, query="status=open")) == 1

    # Another sensor of the same site is another warning; normal readings elsewhere change nothing.
    send(api, [gas(13, 42, sensor="GAS-02"), gas(1, 42, sensor="GAS-03")])
    assert len(warnings_of(api, query="status=open")) == 2


def test_one_batch_can_hold_whole_episodes_in_any_order(app, api):
    batch = [gas(2, 5), gas(12, 1), gas(1, 3), gas(14, 2), gas(13, 6), gas(1, 0)]  # sorted: 0 1 2 3 5 6
    assert len(send(api, batch)["warnings_opened"]) == 2
    ws = sorted(warnings_of(api), key=lambda w: w["started_at"])
    assert [(w["started_at"], w["ended_at"], w["status"]) for w in ws] == [
        (at(1), at(3), "closed"), (at(6), None, "open")]
    assert ws[0]["peak_value"] == 14


def test_late_readings_neither_reopen_nor_close(app, api):
    send(api, [gas(12, 10), gas(13, 20)])
    send(api, [gas(1, 15)])  # older than the last reading over the threshold: the episode goes on
    [w] = warnings_of(api)
    assert w["status"] == "open" and w["last_seen_at"] == at(20)
    send(api, [gas(18, 12)])  # late but within the episode: counted, peak raised, last seen kept
    [w] = warnings_of(api)
    assert w["peak_value"] == 18 and w["reading_count"] == 3 and w["last_seen_at"] == at(20)

    send(api, [gas(1, 30)])  # closes
    send(api, [gas(14, 25)])  # from before the end: does not reopen
    [w] = warnings_of(api)
    assert w["status"] == "closed" and w["ended_at"] == at(30)
    send(api, [gas(14, 35)])  # after the end: a new episode
    assert len(warnings_of(api, query="status=open")) == 1


def test_level_one_opens_a_warning_case_once(app, api):
    opened = send(api, [gas(12, 0), gas(30, 1), gas(40, 2)])["warnings_opened"]
    assert len(opened) == 1
    [w] = warnings_of(api)
    assert w["level"] == 1 and w["peak_value"] == 40 and w["case_id"] is not None and "一级预警" in w["description"]
    send(api, [gas(45, 3), gas(50, 4)])
    [w2] = warnings_of(api)
    assert w2["case_id"] == w["case_id"] and w2["peak_value"] == 50

    staff, supervisor = api("kq_bottled_staff"), api("keqiao_supervisor")
    case = supervisor.get(f"/cases/{w['case_id']}").json
    assert case["process"] == "warning" and case["status"] == "active"
    assert case["enterprise"] == enterprise_id(app) and case["data"]["warning_id"] == w["id"]
    assert case["data"]["accident_type"] == "leak" and "KQ-LPG-01" in case["title"]
    queue = [t for t in staff.get("/tasks").json["items"] if t["case_id"] == w["case_id"]]
    assert [(t["name"], t["role"]) for t in queue] == [("Task_acknowledge", "enterprise")]
    # The county sees it in its area at once; other counties and enterprises do not.
    area = supervisor.get("/tasks?scope=all").json["items"]
    assert any(t["case_id"] == w["case_id"] for t in area)
    assert api("yuecheng_inspector").get(f"/cases/{w['case_id']}").status_code == 404
    assert warnings_of(api, "yc_pipeline_staff") == [] and warnings_of(api, "yuecheng_inspector") == []
    assert len(warnings_of(api, "keqiao_inspector")) == 1 and len(warnings_of(api, "admin")) == 1
    assert len(warnings_of(api, "keqiao_supervisor", "status=open&level=1&category=station")) == 1
    assert warnings_of(api, "keqiao_supervisor", "level=2") == []
    # The first reading (12 %LEL) was level 2 in the same batch: the episode's case is of its worst level.
    assert supervisor.get("/cases?process=warning").json["total"] == 1


def test_a_leak_detector_escalates_an_open_warning_to_level_one(app, api):
    send(api, [gas(12, 0)])
    level_two_case = warnings_of(api)[0]["case_id"]
    assert level_two_case is not None
    leak = {"site": "KQ-LPG-01", "sensor": "GAS-01", "quantity": "leak", "value": 1, "at": at(1)}
    send(api, [leak, gas(14, 1)])
    ws = {w["quantity"]: w for w in warnings_of(api)}
    assert ws["leak"]["level"] == 1 and ws["leak"]["case_id"] is not None
    assert ws["gas_concentration"]["level"] == 2 and ws["gas_concentration"]["case_id"] == level_two_case
    send(api, [gas(27, 2)])
    gas_warning = next(w for w in warnings_of(api) if w["quantity"] == "gas_concentration")
    # Worse now: a level-1 case of its own, with the ladder of level 1.
    assert gas_warning["level"] == 1 and gas_warning["case_id"] not in (None, ws["leak"]["case_id"], level_two_case)
    level_one = api("keqiao_supervisor").get(f"/cases/{gas_warning['case_id']}").json
    assert level_one["data"]["level"] == 1 and level_one["title"].startswith("一级预警")


def acknowledge(staff, case_id):
    complete(staff, case_id, "Task_acknowledge", {"responder": "站长王五", "first_action": "关阀，疏散"})


def warning_case(api) -> int:
    send(api, [gas(30, 0)])
    [w] = warnings_of(api)
    return w["case_id"]


def test_warning_case_closed_by_the_county(app, api, browser):
    case_id = warning_case(api)
    staff, supervisor = api("kq_bottled_staff"), api("keqiao_supervisor")
    acknowledge(staff, case_id)
    page = browser("kq_bottled_staff").client.get(f"/tasks/{task_named(staff, case_id, 'Task_dispose')['id']}")
    assert page.status_code == 200 and 'name="measures"' in page.get_data(as_text=True)
    bad = staff.post(f"/tasks/{task_named(staff, case_id, 'Task_dispose')['id']}/complete", {"data": {}})
    assert bad.status_code == 422 and "measures" in bad.json["error"]["fields"]
    complete(staff, case_id, "Task_dispose", {"measures": "关闭储罐进气阀，通风，检测浓度降至 0", "resolved": True})
    assert api("kq_bottled_staff").get(f"/cases/{case_id}").json["tasks"] == []
    task = task_named(supervisor, case_id, "Task_confirm")
    assert task["role"] == "county_supervisor"
    refused = supervisor.post(f"/tasks/{task['id']}/complete", {"data": {"decision": "escalate"}})
    assert refused.status_code == 422 and "comment" in refused.json["error"]["fields"]
    done = complete(supervisor, case_id, "Task_confirm", {"decision": "close", "comment": "处置到位"})
    assert done["status"] == "completed" and end_of(done) == "End_closed" and done["children"] == []


def test_warning_case_escalated_to_an_accident(app, api, browser):
    case_id = warning_case(api)
    staff, supervisor = api("kq_bottled_staff"), api("keqiao_supervisor")
    acknowledge(staff, case_id)
    complete(staff, case_id, "Task_dispose", {"measures": "已关阀，浓度仍偏高", "resolved": False})
    done = complete(supervisor, case_id, "Task_confirm", {"decision": "escalate", "comment": "泄漏点未查明"})
    assert done["status"] == "completed" and end_of(done) == "End_escalated"
    [accident_id] = children(supervisor, case_id, "accident")
    assert [c["id"] for c in done["children"]] == [accident_id]
    accident = supervisor.get(f"/cases/{accident_id}").json
    assert accident["process"] == "accident" and accident["parent"]["id"] == case_id
    assert accident["enterprise"] == enterprise_id(app)
    data = accident["data"]
    assert data["source"] == "monitoring" and data["accident_type"] == "leak" and data["occurred_at"] == at(0)
    assert "KQ-LPG-01" in data["address"] and "泄漏点未查明" in data["description"]
    assert accident["title"].startswith("预警升级")
    response = task_named(staff, accident_id, "Task_response")
    assert task_named(staff, accident_id, "Task_enterprise_report")["role"] == "enterprise"
    assert response["role"] == "enterprise"
    page = browser("keqiao_supervisor").client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "accident_request" not in page and "升级理由" not in page  # the payload is hidden (gasflow.hidden)


def rules(api, user="admin"):
    return api(user).get("/threshold-rules").json["items"]


def put_rules(api, items, user="admin"):
    return api(user).client.put("/api/v1/threshold-rules", json={"rules": items}, headers=api(user).headers)


def test_default_rules_are_loaded(app, api):
    got = {(r["quantity"], r["site_kind"], r["comparison"], r["threshold"], r["level"]) for r in rules(api)}
    assert ("gas_concentration", None, ">", 25, 1) in got and ("pressure", "regulator_station", ">", 1.6, 2) in got
    assert ("level", None, "<", 10, 3) in got and all(r["active"] for r in rules(api, "kq_bottled_staff"))


def test_rule_edit_changes_the_next_evaluation(app, api):
    send(api, [gas(7, 0)])
    assert warnings_of(api) == []
    current = rules(api)
    changed = [dict(r, threshold=5) if (r["quantity"], r["level"]) == ("gas_concentration", 2) else r
               for r in current]
    resp = put_rules(api, changed)
    assert resp.status_code == 200, resp.json
    edited = next(r for r in resp.json["items"] if r["quantity"] == "gas_concentration" and r["level"] == 2)
    assert edited["threshold"] == 5 and edited["updated_by_id"] == api("admin").user_id
    send(api, [gas(7, 1)])
    [w] = warnings_of(api)
    assert w["level"] == 2 and w["started_at"] == at(1)

    # A rule left out is switched off, not deleted (warnings name their rule); a new rule is added.
    pressure = {"quantity": "pressure", "site_kind": None, "comparison": "<", "threshold": 0.1, "level": 3}
    kept = [r for r in changed if r["quantity"] != "temperature"] + [pressure]
    resp = put_rules(api, kept)
    assert resp.status_code == 200
    temperature = [r for r in resp.json["items"] if r["quantity"] == "temperature"]
    assert temperature and not any(r["active"] for r in temperature)
    send(api, [{"site": "KQ-LPG-01", "sensor": "T-9", "quantity": "temperature", "value": 80, "at": at(2)},
               {"site": "KQ-LPG-01", "sensor": "P-9", "quantity": "pressure", "value": 0.05, "at": at(2)}])
    assert {w["quantity"] for w in warnings_of(api, query="status=open")} == {"gas_concentration", "pressure"}


def test_site_kind_rules_apply_to_their_kind_only(app, api):
    def pressure(kind, sensor):
        return {"site": "RS-1", "site_kind": kind, "sensor": sensor, "quantity": "pressure", "value": 2.0,
                "at": at(0)}
    send(api, [pressure("supply_station", "P-1"), pressure("regulator_station", "P-2")])
    [w] = warnings_of(api)
    assert w["sensor"] == "P-2" and w["level"] == 2


def test_only_the_city_admin_edits_rules(app, api):
    current = rules(api)
    for user in ("keqiao_supervisor", "kq_bottled_admin", "keqiao_inspector"):
        assert put_rules(api, current, user).status_code == 403
    assert rules(api) == current


@pytest.mark.parametrize("change, field", [
    ({"threshold": "high"}, "rules[0].threshold"), ({"comparison": ">="}, "rules[0].comparison"),
    ({"level": 4}, "rules[0].level"), ({"quantity": "noise"}, "rules[0].quantity"),
    ({"site_kind": "moon"}, "rules[0].site_kind"), ({"id": 99999}, "rules[0].id"),
    ({"active": "yes"}, "rules[0].active"), ({"colour": "red"}, "rules[0].colour"),
])
def test_bad_rules_are_refused_naming_the_field(app, api, change, field):
    current = rules(api)
    resp = put_rules(api, [dict(current[0], **change)] + current[1:])
    assert resp.status_code == 422 and field in resp.json["error"]["fields"], resp.json
    assert rules(api) == current


def test_bad_rule_bodies(app, api):
    admin = api("admin")
    resp = admin.client.put("/api/v1/threshold-rules", data=b"{", content_type="application/json",
                            headers=admin.headers)
    assert resp.status_code == 400
    assert put_rules(api, "all").status_code == 422
    twice = rules(api)[:1] * 2
    assert "rules" in put_rules(api, twice).json["error"]["fields"]


def test_bad_warning_filters_are_422(app, api):
    for query, field in (("status=maybe", "status"), ("level=0", "level"), ("level=x", "level"),
                         ("category=ship", "category"), ("county=k", "county")):
        resp = api("keqiao_supervisor").get(f"/warnings?{query}")
        assert resp.status_code == 422 and field in resp.json["error"]["fields"], query


def test_raise_warning_keeps_one_open_warning_per_key(app, engine):
    from models import EarlyWarning
    from web.extensions import db
    from workflows.services.early_warnings import clear_warning, raise_warning

    ent = enterprise_id(app)
    with app.app_context():
        s = db.session
        first = raise_warning(s, ent, "cylinder", 2, "钢瓶超期未检 12 只", "overdue-inspection", T0, engine=engine)
        again = raise_warning(s, ent, "cylinder", 1, "钢瓶超期未检 40 只", "overdue-inspection",
                              T0 + timedelta(hours=1), engine=engine)
        s.commit()
        assert again.id == first.id and again.level == 1 and again.case_id is not None
        assert again.case_level == 1  # the level-2 case it had is followed by a level-1 case
        assert again.reading_count == 2 and again.description == "钢瓶超期未检 40 只"
        other = raise_warning(s, ent, "cylinder", 3, "持瓶量异常", "holding", T0, engine=engine)
        assert other.id != first.id and other.case_id not in (None, again.case_id) and other.case_level == 3
        clear_warning(s, ent, "cylinder", "overdue-inspection", T0 + timedelta(hours=2))
        anew = raise_warning(s, ent, "cylinder", 2, "钢瓶超期未检 3 只", "overdue-inspection",
                             T0 + timedelta(hours=3), engine=engine)
        s.commit()
        assert anew.id != first.id
        assert s.query(EarlyWarning).filter_by(status="open", key="overdue-inspection").count() == 1


def test_warnings_page_and_rules_page(app, api, browser):
    send(api, [gas(30, 0), gas(12, 0, sensor="GAS-02")])
    supervisor = browser("keqiao_supervisor")
    page = supervisor.client.get("/warnings/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and html.count("data-warning=") == 2 and 'id="nav-warnings"' in html
    level1 = supervisor.client.get("/warnings/?level=1").get_data(as_text=True)
    assert level1.count("data-warning=") == 1 and "/cases/" in level1
    assert supervisor.client.get("/warnings/?level=7").status_code == 400
    assert supervisor.client.get("/warnings/rules").status_code == 403
    assert browser("yc_pipeline_staff").client.get("/warnings/").get_data(as_text=True).count("data-warning=") == 0

    admin = browser("admin")
    form = admin.client.get("/warnings/rules").get_data(as_text=True)
    assert form.count("<tr data-rule=") == len(rules(api)) + 1
    current = rules(api)
    data = {}
    for i, r in enumerate(current):
        data.update({f"rules-{i}-id": str(r["id"]), f"rules-{i}-quantity": r["quantity"],
                     f"rules-{i}-site_kind": r["site_kind"] or "", f"rules-{i}-comparison": r["comparison"],
                     f"rules-{i}-threshold": str(r["threshold"]), f"rules-{i}-level": str(r["level"]),
                     f"rules-{i}-active": "y"})
    n = len(current)
    bad = admin.form_post("/warnings/rules", {**data, "rules-0-threshold": "abc"})
    assert bad.status_code == 400 and "abc" in bad.get_data(as_text=True)
    assert rules(api) == current
    added = {f"rules-{n}-id": "", f"rules-{n}-quantity": "flow", f"rules-{n}-site_kind": "gate_station",
             f"rules-{n}-comparison": ">", f"rules-{n}-threshold": "5000", f"rules-{n}-level": "3",
             f"rules-{n}-active": "y"}
    missing = admin.form_post("/warnings/rules", {**data, **added, f"rules-{n}-threshold": ""})
    assert missing.status_code == 400
    saved = admin.form_post("/warnings/rules", {**data, **added})
    assert saved.status_code == 302
    flow = [r for r in rules(api) if r["quantity"] == "flow"]
    assert [(r["site_kind"], r["threshold"], r["level"], r["active"]) for r in flow] == [
        ("gate_station", 5000, 3, True)]
    no_csrf = admin.client.post("/warnings/rules", data=data)
    assert no_csrf.status_code == 400 and len(rules(api)) == n + 1


def test_warning_cases_are_opened_by_the_platform_not_by_hand(app, api, browser):
    supervisor = api("keqiao_supervisor")
    resp = supervisor.post("/cases", {"process": "warning", "data": {}})
    assert resp.status_code == 403 and "platform" in resp.json["error"]["message"]
    page = browser("keqiao_supervisor").client.get("/cases").data.decode()
    assert "/cases/new/warning" not in page and "/cases/new/penalty" in page
