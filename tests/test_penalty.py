"""The penalty lifecycle (L3) as first modelled (tests/bpmn/penalty_2025.bpmn, which the cases started on it
keep): every path of its diagram, and the DMN table that decides whether the city approves. The procedure of
the Administrative Penalty Law that new cases follow is tested in test_penalty_procedure.py."""
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import enterprise_id
from flows import complete, end_of, open_names, task_named
from penalty_versions import penalty_2025  # noqa: F401 (a fixture)

pytestmark = pytest.mark.usefixtures("penalty_2025")

SERVED = "2026-01-05T10:00:00+08:00"
DMN = Path(__file__).resolve().parent.parent / "bpmn" / "penalty_approval.dmn"


def file_penalty(api, app, **data):
    body = {"enterprise_id": enterprise_id(app), "source": "complaint", "facts": "群众举报: 违规向无证经营者供气"}
    body.update(data)
    resp = api("keqiao_inspector").post("/cases", {"process": "penalty", "data": body})
    assert resp.status_code == 201, resp.json
    return resp.json["id"]


def investigate_and_propose(api, case_id, penalty_type="fine", amount=20000):
    inspector = api("keqiao_inspector")
    complete(inspector, case_id, "Task_investigate", {"findings": "现场查实, 调取送气记录三份"})
    return complete(inspector, case_id, "Task_propose",
                    {"penalty_type": penalty_type, "amount": amount, "listed": False,
                     "legal_basis": "《城镇燃气管理条例》第四十五条"})


def serve_and_execute(api, case_id, outcome="paid", **extra):
    inspector = api("keqiao_inspector")
    complete(inspector, case_id, "Task_serve", {"document_no": "绍燃罚〔2026〕1号", "served_at": SERVED})
    return complete(inspector, case_id, "Task_execute", {"outcome": outcome, **extra})


def test_small_fine_needs_only_the_county_and_is_paid(app, api):
    case_id = file_penalty(api, app)
    proposed = investigate_and_propose(api, case_id, amount=20000)
    assert proposed["data"]["city_approval"] is False
    assert proposed["data"]["decisions"]["penalty_approval"]["version"] == 1
    # The investigation and the proposal stayed with the inspector who filed; approval is the county's.
    approve = task_named(api("keqiao_supervisor"), case_id, "Task_county")
    assert approve["role"] == "county_supervisor"
    complete(api("keqiao_supervisor"), case_id, "Task_county", {"decision": "approve"})
    assert open_names(api("admin"), case_id) == ["Task_serve"]
    done = serve_and_execute(api, case_id, paid_amount=20000)
    assert done["status"] == "completed" and end_of(done) == "End_paid"
    assert done["data"]["paid_amount"] == 20000.0


def test_large_fine_goes_to_the_city_which_returns_it_once(app, api):
    case_id = file_penalty(api, app)
    investigate_and_propose(api, case_id, amount=80000)
    complete(api("keqiao_supervisor"), case_id, "Task_county", {"decision": "approve"})
    city = task_named(api("admin"), case_id, "Task_city")
    assert city["role"] == "city_admin"
    # A county supervisor cannot act for the city.
    resp = api("keqiao_supervisor").post(f"/tasks/{city['id']}/complete", {"data": {"decision": "approve"}})
    assert resp.status_code == 403
    refused = api("admin").post(f"/tasks/{city['id']}/complete", {"data": {"decision": "return"}})
    assert refused.status_code == 422 and "comment" in refused.json["error"]["fields"]
    complete(api("admin"), case_id, "Task_city", {"decision": "return", "comment": "金额依据不足"})
    # Returned to the proposal; lowered below the threshold it no longer needs the city.
    again = complete(api("keqiao_inspector"), case_id, "Task_propose",
                     {"penalty_type": "fine", "amount": 40000, "legal_basis": "第四十五条"})
    assert again["data"]["city_approval"] is False
    complete(api("keqiao_supervisor"), case_id, "Task_county", {"decision": "approve"})
    assert open_names(api("admin"), case_id) == ["Task_serve"]


def test_county_returns_the_proposal_and_revocation_needs_the_city(app, api):
    case_id = file_penalty(api, app)
    investigate_and_propose(api, case_id, penalty_type="warning", amount=0)
    complete(api("keqiao_supervisor"), case_id, "Task_county", {"decision": "return", "comment": "情节较重"})
    proposed = complete(api("keqiao_inspector"), case_id, "Task_propose",
                        {"penalty_type": "revocation", "amount": 0, "listed": True, "legal_basis": "第四十五条"})
    assert proposed["data"]["city_approval"] is True and proposed["data"]["listed"] is True
    complete(api("keqiao_supervisor"), case_id, "Task_county", {"decision": "approve"})
    complete(api("admin"), case_id, "Task_city", {"decision": "approve"})
    refused = api("keqiao_inspector")
    task = task_named(refused, case_id, "Task_serve")
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()  # a real instant, only not yet
    resp = refused.post(f"/tasks/{task['id']}/complete", {"data": {"document_no": "X", "served_at": tomorrow}})
    assert resp.status_code == 422 and "served_at" in resp.json["error"]["fields"]
    complete(refused, case_id, "Task_serve", {"document_no": "绍燃罚〔2026〕2号", "served_at": SERVED})
    no_reason = refused.post(f"/tasks/{task_named(refused, case_id, 'Task_execute')['id']}/complete",
                             {"data": {"outcome": "closed"}})
    assert no_reason.status_code == 422 and "note" in no_reason.json["error"]["fields"]
    done = complete(refused, case_id, "Task_execute", {"outcome": "closed", "note": "已申请法院强制执行"})
    assert done["status"] == "completed" and end_of(done) == "End_closed"


