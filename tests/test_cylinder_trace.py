"""A cylinder's trace (A1.4): over the API for each scope, on the page, behind its QR label (public view shows
validity only), and the inspection-due notices 30 days ahead, once per cylinder and due date."""
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from test_data_api import review

BOTTLED = "柯桥区瓶装液化气供应有限公司"


def report(api, kind, records):
    answer = api("kq_bottled_admin").post(f"/data/{kind}", {"records": records}).json
    assert answer["rejected"] == [], answer
    pending = sum(a["status"] == "pending" for a in answer["accepted"])
    if pending:
        review(api, answer["case"], {i + 1: True for i in range(pending)})
    return answer


def at(day: int, hour: int = 9) -> str:
    return datetime(2026, 10, day, hour, 0, tzinfo=UTC).isoformat()


@pytest.fixture
def cylinder(api):
    """Cylinder GC-001 of the Keqiao bottled company: filled, out to 王小明, returned, out to an unregistered
    user; delivered on an order; inspected (passed, valid for 400 more days)."""
    report(api, "gas_user", [{"external_id": "U1", "name": "王小明", "user_type": "residential",
                              "address": "柯桥区华舍街道 12 幢", "phone": "13912345678"}])
    report(api, "station", [{"external_id": "ST-1", "name": "华舍储配站", "station_type": "storage_distribution",
                             "address": "柯桥区华舍街道", "lon": 120.47, "lat": 30.09}])
    report(api, "cylinder", [{"external_id": "GC-001", "code": "GC-001", "spec": "YSP-15", "status": "at_user",
                              "next_inspection_on": (date.today() + timedelta(days=10)).isoformat()}])
    report(api, "cylinder_movement", [
        {"external_id": "M1", "cylinder_code": "GC-001", "movement": "in", "at": at(1), "station": "华舍储配站"},
        {"external_id": "M2", "cylinder_code": "GC-001", "movement": "out", "at": at(2), "station": "华舍储配站",
         "user_ref": "U1"},
        {"external_id": "M3", "cylinder_code": "GC-001", "movement": "return", "at": at(5), "station": "华舍储配站"}])
    report(api, "delivery_order", [{"external_id": "O1", "order_no": "DD-0001", "user_ref": "U1",
                                    "ordered_at": at(2, 8), "delivered_at": at(2, 10),
                                    "cylinder_codes": "GC-001，GC-002", "staff": "张华"}])
    report(api, "cylinder_inspection", [{"external_id": "I1", "cylinder_code": "GC-001",
                                         "inspected_on": "2026-09-20", "result": "pass",
                                         "inspection_unit": "绍兴市特种设备检测院",
                                         "next_due_on": (date.today() + timedelta(days=400)).isoformat()}])
    return "GC-001"


def test_the_trace_over_the_api_in_each_scope(api, cylinder):
    own = api("kq_bottled_admin").get(f"/cylinders/{cylinder}/trace")
    assert own.status_code == 200, own.json
    (trace,) = own.json["cylinders"]
    assert trace["enterprise"]["name"] == BOTTLED and trace["code"] == "GC-001"
    # The newest inspection decides: valid until its next due date, not the cylinder's own older date.
    assert trace["inspection"] == {"state": "valid", "last_inspected_on": "2026-09-20",
                                   "valid_until": (date.today() + timedelta(days=400)).isoformat()}
    assert [e["kind"] for e in trace["events"]] == ["return", "delivered", "out", "in", "inspection"]
    out = trace["events"][2]
    assert out["user_name"] == "王小明" and out["address"] == "柯桥区华舍街道 12 幢" and out["station"] == "华舍储配站"
    assert trace["events"][1]["order_no"] == "DD-0001" and trace["events"][1]["staff"] == "张华"
    assert trace["location"] == "return"
    assert [u["name"] for u in trace["users"]] == ["王小明"]
    assert "13912345678" not in own.text  # personal fields are not part of a trace
    assert {p["name"] for p in trace["places"]} == {"华舍储配站", "王小明"}

    county = api("keqiao_supervisor").get(f"/cylinders/{cylinder}/trace")
    city = api("admin").get(f"/cylinders/{cylinder}/trace")
    assert county.status_code == city.status_code == 200
    assert county.json == city.json == own.json
    # Another enterprise, another county, and a code nobody registered: the same 404, no existence leak.
    other = api("yc_pipeline_staff").get(f"/cylinders/{cylinder}/trace")
    elsewhere = api("yuecheng_inspector").get(f"/cylinders/{cylinder}/trace")
    unknown = api("kq_bottled_admin").get("/cylinders/NO-SUCH/trace")
    assert other.status_code == elsewhere.status_code == unknown.status_code == 404
    assert other.json == unknown.json


def test_a_pending_or_unknown_cylinder_has_no_trace(api):
    # A cylinder waits for the county's review: not official, so no trace yet.
    answer = api("kq_bottled_admin").post("/data/cylinder", {"records": [{"external_id": "P1", "code": "P1"}]}).json
    assert answer["accepted"][0]["status"] == "pending"
    assert api("kq_bottled_admin").get("/cylinders/P1/trace").status_code == 404


