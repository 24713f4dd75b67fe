"""Warnings from reported data (A7.2–A7.4): a cylinder past its inspection, a cylinder at an unregistered
user, a user holding more cylinders than the norm, a delivery vehicle with an unqualified driver."""
from datetime import UTC, date, datetime, timedelta

from test_data_api import ID_A, review


def report(api, kind, records):
    answer = api("kq_bottled_admin").post(f"/data/{kind}", {"records": records}).json
    assert answer["rejected"] == [], answer
    if answer.get("case"):
        review(api, answer["case"], {i + 1: True for i in range(sum(a["status"] == "pending"
                                                                    for a in answer["accepted"]))})
    return answer


def open_warnings(api, category):
    body = api("keqiao_supervisor").get(f"/warnings?status=open&category={category}").json
    items = body["items"] if isinstance(body, dict) else body
    return sorted(w["key"] for w in items)


def cylinder(code, due):
    return {"external_id": code, "code": code, "status": "at_user", "next_inspection_on": due.isoformat()}


def move(code, ref, movement="out", minutes=0):
    at = (datetime(2026, 11, 1, 9, 0, tzinfo=UTC) + timedelta(minutes=minutes)).isoformat()
    return {"external_id": f"M-{code}-{minutes}", "cylinder_code": code, "movement": movement, "at": at,
            "user_ref": ref}


def test_reported_data_raises_and_settles_warnings(app, api):
    today = date.today()
    report(api, "gas_user", [{"external_id": "U1", "name": "王小明", "id_number": ID_A, "user_type": "residential"}])
    report(api, "cylinder", [cylinder("C1", today - timedelta(days=3)), cylinder("C2", today + timedelta(days=300)),
                             cylinder("C3", today + timedelta(days=300)), cylinder("C4", today + timedelta(days=300))])
    assert open_warnings(api, "cylinder") == ["cylinder:C1:inspection"]

    report(api, "cylinder_movement", [move("C1", "U1"), move("C2", "U1"), move("C3", "U1"), move("C4", "U9")])
    assert open_warnings(api, "cylinder") == ["cylinder:C1:inspection", "cylinder:C4:unregistered_user"]
    assert open_warnings(api, "user") == ["user:U1:holding"]

    report(api, "delivery_staff", [{"external_id": "S1", "name": "张华", "qualification_no": "ZJ-001"}])
    report(api, "station", [{"external_id": "ST-1", "name": "华舍供应站", "station_type": "supply",
                             "lon": 120.47, "lat": 30.09}])
    near, far = "120.48,30.10;120.50,30.12", "120.48,30.10;121.20,30.60"  # the second reaches Ningbo's edge
    report(api, "delivery_vehicle", [{"external_id": "V1", "plate": "浙D12345", "driver": "张华", "track": near},
                                     {"external_id": "V2", "plate": "浙D54321", "driver": "无证司机"},
                                     {"external_id": "V3", "plate": "浙D11111", "driver": "张华", "track": far}])
    assert open_warnings(api, "vehicle") == ["vehicle:V2:driver", "vehicle:V3:off_route"]

    # C3 comes back and C4's user registers: the holding and unregistered warnings close; C1 stays overdue.
    report(api, "cylinder_movement", [move("C3", "U1", "return", minutes=10)])
    report(api, "gas_user", [{"external_id": "U9", "name": "李红", "user_type": "commercial"}])
    assert open_warnings(api, "user") == []
    assert open_warnings(api, "cylinder") == ["cylinder:C1:inspection"]
    closed = api("keqiao_supervisor").get("/warnings?status=closed&category=user").json
    items = closed["items"] if isinstance(closed, dict) else closed
    assert [w["key"] for w in items] == ["user:U1:holding"] and items[0]["ended_at"]
    # Other enterprises and counties see none of it.
    assert open_warnings(api, "cylinder") and not api("yuecheng_inspector").get("/warnings?status=open").json.get(
        "items", [])


def test_the_daily_round_finds_inspections_that_fell_due(app, api):
    from web.extensions import db
    from workflows.services.data_checks import check_all

    soon = date.today() + timedelta(days=2)
    report(api, "cylinder", [cylinder("C7", soon)])
    assert open_warnings(api, "cylinder") == []
    with app.app_context():
        assert check_all(db.session, datetime.now(UTC) + timedelta(days=5)) == 1
    assert open_warnings(api, "cylinder") == ["cylinder:C7:inspection"]
    with app.app_context():  # running again changes nothing: still one warning for the same condition
        check_all(db.session, datetime.now(UTC) + timedelta(days=6))
    assert open_warnings(api, "cylinder") == ["cylinder:C7:inspection"]
