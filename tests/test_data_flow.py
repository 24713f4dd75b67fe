"""Data that flows (issue 15): operational kinds are accepted automatically when plausible; only the
exceptions reach a reviewer, with the failed check named; warnings from such data no longer wait."""
from datetime import UTC, date, datetime, timedelta

from flows import task_named
from sqlalchemy import select

from models import DataBatch, DataRecord


def send(api, kind, records, user="kq_bottled_admin"):
    resp = api(user).post(f"/data/{kind}", {"records": records})
    assert resp.status_code == 202 and resp.json["rejected"] == [], resp.json
    return resp.json


def volume(ref, day, inbound, supplied, stock, station="华舍储配站"):
    return {"external_id": ref, "date": day, "station": station, "unit": "kg", "inbound": inbound,
            "supplied": supplied, "stock": stock}


def official(app, kind):
    from web.extensions import db

    with app.app_context():
        return sorted(db.session.scalars(select(DataRecord.external_id).where(
            DataRecord.kind == kind, DataRecord.status == "official")))


def test_plausible_daily_volumes_are_official_at_once_and_exceptions_go_to_review(app, api):
    first = send(api, "daily_volume", [volume("D1", "2026-11-01", 500, 300, 200),
                                       volume("D2", "2026-11-02", 100, 250, 50),
                                       volume("D3", "2026-11-03", 100, 5000, 0)])
    assert [a["status"] for a in first["accepted"]] == ["official", "official", "pending"]
    assert first["accepted"][2]["checks"] and "供出量超过可供量" in first["accepted"][2]["checks"][0]
    assert official(app, "daily_volume") == ["D1", "D2"]
    # Only the exception reaches the county, with the failed check named on its review task.
    supervisor = api("keqiao_supervisor")
    task = task_named(supervisor, first["case"], "Task_review")
    shown = supervisor.get(f"/tasks/{task['id']}").json
    records = next(part for part in shown["context"] if part.get("records") is not None)["records"] \
        if any("records" in p for p in shown["context"]) else None
    text = str(shown["context"])
    assert "库存不平" in text and "D3" in text and "D1" not in text, text[:2000]
    assert records is None or len(records) == 1
    # A batch of plausible records opens no case at all.
    quiet = send(api, "daily_volume", [volume("D4", "2026-11-04", 300, 200, 100)])
    assert quiet["case"] is None and quiet["accepted"][0]["status"] == "official"
    with app.app_context():
        from web.extensions import db

        assert db.session.get(DataBatch, quiet["batch"]).status == "reviewed"


def test_the_review_page_names_the_failed_check(app, api, browser):
    answer = send(api, "daily_volume", [volume("E1", "2026-11-01", 0, 0, 100), volume("E2", "2026-11-02", 0, 10, 500)])
    assert [a["status"] for a in answer["accepted"]] == ["official", "pending"]
    task = task_named(api("keqiao_supervisor"), answer["case"], "Task_review")
    page = browser("keqiao_supervisor").client.get(f"/tasks/{task['id']}").data.decode()
    assert "未通过的校验" in page and "库存不平" in page


def move(code, movement, minutes, ref="U1"):
    at = (datetime(2026, 11, 1, 9, 0, tzinfo=UTC) + timedelta(minutes=minutes)).isoformat()
    return {"external_id": f"M-{code}-{minutes}", "cylinder_code": code, "movement": movement, "at": at,
            "user_ref": ref}


def test_cylinder_movements_must_follow_the_cylinders_last_place(app, api):
    from test_data_api import review

    made = send(api, "cylinder", [{"external_id": "C1", "code": "C1", "status": "in_stock"}])
    review(api, made["case"], {1: True})
    answer = send(api, "cylinder_movement", [move("C1", "out", 0), move("C1", "out", 10), move("C1", "return", 20),
                                             move("C1", "return", 30), move("C9", "out", 40), move("C1", "out", 5)])
    statuses = [(a["external_id"], a["status"], " ".join(a.get("checks", []))) for a in answer["accepted"]]
    assert statuses[0][1] == "official" and statuses[2][1] == "official"
    assert statuses[1][1] == "pending" and "已出库" in statuses[1][2]
    assert statuses[3][1] == "pending" and "在库" in statuses[3][2]
    assert statuses[4][1] == "pending" and "未在本企业气瓶档案中登记" in statuses[4][2]
    assert statuses[5][1] == "pending" and "早于其上一次流转" in statuses[5][2]


def test_future_dates_and_late_deliveries_are_exceptions(app, api):
    future = (date.today() + timedelta(days=30)).isoformat()
    answer = send(api, "daily_volume", [volume("F1", future, 1, 1, 1)])
    assert answer["accepted"][0]["status"] == "pending" and "日期在未来" in answer["accepted"][0]["checks"][0]
    order = {"external_id": "O1", "order_no": "O1", "ordered_at": "2026-11-01T10:00:00+08:00",
             "delivered_at": "2026-11-01T09:00:00+08:00"}
    answer = send(api, "delivery_order", [order])
    assert answer["accepted"][0]["status"] == "pending" and "送达时间早于下单时间" in answer["accepted"][0]["checks"]


def test_review_kinds_still_wait_for_a_person(app, api):
    answer = send(api, "station", [{"external_id": "ST-1", "name": "华舍供应站", "station_type": "supply"}])
    assert answer["accepted"][0]["status"] == "pending" and answer["case"]
