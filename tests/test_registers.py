"""The registers (issue 15): enterprises kept by the city admin and county supervisors, with history,
an Excel import all-or-nothing with row errors, the API; county-level units; an enterprise admin's staff
accounts; an accepted enterprise_profile updating the register."""
import io
import re

from conftest import csrf_of, enterprise_id, sign_in_form
from sqlalchemy import select

from models import Enterprise, EnterpriseChange, User
from models.uscc import make_uscc


def code(n: int, county="330603") -> str:
    return make_uscc(f"91{county}MB{n:07d}")


def body(n=1, **extra):
    return {"name": f"柯桥新奥燃气{n}号站", "uscc": code(n), "kind": "pipeline",
            "county_id": extra.pop("county_id", None),
            "address": "柯桥区笛扬路 1 号", "lon": 120.5, "lat": 30.05, **extra}


def county(app, name):
    from models import Region
    from web.extensions import db

    with app.app_context():
        return db.session.scalar(select(Region.id).where(Region.name == name))


def test_city_admin_registers_edits_and_deactivates_on_the_pages(app, browser):
    admin = browser("admin")
    form = {"name": "柯桥新奥燃气有限公司", "uscc": code(1), "kind": "pipeline", "county_id": county(app, "柯桥区"),
            "address": "柯桥区笛扬路 1 号", "lon": "120.5", "lat": "30.05", "licence_no": "浙燃经 330603-001",
            "licence_valid_until": "2029-06-30"}
    bad = admin.form_post("/enterprises/new", {**form, "uscc": code(1)[:-1] + ("0" if code(1)[-1] != "0" else "1")})
    assert bad.status_code == 422 and "统一社会信用代码" in bad.data.decode() and "校验" in bad.data.decode()
    done = admin.form_post("/enterprises/new", form)
    assert done.status_code == 303
    page = admin.client.get(done.headers["Location"]).data.decode()
    assert "柯桥新奥燃气有限公司" in page and "浙燃经 330603-001" in page
    dup = admin.form_post("/enterprises/new", {**form, "name": "别的公司"})
    assert dup.status_code == 422 and "已登记" in dup.data.decode()

    with app.app_context():
        from web.extensions import db

        ent = db.session.scalar(select(Enterprise).where(Enterprise.uscc == code(1)))
        ent_id = ent.id
    edited = admin.form_post(f"/enterprises/{ent_id}", {**form, "address": "柯桥区笛扬路 9 号"})
    assert edited.status_code == 303
    history = admin.client.get(f"/enterprises/{ent_id}").data.decode()
    assert "柯桥区笛扬路 1 号 → 柯桥区笛扬路 9 号" in history
    shown = re.sub(r"<[^>]+>", " ", history)
    assert "county_id" not in shown and "None" not in shown

    off = admin.form_post(f"/enterprises/{ent_id}/active", {"active": "0"}, page_path=f"/enterprises/{ent_id}")
    assert off.status_code == 303
    listed = admin.client.get("/enterprises?status=inactive").data.decode()
    assert "柯桥新奥燃气有限公司" in listed


def test_a_county_supervisor_keeps_only_the_county(app, api, browser):
    sup = api("keqiao_supervisor")
    other = sup.post("/enterprises", body(2, county_id=county(app, "越城区")))
    assert other.status_code == 422 and other.json["error"]["fields"]["county_id"]
    mine = sup.post("/enterprises", body(2, county_id=county(app, "柯桥区")))
    assert mine.status_code == 201, mine.json
    assert mine.json["county"]["name"] == "柯桥区" and mine.json["history"][0]["source"] == "api"
    assert api("keqiao_inspector").post("/enterprises", body(3, county_id=county(app, "柯桥区"))).status_code == 403
    # Another county's people do not see it; an inspector changes no entry.
    yc = api("yuecheng_inspector")
    assert yc.get(f"/enterprises/{mine.json['id']}").status_code == 404
    patch = yc.client.patch(f"/api/v1/enterprises/{mine.json['id']}", json={"name": "x"}, headers=yc.headers)
    assert patch.status_code == 403