@pytest.mark.parametrize("code", ["a%00b", "x" * 65, "%ED%A0%80"])
def test_a_hostile_code_is_422_naming_code(api, code):
    resp = api("admin").get(f"/cylinders/{code}/trace")
    assert resp.status_code == 422, (resp.status_code, resp.data[:300])
    assert "code" in resp.json["error"]["fields"]


def test_the_trace_page_and_the_qr_label(app, api, browser, cylinder):
    staff = browser("kq_bottled_admin")
    listed = staff.client.get("/cylinders", headers={"Accept-Language": "zh"})
    assert listed.status_code == 200 and b"GC-001" in listed.data
    page = staff.client.get("/cylinders/GC-001").data.decode()
    assert "王小明" in page and "华舍储配站" in page and "绍兴市特种设备检测院" in page and 'id="timeline"' in page

    records = staff.client.get("/data/cylinder_movement").data.decode()  # each movement links to the trace
    assert f'href="/cylinders/GC-001?enterprise={api("kq_bottled_admin").user.enterprise_id}"' in records

    labels = staff.client.get("/cylinder-labels").data.decode()
    (url,) = re.findall(r'data-code="GC-001"', labels) and re.findall(r'src="(data:image/svg\+xml[^"]+)"', labels)
    assert url  # one QR label, drawn as SVG
    with app.test_request_context():
        from web.pages.cylinder_scan import public_url
        enterprise = api("kq_bottled_admin").user.enterprise_id
        address = public_url(enterprise, "GC-001")
    path = address.removeprefix(app.config["BASE_URL"])
    assert path.startswith("/c/") and "GC-001" not in path  # signed, not the bare code

    # An authority prints the labels of a bottled enterprise of its county, not of another county's.
    sheet = f"/cylinder-labels?enterprise={enterprise}"
    assert 'data-code="GC-001"' in browser("keqiao_supervisor").client.get(sheet).data.decode()
    assert 'data-code="GC-001"' not in browser("yuecheng_inspector").client.get(sheet).data.decode()
    assert browser("yuecheng_inspector").client.get("/cylinders/GC-001").status_code == 404

    # Nobody signed in: the code, the enterprise and the validity; nothing of users or places.
    public = app.test_client()
    public.set_cookie("locale", "zh")
    seen = public.get(path)
    assert seen.status_code == 200
    text = seen.data.decode()
    assert "GC-001" in text and BOTTLED in text and "检验有效期至" in text
    assert not any(word in text for word in ("王小明", "华舍", "张华", "DD-0001", "绍兴市特种设备检测院"))
    # An authority of the county is sent to the full trace; one of another county sees the public view.
    county = browser("keqiao_supervisor").client.get(path)
    assert county.status_code == 302 and "/cylinders/GC-001" in county.headers["Location"]
    elsewhere = browser("yuecheng_inspector").client.get(path)
    assert elsewhere.status_code == 200 and "王小明" not in elsewhere.data.decode()
    # A token changed by one character (the signature's last one carries spare bits: one inside it), the
    # signature of one code on another, or the bare code: 404.
    token = path.removeprefix("/c/")
    payload, signature = token.split(".")
    i = len(signature) // 2
    tampered = f"{payload}.{signature[:i]}{'A' if signature[i] != 'A' else 'B'}{signature[i + 1:]}"
    import base64
    other = base64.urlsafe_b64encode(b'[1,"GC-002"]').decode().rstrip("=")
    for bad in (tampered, f"{other}.{signature}", "GC-001", "x.y", "%00"):
        assert public.get(f"/c/{bad}").status_code in (400, 404), bad
    assert public.get(f"/c/{tampered}").status_code == 404


def test_a_code_with_a_slash_is_traced_everywhere_and_an_empty_part_is_refused(app, api, browser):
    """Codes such as SX/LPG/0001: the API's trace, the page, the link from the data records and the QR label
    all reach the cylinder; a code with an empty part ("a//b", "a/") is a 422 naming the code, not a redirect
    to another code."""
    report(api, "cylinder", [{"external_id": "SL-1", "code": "SX/LPG/0001", "spec": "YSP-15",
                              "status": "in_stock"}])
    report(api, "cylinder_movement", [{"external_id": "SLM-1", "cylinder_code": "SX/LPG/0001", "movement": "in",
                                       "at": at(3)}])
    own = api("kq_bottled_admin").get("/cylinders/SX%2FLPG%2F0001/trace")
    assert own.status_code == 200, own.json
    assert own.json["cylinders"][0]["code"] == "SX/LPG/0001" and own.json["cylinders"][0]["events"]
    assert api("admin").get("/cylinders/SX/LPG/0001/trace").json == own.json
    for bad in ("SX//LPG", "SX%2F%2FLPG", "SX%2F"):
        refused = api("admin").get(f"/cylinders/{bad}/trace")
        assert refused.status_code == 422 and "code" in refused.json["error"]["fields"], (bad, refused.status_code)

    staff = browser("kq_bottled_admin")
    enterprise = api("kq_bottled_admin").user.enterprise_id
    records = staff.client.get("/data/cylinder_movement").data.decode()
    assert f'href="/cylinders/SX/LPG/0001?enterprise={enterprise}"' in records
    page = staff.client.get(f"/cylinders/SX/LPG/0001?enterprise={enterprise}")
    assert page.status_code == 200 and "SX/LPG/0001" in page.data.decode() and 'id="timeline"' in page.data.decode()
    with app.test_request_context():
        from web.pages.cylinder_scan import public_url
        path = public_url(enterprise, "SX/LPG/0001").removeprefix(app.config["BASE_URL"])
    sent = browser("keqiao_supervisor").client.get(path)
    assert sent.status_code == 302
    assert browser("keqiao_supervisor").client.get(sent.headers["Location"]).status_code == 200


