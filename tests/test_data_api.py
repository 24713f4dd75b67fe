"""Data docking over the API (D3): batches validated record by record, reviewed (L6), versioned,
resent without effect, scoped to the enterprise, personal data encrypted at rest."""
import json

from flows import end_of, task_named
from sqlalchemy import select, text

ID_A, ID_B = "11010519491231002X", "330603199001011234"


def fix_id(prefix17: str) -> str:
    from forms.data_forms import ID_CHECK, ID_WEIGHTS

    return prefix17 + ID_CHECK[sum(int(d) * w for d, w in zip(prefix17, ID_WEIGHTS, strict=True)) % 11]


ID_B = fix_id(ID_B[:17])


def stations(*names):
    return [{"external_id": f"ST-{i}", "name": n, "station_type": "supply", "address": "柯桥区",
             "phone": "13800000000", "lon": 120.5, "lat": 30.1} for i, n in enumerate(names, 1)]


def review(api, case_id, decisions: dict):
    supervisor = api("keqiao_supervisor")
    task = task_named(supervisor, case_id, "Task_review")
    data = {}
    for ref, decision in decisions.items():
        data[f"decision_{ref}"] = "accept" if decision is True else "reject"
        if decision is not True:
            data[f"reason_{ref}"] = decision
    resp = supervisor.post(f"/tasks/{task['id']}/complete", {"data": data})
    assert resp.status_code == 200, resp.json
    return resp.json


def test_kinds_are_listed_with_their_schema(api):
    kinds = {k["kind"]: k for k in api("kq_bottled_admin").get("/data").json}
    assert len(kinds) >= 20 and {"station", "gas_user", "cylinder", "emergency_repair", "training"} <= set(kinds)
    assert kinds["gas_user"]["personal_fields"] == ["id_number", "phone"]
    assert "external_id" in kinds["station"]["schema"]["required"]


def test_batch_reviewed_record_by_record_becomes_official_or_goes_back(app, api):
    admin = api("kq_bottled_admin")
    resp = admin.post("/data/station", {"records": stations("华舍供应站", "柯岩供应站")})
    assert resp.status_code == 202, resp.json
    answer = resp.json
    assert [a["status"] for a in answer["accepted"]] == ["pending", "pending"] and answer["rejected"] == []
    case = api("keqiao_supervisor").get(f"/cases/{answer['case']}").json
    assert case["process"] == "data_review" and [i["external_id"] for i in case["data"]["items"]] == ["ST-1", "ST-2"]
    assert admin.get("/data/station").json["total"] == 0  # nothing official before the review

    done = review(api, answer["case"], {1: True, 2: "地址不详"})
    assert done["status"] == "completed" and end_of(done) == "End_returned"
    official = admin.get("/data/station").json["items"]
    assert [r["external_id"] for r in official] == ["ST-1"] and official[0]["data"]["name"] == "华舍供应站"
    rejected = admin.get("/data/station?status=rejected").json["items"]
    assert [(r["external_id"], r["review_reason"]) for r in rejected] == [("ST-2", "地址不详")]
    notes = api("kq_bottled_staff").get("/notifications").json
    assert any("驳回" in (n.get("text") or "") for n in notes["items"]), notes


def test_same_batch_again_changes_nothing_and_a_change_is_a_new_version(app, api):
    admin = api("kq_bottled_admin")
    records = stations("华舍供应站")
    first = admin.post("/data/station", {"records": records})
    again = admin.post("/data/station", {"records": records})
    assert again.status_code == 200 and again.json["resubmitted"] is True
    assert again.json["batch"] == first.json["batch"] and again.json["case"] == first.json["case"]
    review(api, first.json["case"], {1: True})

    # The same record inside another batch is unchanged; a changed one is version 2.
    changed = stations("华舍供应站", "新站")
    changed[0] = {**changed[0], "external_id": "ST-1"}
    resp = admin.post("/data/station", {"records": [records[0], {**changed[1], "external_id": "ST-9"}]})
    assert [a["status"] for a in resp.json["accepted"]] == ["unchanged", "pending"]
    renamed = admin.post("/data/station", {"records": [{**records[0], "name": "华舍供应站(迁建)"}]}).json
    assert renamed["accepted"][0]["version"] == 2
    review(api, renamed["case"], {1: True})
    versions = admin.get("/data/station/ST-1").json["versions"]
    assert [(v["version"], v["status"]) for v in versions] == [(2, "official"), (1, "superseded")]
    assert versions[1]["data"]["name"] == "华舍供应站"


def test_partial_rejection_names_index_and_fields(app, api):
    admin = api("kq_bottled_admin")
    good = stations("好站")[0]
    records = [good,
               {**good, "external_id": "ST-x1", "phone": "12345"},
               {"external_id": "ST-x2", "station_type": "supply"},
               {**good, "external_id": "ST-x3", "colour": "red"},
               {**good, "external_id": "bad id!"},
               good,
               "not an object"]
    resp = admin.post("/data/station", {"records": records})
    assert resp.status_code == 202
    assert [a["index"] for a in resp.json["accepted"]] == [0]
    errors = {r["index"]: r["errors"] for r in resp.json["rejected"]}
    assert "phone" in errors[1] and "name" in errors[2] and "colour" in errors[3]
    assert "external_id" in errors[4] and "external_id" in errors[5] and "record" in errors[6]