def test_fine_without_amount_is_refused(app, api):
    case_id = file_penalty(api, app)
    complete(api("keqiao_inspector"), case_id, "Task_investigate", {"findings": "查实"})
    task = task_named(api("keqiao_inspector"), case_id, "Task_propose")
    for bad in ({"penalty_type": "fine", "amount": 0, "legal_basis": "x"},
                {"penalty_type": "fine", "amount": -5, "legal_basis": "x"},
                {"penalty_type": "fine", "amount": "lots", "legal_basis": "x"}):
        resp = api("keqiao_inspector").post(f"/tasks/{task['id']}/complete", {"data": bad})
        assert resp.status_code == 422 and "amount" in resp.json["error"]["fields"], resp.json
    assert open_names(api("keqiao_inspector"), case_id) == ["Task_propose"]


def test_changing_the_decision_table_changes_who_approves_without_a_deploy(app, api):
    admin = api("admin")
    before = file_penalty(api, app)
    investigate_and_propose(api, before, amount=30000)
    assert task_named(api("keqiao_supervisor"), before, "Task_county")
    assert admin.get(f"/cases/{before}").json["data"]["city_approval"] is False

    # The city lowers its threshold to 20 000 yuan by uploading a new version of the table.
    lowered = DMN.read_text(encoding="utf-8").replace("&gt; 50000", "&gt; 20000").replace("&lt;= 50000", "&lt;= 20000")
    resp = admin.post("/decisions", data=lowered.encode("utf-8"), content_type="application/xml")
    assert resp.status_code == 201, resp.json
    assert resp.json["version"] == 2
    processes_before = {p["key"]: p["version"] for p in admin.get("/processes").json}

    after = file_penalty(api, app)
    proposed = investigate_and_propose(api, after, amount=30000)
    assert proposed["data"]["city_approval"] is True
    assert proposed["data"]["decisions"]["penalty_approval"]["version"] == 2
    complete(api("keqiao_supervisor"), after, "Task_county", {"decision": "approve"})
    assert open_names(admin, after) == ["Task_city"]
    # No process was redeployed for this.
    assert {p["key"]: p["version"] for p in admin.get("/processes").json} == processes_before


def test_an_invalid_decision_table_is_refused_with_reasons(app, api):
    admin = api("admin")
    broken = DMN.read_text(encoding="utf-8").replace("&gt; 50000", "&gt; __import__('os')")
    resp = admin.post("/decisions", data=broken.encode("utf-8"), content_type="application/xml")
    assert resp.status_code == 422
    assert any("rule 2" in r for r in resp.json["error"]["fields"]["file"]), resp.json
    assert admin.get("/decisions/penalty_approval").json["version"] == 1
    assert api("keqiao_supervisor").post("/decisions", data=DMN.read_bytes(),
                                         content_type="application/xml").status_code == 403


def test_a_new_version_of_a_table_keeps_the_outputs_the_processes_read(app, api):
    """The periods table without its service period would have been stored, and every penalty case then
    failed at its prior notice (the model reads service_days by name): the upload is refused instead."""
    admin = api("admin")
    periods = (DMN.parent / "penalty_periods.dmn").read_text(encoding="utf-8")
    before = admin.get("/decisions/penalty_periods").json["version"]
    dropped = re.sub(r'\s*<output id="Output_service"[^>]*/>', "", periods)
    dropped = re.sub(r'\s*<outputEntry id="Out_all_service">.*?</outputEntry>', "", dropped)
    assert "service_days" not in dropped
    resp = admin.post("/decisions", data=dropped.encode("utf-8"), content_type="application/xml")
    assert resp.status_code == 422, resp.json
    assert any("service_days" in r and f"version {before}" in r for r in resp.json["error"]["fields"]["file"])
    assert admin.get("/decisions/penalty_periods").json["version"] == before
    # A new period beside the others is a new version.
    added = periods.replace('name="court_days" typeRef="number" />',
                            'name="court_days" typeRef="number" />\n      <output id="Output_extra" label="备用期限" '
                            'name="extra_days" typeRef="number" />')
    added = added.replace('<outputEntry id="Out_all_court"><text>10</text></outputEntry>',
                          '<outputEntry id="Out_all_court"><text>10</text></outputEntry>\n        '
                          '<outputEntry id="Out_all_extra"><text>1</text></outputEntry>')
    resp = admin.post("/decisions", data=added.encode("utf-8"), content_type="application/xml")
    assert resp.status_code == 201, resp.json
    assert resp.json["version"] == before + 1