def test_api_refuses_bad_and_duplicate_codes_and_patches_with_history(app, api):
    admin = api("admin")
    kq = county(app, "柯桥区")
    bad = admin.post("/enterprises", body(4, county_id=kq, uscc="91330603MB000000X"))
    assert bad.status_code == 422 and list(bad.json["error"]["fields"]) == ["uscc"]
    made = admin.post("/enterprises", body(4, county_id=kq))
    assert made.status_code == 201
    dup = admin.post("/enterprises", body(5, county_id=kq, uscc=code(4).lower()))
    assert dup.status_code == 422 and "uscc" in dup.json["error"]["fields"]
    for hostile in ({"name": "a\x00b"}, {"lon": 500}, {"kind": "nuclear"}, {"active": "yes"}, {"color": "red"},
                    {"name": ["a"]}):
        resp = admin.client.patch(f"/api/v1/enterprises/{made.json['id']}", json=hostile, headers=admin.headers)
        assert resp.status_code == 422, (hostile, resp.json)
        assert set(resp.json["error"]["fields"]) & set(hostile), (hostile, resp.json)
    patched = admin.client.patch(f"/api/v1/enterprises/{made.json['id']}", json={"address": "柯桥区湖中路 5 号"},
                                 headers=admin.headers)
    assert patched.status_code == 200 and patched.json["address"] == "柯桥区湖中路 5 号"
    assert patched.json["name"] == body(4)["name"]  # the rest stays
    assert patched.json["history"][0]["changes"] == {"address": ["柯桥区笛扬路 1 号", "柯桥区湖中路 5 号"]}
    listed = admin.get("/enterprises?q=" + code(4)[:12]).json
    assert [e["uscc"] for e in listed["items"]] == [code(4)]
    assert admin.get("/enterprises?kind=nuclear").status_code == 422


def test_deactivating_an_enterprise_deactivates_its_accounts(app, api):
    admin = api("admin")
    ent = enterprise_id(app)
    resp = admin.client.patch(f"/api/v1/enterprises/{ent}", json={"active": False}, headers=admin.headers)
    assert resp.status_code == 200 and resp.json["active"] is False
    with app.app_context():
        from web.extensions import db

        states = db.session.scalars(select(User.active).where(User.enterprise_id == ent)).all()
    assert states and not any(states)
    # No new case offers it.
    # The start form's choices leave the enterprise out.
    start = api("keqiao_inspector").post("/cases", {"process": "rectification", "data": {
        "enterprise_id": ent, "hazard_description": "x", "hazard_class": "I",
        "deadline_at": "2030-01-01T08:00:00+08:00"}})
    assert start.status_code == 422 and "enterprise_id" in start.json["error"]["fields"]