def test_wrong_callers_and_bad_bodies_are_refused(app, api):
    admin = api("kq_bottled_admin")
    assert api("keqiao_inspector").post("/data/station", {"records": stations("x")}).status_code == 403
    resp = admin.post("/data/monthly_supply", {"records": [{"external_id": "M1", "month": "2026-10"}]})
    assert resp.status_code == 422 and "kind" in resp.json["error"]["fields"]
    assert admin.post("/data/no_such_kind", {"records": []}).status_code == 404
    assert admin.post("/data/station", {"records": []}).status_code == 422
    bad = admin.client.post("/api/v1/data/station", data="{not json", headers={**admin.headers,
                                                                              "Content-Type": "application/json"})
    assert bad.status_code == 400 and bad.json["error"]
    app.config["DATA_MAX_RECORDS"] = 3
    assert admin.post("/data/station", {"records": stations("a", "b", "c", "d")}).status_code == 413
    app.config["DATA_MAX_BYTES"] = 200
    big = admin.post("/data/station", {"records": stations("a" * 300)})
    assert big.status_code == 413 and big.json["error"]["code"] == "too_large"


def test_records_are_scoped_to_the_enterprise_and_county(app, api):
    admin = api("kq_bottled_admin")
    answer = admin.post("/data/station", {"records": stations("华舍供应站")}).json
    review(api, answer["case"], {1: True})
    assert api("keqiao_supervisor").get("/data/station").json["total"] == 1
    assert api("admin").get("/data/station").json["total"] == 1
    assert api("yc_pipeline_staff").get("/data/station").json["total"] == 0
    assert api("yuecheng_inspector").get("/data/station").json["total"] == 0
    assert api("yc_pipeline_staff").get("/data/station/ST-1").status_code == 404


def test_personal_data_is_encrypted_at_rest_masked_and_findable(app, api):
    from web.extensions import db

    admin = api("kq_bottled_admin")
    users = [{"external_id": "U1", "name": "王小明", "id_number": ID_A, "user_type": "residential",
              "phone": "13912345678", "address": "华舍街道"},
             {"external_id": "U2", "name": "李红", "id_number": ID_B, "user_type": "residential"}]
    answer = admin.post("/data/gas_user", {"records": users}).json
    assert answer["rejected"] == [], answer
    review(api, answer["case"], {1: True, 2: True})
    with app.app_context():
        # The column as stored (JSON text on SQLite, jsonb on PostgreSQL), read around the ORM.
        raw = " ".join(json.dumps(json.loads(row) if isinstance(row, str) else row, ensure_ascii=False)
                       for row in db.session.execute(text("SELECT data FROM data_records")).scalars())
        lookups = " ".join(db.session.execute(text("SELECT digest FROM data_lookups")).scalars())
    assert ID_A not in raw and "13912345678" not in raw and ID_A not in lookups
    assert "王小明" in raw  # names are not the personal fields the kind encrypts

    full = api("keqiao_supervisor").get(f"/data/gas_user?id_number={ID_A.lower()}").json["items"]
    assert [r["external_id"] for r in full] == ["U1"] and full[0]["data"]["id_number"] == ID_A
    masked = api("kq_bottled_staff").get("/data/gas_user?external_id=U1").json["items"][0]["data"]
    assert masked["id_number"] != ID_A and masked["id_number"].endswith(ID_A[-4:]) and "*" in masked["id_number"]
    assert masked["phone"].startswith("139") and "*" in masked["phone"]
    bad = admin.post("/data/gas_user", {"records": [{**users[0], "external_id": "U3", "id_number": ID_A[:-1] + "0"}]})
    assert "id_number" in bad.json["rejected"][0]["errors"]


def test_key_rotation_keeps_every_record_readable(app, api):
    from models.crypto import FieldCipher
    from web.common import dataflow
    from web.extensions import db
    from workflows.services.datadock import rekey

    admin = api("kq_bottled_admin")
    answer = admin.post("/data/gas_user", {"records": [{"external_id": "U1", "name": "王", "id_number": ID_A,
                                                        "user_type": "residential"}]}).json
    review(api, answer["case"], {1: True})
    old_key, lookup = app.config["DATA_KEYS"][0], app.config["DATA_LOOKUP_KEY"]
    new_key = FieldCipher.new_key()
    with app.app_context():
        app.config["DATA_KEYS"] = [new_key, old_key]
        app.extensions.pop("gasflow.cipher", None)
        assert api("keqiao_supervisor").get("/data/gas_user").json["items"][0]["data"]["id_number"] == ID_A
        assert rekey(db.session, dataflow.cipher()) == 1
        app.config["DATA_KEYS"] = [new_key]
        app.extensions.pop("gasflow.cipher", None)
        from models import DataRecord

        token = db.session.scalar(select(DataRecord.data)).get("id_number")
        assert FieldCipher([new_key], lookup).decrypt(token) == ID_A
    assert api("keqiao_supervisor").get(f"/data/gas_user?id_number={ID_A}").json["items"][0]["data"]["id_number"] \
        == ID_A