def test_the_public_view_says_overdue_and_unknown(app, api):
    report(api, "cylinder", [{"external_id": "OLD", "code": "OLD", "next_inspection_on": "2020-01-01"},
                             {"external_id": "NEW", "code": "NEW"}])
    with app.test_request_context():
        from web.pages.cylinder_scan import public_url
        enterprise = api("kq_bottled_admin").user.enterprise_id
        old, new = (public_url(enterprise, c).removeprefix(app.config["BASE_URL"]) for c in ("OLD", "NEW"))
    public = app.test_client()
    public.set_cookie("locale", "zh")
    assert "validity-overdue" in public.get(old).data.decode()
    assert "validity-unknown" in public.get(new).data.decode()


def test_inspection_due_notices_thirty_days_ahead_once(app, api):
    from sqlalchemy import func, select

    from models import CylinderNotice, Notification, Setting, User
    from web.background.schedule import daily_data_checks
    from web.extensions import db
    from workflows.engine import clock

    start = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    due = date(2027, 4, 20)
    report(api, "cylinder", [{"external_id": "N1", "code": "N1", "next_inspection_on": due.isoformat()},
                             {"external_id": "N2", "code": "N2", "next_inspection_on": "2027-09-01"}])

    def notices(username):
        with app.app_context():
            user_id = db.session.scalar(select(User.id).where(User.username == username))
            return db.session.scalars(select(Notification.text).where(Notification.user_id == user_id,
                                                                      Notification.text.contains("气瓶"))).all()

    def run_on(instant):
        with app.app_context():  # a new day for the daily round
            db.session.merge(Setting(key="data_checks_day", value=""))
            db.session.commit()
        with clock.frozen_at(instant):
            return daily_data_checks(app)

    run_on(start)  # 50 days ahead: nothing yet
    assert notices("kq_bottled_admin") == []
    run_on(start + timedelta(days=19))  # 31 days ahead: still nothing
    assert notices("kq_bottled_admin") == []
    run_on(start + timedelta(days=20))  # 30 days ahead: told
    (told,) = notices("kq_bottled_admin")
    assert "N1" in told and "2027-04-20" in told and "30 天" in told
    assert len(notices("keqiao_supervisor")) == 1 and notices("yuecheng_inspector") == []
    run_on(start + timedelta(days=21))
    run_on(start + timedelta(days=35))
    assert len(notices("kq_bottled_admin")) == 1 and len(notices("keqiao_supervisor")) == 1  # once only
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CylinderNotice)) == 1

    # Inspected again with a new due date: a notice for the new date when it comes within 30 days.
    report(api, "cylinder_inspection", [{"external_id": "I-N1", "cylinder_code": "N1", "inspected_on": "2027-04-10",
                                         "result": "pass", "next_due_on": "2028-04-10"}])
    run_on(datetime(2028, 3, 11, 2, 0, tzinfo=UTC))
    assert len(notices("kq_bottled_admin")) == 2
    # The same day run twice (another worker): the day is claimed once, nobody told twice.
    with clock.frozen_at(datetime(2028, 3, 11, 3, 0, tzinfo=UTC)):
        assert daily_data_checks(app) == 0
    assert len(notices("kq_bottled_admin")) == 2


def test_a_new_inspection_closes_the_overdue_warning(api):
    def open_keys():
        body = api("keqiao_supervisor").get("/warnings?status=open&category=cylinder").json
        return [w["key"] for w in body["items"]]

    report(api, "cylinder", [{"external_id": "LATE", "code": "LATE", "next_inspection_on": "2020-01-01"}])
    assert open_keys() == ["cylinder:LATE:inspection"]
    # Inspected and passed: the trace's validity and the warning follow the inspection, not the old date.
    report(api, "cylinder_inspection", [{"external_id": "I-LATE", "cylinder_code": "LATE", "result": "pass",
                                         "inspected_on": date.today().isoformat(),
                                         "next_due_on": (date.today() + timedelta(days=365)).isoformat()}])
    assert open_keys() == []
    trace = api("keqiao_supervisor").get("/cylinders/LATE/trace").json["cylinders"][0]
    assert trace["inspection"]["state"] == "valid"