def xlsx(rows: list[list]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["名称", "统一社会信用代码", "类型", "所属区县", "地址", "经度", "纬度"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(admin, content: bytes):
    page = admin.client.get("/enterprises/import")
    return admin.client.post("/enterprises/import", data={"csrf_token": csrf_of(page.data),
                                                          "file": (io.BytesIO(content), "名录.xlsx")},
                             content_type="multipart/form-data")


def test_excel_import_of_300_enterprises_is_all_or_nothing_with_row_errors(app, browser):
    counties = ["越城区", "柯桥区", "上虞区", "诸暨市", "嵊州市", "330624"]
    kinds = ["瓶装燃气", "管道燃气", "车用燃气"]
    rows = [[f"导入企业{i}", code(1000 + i, "330600"), kinds[i % 3], counties[i % 6], f"地址{i}", 120.5, 30.0]
            for i in range(300)]
    broken = [list(r) for r in rows]
    broken[10][1] = "91330600MB0001010X"  # a bad check digit
    broken[20][3] = "杭州市"  # not a county of the city
    broken[30][1] = broken[29][1]  # the same code twice in the file
    broken[40][2] = "核电"
    admin = browser("admin")
    refused = upload(admin, xlsx(broken))
    text = refused.data.decode()
    assert refused.status_code == 422
    for row in (12, 22, 32, 42):  # the sheet's row numbers, under the header
        assert re.search(rf"<td[^>]*>{row}</td>", text), row
    with app.app_context():
        from web.extensions import db

        assert db.session.scalar(select(Enterprise.id).where(Enterprise.name.like("导入企业%"))) is None
    done = upload(admin, xlsx(rows))
    assert done.status_code == 303
    with app.app_context():
        assert len(db.session.scalars(select(Enterprise.id).where(Enterprise.name.like("导入企业%"))).all()) == 300
        assert db.session.scalar(select(EnterpriseChange.source).where(EnterpriseChange.enterprise_id == select(
            Enterprise.id).where(Enterprise.name == "导入企业5").scalar_subquery())) == "import"
    assert upload(admin, b"not a workbook").status_code == 422


def test_the_city_admin_adds_a_county_level_unit(app, browser, api):
    admin = browser("admin")
    for bad in ({"code": "330700", "name": "金华"}, {"code": "3306", "name": "x"}, {"code": "330603", "name": "重复"},
                {"code": "330699", "name": "柯桥区"}):
        assert admin.form_post("/regions", bad).status_code == 422, bad
    assert admin.form_post("/regions", {"code": "330699", "name": "绍兴滨海新区"}).status_code == 303
    made = api("admin").post("/enterprises", body(7, county_id=county(app, "绍兴滨海新区")))
    assert made.status_code == 201 and made.json["county"]["code"] == "330699"
    assert browser("keqiao_supervisor").client.get("/regions").status_code == 403


def test_an_enterprise_admin_manages_its_own_staff_accounts(app, browser):
    boss = browser("kq_bottled_admin")
    made = boss.form_post("/enterprise/staff", {"username": "kq_new_staff", "display_name": "钱七",
                                                "email": "qianqi@bottled.example.cn"})
    assert made.status_code == 201
    password = re.search(r'id="one-time-password">([^<]+)<', made.data.decode()).group(1)
    taken = boss.form_post("/enterprise/staff", {"username": "kq_new_staff", "display_name": "x"})
    assert taken.status_code == 422
    with app.app_context():
        from web.extensions import db

        person = db.session.scalar(select(User).where(User.username == "kq_new_staff"))
        assert person.role == "enterprise_staff" and person.enterprise_id == enterprise_id(app)
        person_id = person.id
        other = db.session.scalar(select(User.id).where(User.username == "yc_pipeline_staff"))
    client = app.test_client()
    assert sign_in_form(client, "kq_new_staff", password).status_code == 302
    assert boss.form_post(f"/enterprise/staff/{other}/active", {"active": "0"},
                          page_path="/enterprise/staff").status_code == 404
    assert boss.form_post(f"/enterprise/staff/{person_id}/active", {"active": "0"},
                          page_path="/enterprise/staff").status_code == 303
    again = sign_in_form(app.test_client(), "kq_new_staff", password)
    assert again.status_code != 302 or "/login" in again.headers.get("Location", "")
    assert browser("kq_bottled_staff").client.get("/enterprise/staff").status_code == 403


def test_an_accepted_enterprise_profile_updates_the_register(app, api):
    from flows import task_named

    staff, ent = api("kq_bottled_admin"), enterprise_id(app)
    uscc = staff.get(f"/enterprises/{ent}").json["uscc"]
    record = {"external_id": "PROFILE", "name": "柯桥区瓶装液化气供应有限公司（更名）", "address": "柯桥区齐贤镇 8 号",
              "uscc": uscc, "legal_head": "赵一", "licence_no": "浙燃经 330603-088", "lon": 120.51, "lat": 30.09}
    sent = staff.post("/data/enterprise_profile", {"records": [record]})
    assert sent.status_code == 202, sent.json
    supervisor = api("keqiao_supervisor")
    task = task_named(supervisor, sent.json["case"], "Task_review")
    assert supervisor.post(f"/tasks/{task['id']}/complete", {"data": {"decision_1": "accept"}}).status_code == 200
    entry = api("admin").get(f"/enterprises/{ent}").json
    assert entry["name"] == record["name"] and entry["address"] == "柯桥区齐贤镇 8 号"
    assert entry["licences"][0]["number"] == "浙燃经 330603-088" and entry["lon"] == 120.51
    assert entry["history"][0]["source"] == "profile" and entry["history"][0]["by"] is None
