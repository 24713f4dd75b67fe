"""The enterprise a case is opened for, as the API names it: checked against the caller's scope without
reading every enterprise the caller could choose (the page's select lists them; the API only checks one),
and refused the same way whatever is wrong with it: another county's, another enterprise's, a closed
one, one that does not exist, or no id at all."""
import pytest
from conftest import enterprise_id, future, statements
from flows import KQ_BOTTLED
from sqlalchemy import update

KQ_PIPELINE = "柯桥天然气有限公司"
YUECHENG = "越城燃气有限公司"
NOT_A_CHOICE = {"enterprise_id": ["不是有效的选择。"]}


def _order(enterprise) -> dict:
    return {"process": "rectification", "data": {"enterprise_id": enterprise, "hazard_description": "阀门锈蚀",
                                                 "hazard_class": "II", "deadline_at": future()}}


def _certificate(enterprise) -> dict:
    return {"process": "certificate", "data": {"enterprise_id": enterprise, "kind": "business_licence",
                                               "number": "浙燃经 2026-9", "holder": "张三",
                                               "expires_on": "2030-01-01"}}


def _close(app, name):
    from models import Enterprise
    from web.extensions import db

    with app.app_context():
        db.session.execute(update(Enterprise).where(Enterprise.name == name).values(active=False))
        db.session.commit()


def test_opening_a_case_reads_the_enterprise_once_not_the_list_of_choices(app, api):
    inspector, ent = api("keqiao_inspector"), enterprise_id(app)
    inspector.post("/cases", _order(ent))  # the model and its caches read once
    with statements(app) as seen:
        resp = inspector.post("/cases", _order(ent))
    assert resp.status_code == 201, resp.json
    # The enterprise whole, by its id: the form's check and the engine's read (the case's county, its
    # notice) are one statement. The list of the county's enterprises is the page's, not the API's.
    # (A notice's issue reads the enterprise again, joined to its regions: not counted here.)
    reads = [s for s in seen if s.startswith("SELECT enterprises.") and " JOIN " not in s]
    assert len(reads) == 1 and " FROM enterprises WHERE enterprises.id = " in reads[0], "\n".join(seen)
    assert resp.json["data"]["enterprise_id"] == ent


@pytest.mark.parametrize("given, errors", [
    (YUECHENG, NOT_A_CHOICE),                                   # another county's
    (KQ_PIPELINE + " closed", NOT_A_CHOICE),                    # in the county, but closed
    (2_000_000, NOT_A_CHOICE),                                  # no such enterprise
    (0, NOT_A_CHOICE), (-3, NOT_A_CHOICE),
    (2**31, NOT_A_CHOICE), (10**30, NOT_A_CHOICE),              # beyond any integer column
    ("12", {"enterprise_id": ["Must be an integer."]}),
    (1.5, {"enterprise_id": ["Must be an integer."]}),
    (True, {"enterprise_id": ["Must be an integer."]}),
    ([1], {"enterprise_id": ["Must be an integer."]}),
    (None, {"enterprise_id": ["该字段是必填字段。"]}),
])
def test_an_enterprise_out_of_the_inspectors_choices_is_refused_naming_the_field(app, api, given, errors):
    if isinstance(given, str) and not given.isdigit():
        if given.endswith(" closed"):
            given = given.removesuffix(" closed")
            _close(app, given)
        given = enterprise_id(app, given)
    inspector = api("keqiao_inspector")
    resp = inspector.post("/cases", _order(given))
    assert resp.status_code == 422, resp.json
    assert resp.json["error"]["fields"] == errors
    assert resp.json["error"] == {"code": "invalid", "message": "invalid data", "fields": errors}
    assert inspector.get("/cases").json["total"] == 0


@pytest.mark.parametrize("given", [KQ_PIPELINE, YUECHENG, KQ_BOTTLED + " closed"])
def test_an_enterprise_admin_opens_cases_for_his_own_open_enterprise_only(app, api, given):
    if given.endswith(" closed"):
        given = given.removesuffix(" closed")
        _close(app, given)
    admin = api("kq_bottled_admin")
    resp = admin.post("/cases", _certificate(enterprise_id(app, given)))
    assert resp.status_code == 422, resp.json
    assert resp.json["error"] == {"code": "invalid", "message": "invalid data", "fields": NOT_A_CHOICE}


def test_the_city_admin_chooses_any_open_enterprise_and_no_closed_one(app, api):
    admin = api("admin")

    def refused(name):
        body = {"process": "inspection", "data": {"enterprise_id": enterprise_id(app, name)}}
        resp = admin.post("/cases", body)
        assert resp.status_code == 422, resp.json  # the rest of the form is missing
        return resp.json["error"]["fields"].get("enterprise_id")

    assert refused(YUECHENG) is None and refused(KQ_PIPELINE) is None
    _close(app, YUECHENG)
    assert refused(YUECHENG) == NOT_A_CHOICE["enterprise_id"] and refused(KQ_PIPELINE) is None


def test_the_start_page_lists_the_countys_open_enterprises_and_takes_only_those(app, browser):
    _close(app, KQ_PIPELINE)
    inspector = browser("keqiao_inspector")
    page = inspector.client.get("/cases/new/rectification").data.decode()
    assert f'value="{enterprise_id(app)}"' in page and KQ_BOTTLED in page
    assert KQ_PIPELINE not in page and YUECHENG not in page
    for name in (KQ_PIPELINE, YUECHENG):
        resp = inspector.form_post("/cases/new/rectification", {
            "enterprise_id": enterprise_id(app, name), "hazard_description": "阀门锈蚀", "hazard_class": "II"})
        assert resp.status_code == 422 and "不是有效的选择" in resp.data.decode()
