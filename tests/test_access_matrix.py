"""The access matrix (GB/T 22239 level 3 access control): every endpoint of the URL map, called by each
demo role and anonymously, against objects of the caller's own tenant and of other tenants.

EXPECT classifies every endpoint; an endpoint added later that is not classified fails
``test_every_endpoint_is_classified``, so each new route gets a decision. Outside the caller's scope
or rights the answer is 403 or 404 (401 / the sign-in page for anonymous callers), never data; inside,
the call works (or, for writes the matrix does not want to carry out, gets past the access checks to
the input checks). No call may end in a server error.
"""
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from conftest import csrf_of, enterprise_id, future, sign_in_form
from sqlalchemy import select

from models import Attachment, Case, DataRecord, EarlyWarning, Enterprise, Region, Task, User

# ---- who is calling ------------------------------------------------------------------------------
KQB, KQP, YCP = "柯桥区瓶装液化气供应有限公司", "柯桥天然气有限公司", "越城燃气有限公司"


@dataclass(frozen=True)
class Caller:
    name: str | None
    role: str | None
    county: str | None = None  # "K" (柯桥区) or "Y" (越城区)
    enterprise: str | None = None

    @property
    def signed_in(self) -> bool:
        return self.name is not None

    @property
    def authority(self) -> bool:
        return self.role in ("city_admin", "county_supervisor", "inspector")


CALLERS = [
    Caller("admin", "city_admin"),
    Caller("keqiao_supervisor", "county_supervisor", "K"),
    Caller("keqiao_inspector", "inspector", "K"),
    Caller("yuecheng_inspector", "inspector", "Y"),
    Caller("kq_bottled_admin", "enterprise_admin", "K", KQB),
    Caller("kq_bottled_staff", "enterprise_staff", "K", KQB),
    Caller("yc_pipeline_staff", "enterprise_staff", "Y", YCP),
    Caller(None, None),
]


@dataclass(frozen=True)
class Obj:
    """An object of some tenant: its county, its enterprise, and whether enterprise users see it at all
    (an authority's internal task of an enterprise's case is not theirs to see)."""
    id: int
    county: str
    enterprise: str | None
    for_enterprise: bool = True
    extra: str = ""


def sees(c: Caller, o: Obj) -> bool:
    if c.role == "city_admin":
        return True
    if c.enterprise:
        return o.enterprise == c.enterprise and o.for_enterprise
    return c.county is not None and o.county == c.county


# ---- the world the calls are made in ------------------------------------------------------------------
def _token(app, username):
    from web.common.security import new_token
    from web.extensions import db

    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        raw = new_token(db.session, user, "matrix")
        db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def _gas(value: float) -> dict:
    return {"site": "SITE-1", "site_kind": "storage_station", "sensor": "GAS-1", "quantity": "gas_concentration",
            "value": value, "at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat()}


def build_world(app) -> dict:
    """The demo's cases in Keqiao (web/demo/cases.py: one in each lifecycle; the ``demo_cases`` fixture) and,
    made here through the API, a case, an attachment, a data batch and a warning in Yuecheng and more of each
    in Keqiao."""
    from web.extensions import db

    client = app.test_client()

    def post(user, path, **kw):
        resp = client.post("/api/v1" + path, headers=_token(app, user), **kw)
        assert resp.status_code in (200, 201, 202), (path, resp.json)
        return resp.json

    ycp = enterprise_id(app, YCP)
    case_y = post("yuecheng_inspector", "/cases", json={"process": "rectification", "data": {
        "enterprise_id": ycp, "hazard_class": "II", "hazard_description": "调压箱锈蚀", "deadline_at": future()}})
    with app.app_context():
        s = db.session
        kqb = s.scalar(select(Enterprise.id).where(Enterprise.name == KQB))
        kqp = s.scalar(select(Enterprise.id).where(Enterprise.name == KQP))
        # The demo's order answered by the enterprise, waiting for the inspector's verification.
        case_k = s.scalar(select(Task.case_id).where(Task.spec_name == "Task_verify", Task.status == "open",
                                                     Task.enterprise_id == kqb))
        case_kp = s.scalar(select(Case.id).where(Case.process_key == "penalty", Case.enterprise_id == kqp))
        cert = s.scalar(select(Case.id).where(Case.process_key == "certificate"))
    for user, case_id in (("keqiao_inspector", case_k), ("yuecheng_inspector", case_y["id"])):
        post(user, f"/cases/{case_id}/comments", data={"text": "现场照片", "files": (io.BytesIO(b"%PDF-1.4 x"),
                                                                                     "photo.pdf")},
             content_type="multipart/form-data")
    post("yc_pipeline_staff", "/data/station", json={"records": [{"external_id": "ST-Y1", "name": "越城门站",
                                                                  "station_type": "supply"}]})
    post("kq_bottled_staff", "/readings", json={"readings": [_gas(30)]})
    post("yc_pipeline_staff", "/readings", json={"readings": [_gas(30)]})
    with app.app_context():
        s = db.session

        def open_task(case_id, name):
            return s.scalar(select(Task.id).where(Task.case_id == case_id, Task.spec_name == name,
                                                  Task.status == "open"))

        def record_id(enterprise, external_id):
            return s.scalar(select(DataRecord.id).where(DataRecord.kind == "station", DataRecord.external_id
                                                        == external_id, DataRecord.enterprise_id == enterprise)
                            .order_by(DataRecord.version.desc()).limit(1))

        def attachment(case_id):
            return s.scalar(select(Attachment.id).where(Attachment.case_id == case_id))

        warn_case = {e: s.scalar(select(Case.id).where(Case.process_key == "warning", Case.enterprise_id == e))
                     for e in (kqb, ycp)}
        counties = dict(s.execute(select(Region.name, Region.id)).all())
        staff = s.scalar(select(User.id).where(User.username == "kq_bottled_staff"))
        world = {
            "ent": {KQB: kqb, KQP: kqp, YCP: ycp},
            "county": {"K": counties["柯桥区"], "Y": counties["越城区"]},
            "cases": [Obj(case_k, "K", KQB), Obj(case_kp, "K", KQP), Obj(case_y["id"], "Y", YCP),
                      Obj(warn_case[kqb], "K", KQB), Obj(warn_case[ycp], "Y", YCP)],
            "tasks": [Obj(open_task(case_k, "Task_verify"), "K", KQB, False, "inspector"),
                      Obj(open_task(cert, "Task_apply"), "K", KQB, True, "enterprise"),
                      Obj(open_task(case_kp, "Task_county"), "K", KQP, False, "county_supervisor"),
                      Obj(open_task(case_y["id"], "Task_respond"), "Y", YCP, True, "enterprise"),
                      Obj(open_task(warn_case[ycp], "Task_acknowledge"), "Y", YCP, True, "enterprise")],
            "warnings": [Obj(s.scalar(select(EarlyWarning.id).where(EarlyWarning.enterprise_id == e)), county, name)
                         for e, county, name in ((kqb, "K", KQB), (ycp, "Y", YCP))],
            "attachments": [Obj(attachment(case_k), "K", KQB), Obj(attachment(case_y["id"]), "Y", YCP)],
            "records": [Obj(kqb, "K", KQB, extra="ST-01"), Obj(ycp, "Y", YCP, extra="ST-Y1")],
            "record_ids": [Obj(kqb, "K", KQB, extra=record_id(kqb, "ST-01")),
                           Obj(ycp, "Y", YCP, extra=record_id(ycp, "ST-Y1"))],
            "staff_id": staff,
        }
    world.update(_pages_world(app, world))
    with app.test_request_context():  # the demo's cylinder (web/demo/cases.py), by the label printed for it
        from web.pages.cylinder_scan import public_url

        world["cylinder_label"] = public_url(kqb, "SX-LPG-0001").removeprefix(app.config["BASE_URL"])
    for kind in ("cases", "tasks", "attachments"):  # warning cases: readings above the level 1 threshold
        assert all(o.id for o in world[kind]), (kind, world[kind])
    return world


def _pages_world(app, world) -> dict:
    """Industry information of each county (drafts with a file, one published item), training sessions and
    publicity activities of an enterprise in each county, and the enterprises' home pages."""
    from datetime import date

    from web.extensions import db
    from workflows.services import industry_info
    from workflows.services import training_records as training

    def user(s, name):
        return s.scalar(select(User).where(User.username == name))

    with app.app_context():
        s = db.session
        admin = user(s, "admin")

        def item(county, title, publish=False):
            made = industry_info.create_item(s, admin, {"category": "announcement", "title": title, "doc_number": "",
                                               "body": "矩阵", "county_id": world["county"][county]},
                                    [industry_info.NewFile("note.pdf", "application/pdf", b"%PDF-1.4 x")])
            if publish:
                industry_info.transition(s, made, "publish")
            s.flush()
            return Obj(made.id, county, None, extra=str(made.attachments[0].id))

        drafts = [item("K", "柯桥草稿"), item("Y", "越城草稿")]
        published = item("K", "柯桥通知", publish=True)
        sessions, activities = [], []
        for name, county, ent in (("kq_bottled_staff", "K", KQB), ("yc_pipeline_staff", "Y", YCP)):
            staff = user(s, name)
            row = training.record_session(s, staff, {"name": "矩阵培训", "held_on": date.today(), "topic": "安全",
                                                     "trainer": "", "assessment": "笔试"},
                                          [{"name": "张三", "result": "qualified"}])
            sessions.append(Obj(row.id, county, ent))
            row = training.record_publicity(s, staff, {"activity": "矩阵宣传", "kind": "campaign",
                                                       "held_on": date.today(), "audience": "居民",
                                                       "audience_count": 10, "materials": ""})
            activities.append(Obj(row.id, county, ent))
        s.commit()
        yc_staff = s.scalar(select(User.id).where(User.username == "yc_pipeline_staff"))
    return {"info_drafts": drafts, "info_published": published, "training_sessions": sessions,
            "publicity": activities, "homes": [Obj(world["ent"][KQB], "K", KQB), Obj(world["ent"][KQP], "K", KQP),
                                               Obj(world["ent"][YCP], "Y", YCP)],
            "yc_staff_id": yc_staff}


# ---- outcomes -----------------------------------------------------------------------------------------
OK = "ok"            # 2xx (3xx for pages that redirect after a write)
DENY = "deny"        # 403 or 404
PASS = "pass"        # past the access checks: any answer but 401/403/404 (e.g. 422 for a deliberately empty form)
EMPTY = "empty"      # 200 with nothing in it: a list filtered on another tenant's id
PUBLIC = "public"    # answered for anyone, signed in or not
REDIRECT = "redirect"
BODY_REF = {403, 404, 422}  # another tenant's id in a request body


@dataclass
class Probe:
    method: str
    url: str
    expect: str | set  # an outcome above, or the exact statuses allowed
    api: bool = False
    kw: dict | None = None


def deny_unless(condition: bool, allowed: str = OK) -> str:
    return allowed if condition else DENY


def foreign_enterprises(c: Caller, w) -> list[int]:
    if c.role == "city_admin" or not c.signed_in:
        return []
    if c.enterprise:
        return [i for n, i in w["ent"].items() if n != c.enterprise]
    return [i for n, i in w["ent"].items() if (n == YCP) == (c.county == "K")]


def foreign_county(c: Caller, w) -> int | None:
    if c.role == "city_admin" or not c.signed_in:
        return None
    return w["county"]["Y" if c.county == "K" else "K"]


def _file(name="x.pdf", content=b"%PDF-1.4 x"):
    return {"data": {"file": (io.BytesIO(content), name)}, "content_type": "multipart/form-data"}


PROBE_VALUE = 1.0001  # a probe's reading: a value the demo's readings (two decimals) never take


def _readings(c: Caller, w, enterprise: int | None):
    body = {"readings": [_gas(PROBE_VALUE)]}
    if enterprise is not None:
        body["enterprise_id"] = enterprise
    return {"json": body}


# Every endpoint → the probes made for a caller in a world. Expectations are written out here, from what
# the platform promises, not derived from the code under test.
ADMIN = ("city_admin",)
STARTERS_ACCIDENT = ("inspector", "county_supervisor", "enterprise_admin")


def _all(url, api=False, method="GET", **kw):
    return lambda c, w: [Probe(method, url, OK, api, kw or None)]


def _admin_only(url, method="GET", expect_admin=OK, api=False, **kw):
    return lambda c, w: [Probe(method, url, expect_admin if c.role in ADMIN else DENY, api, kw or None)]


def _per(kind, url, method="GET", api=False, allowed=OK, **kw):
    """One probe per object of ``kind``: allowed where the caller sees the object, refused elsewhere."""
    return lambda c, w: [Probe(method, url.format(o=o), deny_unless(sees(c, o), allowed), api, kw or None)
                         for o in w[kind]]


def _lists(url):
    """A list: everything the caller may see, and nothing when filtered on another tenant's enterprise."""
    return lambda c, w: [Probe("GET", url, OK, True)] + [
        Probe("GET", url + ("&" if "?" in url else "?") + f"enterprise={e}", EMPTY, True)
        for e in foreign_enterprises(c, w)]


def _data_reporting(url):
    # Only an enterprise's own accounts report its data; every enterprise reports stations.
    return lambda c, w: [Probe("GET", url, OK if c.enterprise else DENY)]


def plays(c: Caller, task: Obj) -> bool:
    return c.enterprise is not None if task.extra == "enterprise" else c.role == task.extra


def assigner(c: Caller) -> bool:
    return c.role in ("city_admin", "county_supervisor")


def _task_probes(method, action, api=True, **kw):
    """Writes on a task: who may make them depends on the task's role, whether the caller hands out tasks,
    and whether someone else holds it; a task out of sight is not found."""
    ok = 302 if not api else 200

    def expected(c: Caller, t: Obj):
        if not sees(c, t):
            return DENY
        if action == "claim":
            return {200, 409} if plays(c, t) else {403, 409}  # 409: held by someone else anyway
        if action in ("unclaim", "follow-up"):
            return {ok} if assigner(c) else {ok, 403} if plays(c, t) else {403}
        if action == "assign":
            return {422} if assigner(c) else {403}
        if action == "complete":  # the empty form is refused, but only to those who may work the task
            return {422, 403, 409} if plays(c, t) else {403}
        raise AssertionError(action)

    return lambda c, w: [Probe(method, f"/tasks/{t.id}/{action}", expected(c, t), api, kw or None)
                         for t in w["tasks"]]


def _case_control(action, roles):
    """Control of running cases, with no reason: past the checks (422) for holders of the right in whose area
    the case is; refused for everyone else (enterprises do not see these actions at all)."""
    return lambda c, w: [Probe("POST", f"/cases/{o.id}/{action}",
                               deny_unless(sees(c, o) and c.role in roles, PASS), True, {"json": {}})
                         for o in w["cases"]]


def _case_control_page(c, w):
    # Without the ticked confirmation: re-shown with its message (422) to holders of the right, else refused.
    return [Probe("POST", f"/cases/{o.id}/control/{action}",
                  deny_unless(sees(c, o) and c.role in ("city_admin", "county_supervisor"), PASS), False, {"data": {}})
            for o in w["cases"] for action in ("suspend", "transfer")]


def _delegate_page(c, w):
    return [Probe("POST", f"/tasks/{t.id}/delegate", deny_unless(sees(c, t) and c.authority, PASS), False,
                  {"data": {}}) for t in w["tasks"]]


def _delegate(c, w):
    # No user named: 422 for an authority user whose task it is to work, else refused.
    return [Probe("POST", f"/tasks/{t.id}/delegate",
                  DENY if not sees(c, t) else {422, 403, 409} if plays(c, t) and c.authority else {403}, True,
                  {"json": {}}) for t in w["tasks"]]


def _records_page(c, w):
    return [Probe("GET", f"/data/station/{o.id}/{o.extra}", deny_unless(sees(c, o))) for o in w["records"]]


def _record_versions(c, w):
    return [Probe("GET", f"/data/station/{o.extra}?enterprise={o.id}", deny_unless(sees(c, o)), True)
            for o in w["records"]]


def _map_features(c, w):
    probes = [Probe("GET", "/map/features", OK, True)]
    county = foreign_county(c, w)
    if county is not None:
        probes.append(Probe("GET", f"/map/features?county={county}&layers=enterprises,cases,warnings", EMPTY, True))
    return probes


def _post_readings(c, w):
    # Another tenant's enterprise named in the body is refused as an unknown value of that field (422, as
    # everywhere a body names an id); test_access_matrix checks nothing reached it.
    if c.enterprise:
        return [Probe("POST", "/readings", OK, True, _readings(c, w, None))] + [
            Probe("POST", "/readings", BODY_REF, True, _readings(c, w, e)) for e in foreign_enterprises(c, w)]
    own = w["ent"][KQB if c.county in ("K", None) else YCP]
    return [Probe("POST", "/readings", OK, True, _readings(c, w, own))] + [
        Probe("POST", "/readings", BODY_REF, True, _readings(c, w, e)) for e in foreign_enterprises(c, w)]


def _submit_data(c, w):
    record = {"records": [{"external_id": f"ST-M-{c.name}", "name": "矩阵站", "station_type": "supply"}]}
    return [Probe("POST", "/data/station", OK if c.enterprise else DENY, True, {"json": record})]


def _create_case(c, w):
    # Refused before the form is read when the role may not start it; otherwise the empty form is refused.
    return [Probe("POST", "/cases", PASS if c.role in STARTERS_ACCIDENT else DENY, True,
                  {"json": {"process": "accident", "data": {}}})]


def _new_case_page(c, w):
    # Not a starter: sent back to the case list with a message.
    return [Probe("GET", "/cases/new/accident", OK if c.role in STARTERS_ACCIDENT else REDIRECT)]


def _revoke_key(c, w):
    # kq_bottled_staff's own key: its owner or the city admin revoke it; for anyone else it does not exist.
    return [Probe("POST", f"/api-keys/{w['staff_key']}/revoke",
                  OK if c.name in ("kq_bottled_staff", "admin") else DENY)]


def _map_page(c, w):
    return [Probe("GET", "/map", OK if c.authority else DENY)]


# ---- sign-in steps, passwords, audit, information, training, reports ---------------------------------------
EDITORS = ("city_admin", "county_supervisor")  # info.publish by default


def _sign_in_step(url):
    # A step of signing in, open to anyone: without a password just proved it sends back to the sign-in page.
    return lambda c, w: [Probe("GET", url, REDIRECT)]


def _reset_password(c, w):
    # The city admin resets anyone's; a county supervisor his county's inspectors and enterprise accounts.
    return [Probe("GET", f"/admin/users/{w['staff_id']}/reset-password",
                  deny_unless(c.role in ADMIN or c.role == "county_supervisor" and c.county == "K")),
            Probe("GET", f"/admin/users/{w['yc_staff_id']}/reset-password", deny_unless(c.role in ADMIN))]


def _audit_rules(c, w):
    return [Probe("GET", "/admin/audit/rules", deny_unless(c.role in ADMIN)),
            Probe("POST", "/admin/audit/rules", deny_unless(c.role in ADMIN, PASS), kw={"data": {}})]


def edits(c: Caller, o: Obj) -> bool:
    """Information editors: the city admin everywhere, a county supervisor in his county."""
    return c.role == "city_admin" or (c.role == "county_supervisor" and o.county == c.county)


def _info_detail(c, w):
    pub = w["info_published"]
    return [Probe("GET", f"/info/{pub.id}", PUBLIC)] + (
        [Probe("GET", f"/info/{d.id}", DENY) for d in w["info_drafts"]] if c.signed_in else [])


def _info_download(c, w):
    pub = w["info_published"]
    # Another item's file is not found through the published one, for anyone.
    return [Probe("GET", f"/info/{pub.id}/files/{pub.extra}", PUBLIC)] + (
        [Probe("GET", f"/info/{pub.id}/files/{d.extra}", DENY) for d in w["info_drafts"]] if c.signed_in else [])


def _info_editor(url, method="GET", allowed=OK, **kw):
    return lambda c, w: [Probe(method, url, deny_unless(c.role in EDITORS, allowed), kw=kw or None)]


def _info_item(url, method="GET", allowed=OK, **kw):
    return lambda c, w: [Probe(method, url.format(o=o), deny_unless(edits(c, o), allowed), kw=kw or None)
                         for o in w["info_drafts"]]


def _enterprise_only(url, method="GET", allowed=OK, **kw):
    return lambda c, w: [Probe(method, url, deny_unless(c.enterprise is not None, allowed), kw=kw or None)]


def _enterprise_admin(url, method="GET", allowed=OK, **kw):
    return lambda c, w: [Probe(method, url, deny_unless(c.role == "enterprise_admin", allowed), kw=kw or None)]


def _authority_only(url, api=False):
    return lambda c, w: [Probe("GET", url, deny_unless(c.authority), api)]


def _report_json(url):
    # Filtered on another tenant's enterprise: refused as an unknown value of the filter (400), no data.
    return lambda c, w: [Probe("GET", url, deny_unless(c.authority))] + [
        Probe("GET", url + ("&" if "?" in url else "?") + f"enterprise={e}", {400} if c.authority else DENY)
        for e in foreign_enterprises(c, w)]


KEEPERS = ("city_admin", "county_supervisor")  # enterprises.manage by default


def keeps(c: Caller, o: Obj) -> bool:
    """The register: the city admin everywhere, a county supervisor in his county."""
    return c.role == "city_admin" or (c.role == "county_supervisor" and o.county == c.county)


def _register(url, method="GET", allowed=OK, api=False, **kw):
    return lambda c, w: [Probe(method, url.format(o=o), deny_unless(keeps(c, o), allowed), api, kw or None)
                         for o in w["homes"]]


def _keepers(url, method="GET", allowed=OK, api=False, **kw):
    return lambda c, w: [Probe(method, url, deny_unless(c.role in KEEPERS, allowed), api, kw or None)]


def _staff_of(c, w):
    # Another enterprise's account, and an account of the caller's own that is not staff: not found.
    return [Probe("POST", f"/enterprise/staff/{w['yc_staff_id']}/active",
                  {404} if c.role == "enterprise_admin" else DENY, kw={"data": {"active": "0"}})]


EXPECT = {
    # registers (issue 15)
    "register.index": _keepers("/enterprises"),
    "register.new": _keepers("/enterprises/new"),
    "register.import_template": _keepers("/enterprises/template.xlsx"),
    "register.excel_import": _keepers("/enterprises/import"),
    "register.detail": _register("/enterprises/{o.id}"),
    "register.set_active": _register("/enterprises/{o.id}/active", "POST", PASS, data={"active": "x"}),
    "register.regions": _admin_only("/regions"),
    "register_api.list_enterprises": _all("/enterprises", api=True),
    "register_api.get_enterprise": _per("homes", "/enterprises/{o.id}", api=True),
    "register_api.create_enterprise": _keepers("/enterprises", "POST", PASS, api=True, json={}),
    "register_api.patch_enterprise": _register("/enterprises/{o.id}", "PATCH", PASS, api=True,
                                               json={"lon": 999}),
    "staff.index": _enterprise_admin("/enterprise/staff"),
    "staff.create": _enterprise_admin("/enterprise/staff", "POST", PASS, data={}),
    "staff.set_active": _staff_of,
    "certificates.index": _all("/certificates"),
    "certificates.export": _all("/certificates/export.xlsx"),
    "certificates.detail": lambda c, w: [Probe("GET", "/certificates/999999", DENY)],
    "certificates.revoke": lambda c, w: [Probe("POST", "/certificates/999999/revoke", DENY, kw={"data": {}})],
    "register_api.list_certificates": _all("/certificates", api=True),
    # notification channels
    "notification_channels.choices": _all("/account/notifications"),
    "channels_admin.index": _admin_only("/admin/channels"),
    "channels_admin.add_robot": _admin_only("/admin/channels/robots", "POST", PASS, data={}),
    "channels_admin.switch_robot": _admin_only("/admin/channels/robots/999999/active", "POST", {404},
                                               data={"active": "y"}),
    "channels_admin.retry": _admin_only("/admin/channels/send-again", "POST", data={}),
    # public
    "static": lambda c, w: [Probe("GET", "/static/css/app.css", PUBLIC)],
    "auth.login": lambda c, w: [Probe("GET", "/login", PUBLIC)],
    "auth.set_locale": lambda c, w: [Probe("GET", "/locale/en", PUBLIC)],
    "auth.logout": lambda c, w: [],  # signs the caller out: checked last, in test_access_matrix
    "health.healthz": lambda c, w: [Probe("GET", "/healthz", PUBLIC)],
    "health.readyz": lambda c, w: [Probe("GET", "/readyz", PUBLIC)],
    "metrics": lambda c, w: [Probe("GET", "/metrics", PUBLIC)],
    # pages every signed-in user has
    "queue.index": _all("/"),
    "cases.index": _all("/cases"),
    "notifications.index": _all("/notifications"),
    "notifications.read": _all("/notifications/read", method="POST", data={"all": "1"}),
    "data_pages.index": _all("/data"),
    "data_pages.records": _all("/data/station"),
    "data_pages.template": _all("/data/station/template.xlsx"),
    "warnings.index": _all("/warnings/"),
    "api_keys.index": _all("/api-keys"),
    "api_keys.create": lambda c, w: [Probe("POST", "/api-keys", PASS, kw={"data": {"name": "", "days": "30"}})],
    "api_keys.revoke": _revoke_key,
    "cases.new": _new_case_page,
    "data_pages.new": _data_reporting("/data/station/new"),
    "data_pages.excel_import": _data_reporting("/data/station/import"),
    "data_pages.record": _records_page,
    "map_pages.index": _map_page,
    "map_pages.boundaries": lambda c, w: [Probe("GET", "/map/shaoxing.geojson", PUBLIC)],  # a map's base layer
    # pages on one object
    "cases.detail": _per("cases", "/cases/{o.id}"),
    "cases.diagram": _per("cases", "/cases/{o.id}/diagram.bpmn"),
    "cases.comment": _per("cases", "/cases/{o.id}/comments", "POST", data={"text": "矩阵"}),
    "cases.attachment": _per("attachments", "/attachments/{o.id}"),
    "queue.task": _per("tasks", "/tasks/{o.id}"),
    "queue.act": _task_probes("POST", "unclaim", api=False),
    "queue.follow_up": _per("tasks", "/tasks/{o.id}/follow-up", "POST", allowed=PASS, data={"action": "clear"}),
    # Drafts are kept for checklists only: the world's tasks refuse them whoever asks (404), and a task out of
    # sight is not found; who may keep a checklist's draft is tested in test_field_work.py.
    "drafts.show": _per("tasks", "/tasks/{o.id}/draft", allowed=DENY),
    "drafts.save": _per("tasks", "/tasks/{o.id}/draft", "PUT", allowed=DENY),
    "drafts.discard": _per("tasks", "/tasks/{o.id}/draft", "DELETE", allowed=DENY),
    # the city admin's pages
    "admin.index": _admin_only("/admin/models"),
    "working_calendar.index": _admin_only("/admin/calendar"),
    "working_calendar.delete": _admin_only("/admin/calendar/1/delete", "POST", PASS),
    "working_calendar.entered": _admin_only("/admin/calendar/entered", "POST", PASS, data={"year": "2099"}),
    "working_calendar.withdraw": _admin_only("/admin/calendar/entered/2099/withdraw", "POST", PASS),
    "admin.upload": _admin_only("/admin/models/upload", "POST", PASS),
    "admin.process": _admin_only("/admin/models/processes/rectification/1"),
    "admin.process_xml": _admin_only("/admin/models/processes/rectification/1/diagram.bpmn"),
    "admin.decision": _admin_only("/admin/models/decisions/penalty_approval"),
    "admin.decision_xml": _admin_only("/admin/models/decisions/penalty_approval/1/table.dmn"),
    "checklist_templates.index": _admin_only("/admin/templates"),
    "checklist_templates.kind_page": _admin_only("/admin/templates/lpg_station"),
    "checklist_templates.download": _admin_only("/admin/templates/lpg_station/1/checklist.xlsx"),
    "checklist_templates.upload": _admin_only("/admin/templates/upload", "POST", PASS),
    "warnings.rules": lambda c, w: [Probe("GET", "/warnings/rules", deny_unless(c.role in ADMIN))],
    "users_admin.index": _admin_only("/admin/users"),
    "users_admin.all_keys": _admin_only("/admin/users/api-keys"),
    "users_admin.new": _admin_only("/admin/users/new"),
    "users_admin.detail": lambda c, w: [Probe("GET", f"/admin/users/{w['staff_id']}", deny_unless(c.role in ADMIN))],
    "users_admin.save_rights": lambda c, w: [Probe("POST", f"/admin/users/{w['staff_id']}/rights",
                                                   deny_unless(c.role in ADMIN, PASS), kw={"data": {}})],
    "users_admin.set_active": lambda c, w: [Probe("POST", f"/admin/users/{w['staff_id']}/active",
                                                  deny_unless(c.role in ADMIN, PASS), kw={"data": {"active": "x"}})],
    # API: what every signed-in caller reads
    "api.list_processes": _all("/processes", True),
    "api.process_versions": _all("/processes/rectification/versions", True),
    "api.process_bpmn": _all("/processes/rectification/bpmn", True),
    "api.list_decisions": _all("/decisions", True),
    "api.get_decision": _all("/decisions/penalty_approval", True),
    "api.decision_dmn": _all("/decisions/penalty_approval/dmn", True),
    "api.list_notifications": _all("/notifications", True),
    "api.read_notifications": _all("/notifications/read", True, "POST", json={"all": True}),
    "api.openapi": _all("/openapi.json", True),
    "api.list_checklist_templates": _all("/checklist-templates", True),
    "api.get_checklist_template": _all("/checklist-templates/lpg_station", True),
    "api.list_cases": _lists("/cases"),
    "api.list_tasks": _lists("/tasks?scope=all"),
    "data_api.kinds": _all("/data", True),
    "data_api.list_records": _lists("/data/station?status=all"),
    "monitoring_api.get_readings": _lists("/readings"),
    "monitoring_api.get_warnings": _lists("/warnings?status=open"),
    "monitoring_api.get_threshold_rules": _all("/threshold-rules", True),
    "map_api.map_features": _map_features,
    "map_api.map_nearby": _all("/map/nearby?lon=120.5&lat=30.05", True),
    # API: writes anyone signed in may make, within his own scope
    "api.create_case": _create_case,
    "api.upload_attachment": lambda c, w: [Probe("POST", "/attachments", OK, True, _file())],
    "monitoring_api.post_readings": _post_readings,
    "data_api.submit": _submit_data,
    # API: one object
    "api.get_case": _per("cases", "/cases/{o.id}", api=True),
    "map_api.case_nearby": _per("cases", "/cases/{o.id}/nearby", api=True),
    "api.add_comment": _per("cases", "/cases/{o.id}/comments", "POST", True, json={"text": "矩阵"}),
    "api.get_task": _per("tasks", "/tasks/{o.id}", api=True),
    "api.claim": _task_probes("POST", "claim"),
    "api.unclaim": _task_probes("POST", "unclaim"),
    "api.assign": _task_probes("POST", "assign", json={"user": "nobody"}),
    "api.follow_up": _task_probes("PUT", "follow-up", json={"follow_up_at": None}),
    "api.complete": _task_probes("POST", "complete", json={"data": {}}),
    "api.download_attachment": _per("attachments", "/attachments/{o.id}", api=True),
    # API: control of running cases (cases.control, cases.transfer: supervisors; cases.migrate: the city)
    "api.cancel_case": _case_control("cancel", ("city_admin", "county_supervisor")),
    "api.suspend_case": _case_control("suspend", ("city_admin", "county_supervisor")),
    "api.resume_case": _case_control("resume", ("city_admin", "county_supervisor")),
    "api.transfer_case": _case_control("transfer", ("city_admin", "county_supervisor")),
    "api.migrate_case": _case_control("migrate", ("city_admin",)),
    "api.migration_preview": _admin_only("/processes/rectification/migration", api=True),
    "api.delegate_task": _delegate,
    "case_control.act": _case_control_page,
    "case_control.delegate": _delegate_page,
    "case_control.migration": _admin_only("/admin/models/processes/rectification/migration"),
    "case_control.migrate": _admin_only("/admin/models/processes/rectification/migration", "POST", PASS, data={}),
    "data_api.record_versions": _record_versions,
    # API: the city admin's
    "api.upload_process": _admin_only("/processes", "POST", PASS, True, data=b"<not-bpmn/>",
                                      content_type="application/octet-stream"),
    "api.upload_decision": _admin_only("/decisions", "POST", PASS, True, data=b"<not-dmn/>",
                                       content_type="application/octet-stream"),
    "api.upload_checklist_template": _admin_only("/checklist-templates/lpg_station", "POST", PASS, True, json={}),
    "monitoring_api.put_threshold_rules": _admin_only("/threshold-rules", "PUT", PASS, True, json={"rules": "x"}),
    # signing in and passwords
    "auth.second_factor": _sign_in_step("/login/code"),
    "auth.enrol": _sign_in_step("/login/enrol"),
    "account.change_password": _all("/account/password"),
    "account.sessions": _all("/account/sessions"),
    # Without the ticked confirmation nothing is signed out (422): past the access checks, for everyone.
    "account.sign_out_others": lambda c, w: [Probe("POST", "/account/sessions/others", PASS)],
    "account.resettable": lambda c, w: [Probe("GET", "/admin/users/reset-password",
                                              deny_unless(c.role in ("city_admin", "county_supervisor")))],
    "account.reset_password": _reset_password,
    # the audit trail: the city admin's (audit.view)
    "audit.index": _admin_only("/admin/audit"),
    "audit.export": _admin_only("/admin/audit/export.xlsx"),
    "audit.rules": _audit_rules,
    # industry information: public pages, and the editors' (info.publish) within their county
    "info.index": lambda c, w: [Probe("GET", "/info/", PUBLIC)],
    "info.detail": _info_detail,
    "info.download": _info_download,
    "info.manage": _info_editor("/info/manage/"),
    "info.new": lambda c, w: _info_editor("/info/manage/new")(c, w) + _info_editor(
        "/info/manage/new", "POST", PASS, data={})(c, w),
    "info.preview": _info_item("/info/manage/{o.id}"),
    "info.edit": lambda c, w: _info_item("/info/manage/{o.id}/edit")(c, w) + _info_item(
        "/info/manage/{o.id}/edit", "POST", PASS, data={})(c, w),
    # withdrawing a draft: past the checks, refused as a conflict (409), nothing changes
    "info.act": _info_item("/info/manage/{o.id}/withdraw", "POST", PASS),
    "info.editor_download": lambda c, w: [Probe("GET", f"/info/manage/{o.id}/files/{o.extra}",
                                                deny_unless(edits(c, o))) for o in w["info_drafts"]],
    # training and publicity: recorded by enterprises, read within scope, statistics for the authority
    "training.index": _all("/training/"),
    "training.publicity": _all("/training/publicity"),
    "training.new_session": lambda c, w: _enterprise_only("/training/sessions/new")(c, w) + _enterprise_only(
        "/training/sessions/new", "POST", PASS, data={})(c, w),
    "training.new_publicity": lambda c, w: _enterprise_only("/training/publicity/new")(c, w) + _enterprise_only(
        "/training/publicity/new", "POST", PASS, data={})(c, w),
    "training.session": _per("training_sessions", "/training/sessions/{o.id}"),
    "training.activity": _per("publicity", "/training/publicity/{o.id}"),
    "training.stats": _authority_only("/training/stats"),
    "training.stats_export": _authority_only("/training/stats/export.xlsx"),
    "training.export": _all("/training/export.xlsx"),
    # the lists as Excel, each over the caller's own scope
    "cases.export": _all("/cases/export.xlsx"),
    "warnings.export": _all("/warnings/export.xlsx"),
    "warnings.detail": _per("warnings", "/warnings/{o.id}"),
    # enterprise homes: one's own, or those of the authority's area
    "enterprise_home.index": _all("/enterprise/"),
    "enterprise_home.home": _per("homes", "/enterprise/{o.id}"),
    # reports (reports.view, reports.export): the authority's, over its area
    "portal.index": _authority_only("/portal/"),
    "portal.data": _authority_only("/portal/dashboard.json"),
    "portal.export": _authority_only("/portal/dashboard.xlsx"),
    "statistics.volumes": _authority_only("/statistics/volumes"),
    "statistics.volumes_json": _report_json("/statistics/volumes.json?period=month"),
    "statistics.volumes_export": _authority_only("/statistics/volumes.xlsx"),
    "ledger.index": _authority_only("/ledger/inspections"),
    "ledger.page_json": _report_json("/ledger/rectifications/data.json"),
    "ledger.export": _authority_only("/ledger/penalties/export.xlsx"),
    # supervision measures (issue 15 item 4): the authority's page over its area; the API over the caller's area;
    # grades published by the city admin only (here: no drafts, so 404 past the check)
    "measures.index": _authority_only("/portal/measures"),
    "measures.export": _authority_only("/portal/measures/export.xlsx"),
    "measures.publish": _admin_only("/portal/measures/grades/2035-Q1/publish", "POST", {404}),
    "measures.draft": _admin_only("/portal/measures/grades/2035-Q1/draft", "POST", {302}),
    "measures_api.indicators": _all("/indicators", api=True),
    "measures_api.scores": _all("/scores", api=True),
    # cylinder trace (issue 15 item 5): the demo's cylinder of the Keqiao bottled company, seen like its data;
    # its label answers anyone (the full trace to those who see it, the validity alone to everyone else)
    "cylinders.index": _all("/cylinders"),
    "cylinders.labels": _all("/cylinder-labels"),
    "cylinders.trace": lambda c, w: [Probe("GET", "/cylinders/SX-LPG-0001",
                                           deny_unless(sees(c, Obj(w["ent"][KQB], "K", KQB))))],
    "cylinder_api.cylinder_trace_of": lambda c, w: [Probe("GET", "/cylinders/SX-LPG-0001/trace",
                                                          deny_unless(sees(c, Obj(w["ent"][KQB], "K", KQB))), True)],
    "cylinder_scan.scan": lambda c, w: [Probe("GET", w["cylinder_label"], PUBLIC)],
    # files of data records (issue 15 item 3): seen like the record; added by the record's own enterprise only
    # (here without a file kind: past the checks, 422)
    "data_api.record_files": lambda c, w: [Probe("GET", f"/data/station/{o.extra}/files", deny_unless(sees(c, o)),
                                                 True) for o in w["record_ids"]],
    "data_api.add_record_files": lambda c, w: [
        Probe("POST", f"/data/station/{o.extra}/files", deny_unless(c.enterprise is not None and sees(c, o), PASS),
              True, {"data": {}}) for o in w["record_ids"]],
    "data_catalogue.index": _all("/data-catalogue"),
    # readings (issue 15 item 5): a sensor's series and its site, seen like the readings
    "monitoring_api.get_series": lambda c, w: [
        Probe("GET", f"/readings/series?enterprise={o.id}&site=SITE-1&sensor=GAS-1&quantity=gas_concentration"
                     "&window=24h", deny_unless(sees(c, o)), True) for o in w["records"]],
    "readings.index": _all("/monitoring/readings"),
    "readings.site": lambda c, w: [Probe("GET", f"/monitoring/site?enterprise={o.id}&site=SITE-1",
                                         deny_unless(sees(c, o))) for o in w["records"]],
}


def test_every_endpoint_is_classified(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules()}
    unclassified = sorted(endpoints - set(EXPECT))
    assert not unclassified, f"classify these endpoints in EXPECT: {unclassified}"
    assert not sorted(set(EXPECT) - endpoints), "EXPECT names endpoints that no longer exist"


def test_every_api_endpoint_declares_its_scope(app):
    from workflows.permissions import SCOPES

    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            declared = getattr(app.view_functions[rule.endpoint], "api_scope", None)
            assert declared and set(declared) <= set(SCOPES), rule.endpoint


# ---- the calls ------------------------------------------------------------------------------------------
class Session:
    def __init__(self, app, caller: Caller):
        from web.demo.seed import DEMO_PASSWORD

        self.client = app.test_client()
        self.caller = caller
        self.csrf = csrf_of(self.client.get("/login").data)
        self.headers = {}
        if caller.signed_in:  # the password, and the authority's second factor
            resp = sign_in_form(self.client, caller.name, DEMO_PASSWORD)
            assert resp.status_code == 302 and "/login" not in resp.headers["Location"], resp.data[:300]
            self.csrf = csrf_of(self.client.get("/api-keys").data)
            self.headers = _token(app, caller.name)
        self.api = app.test_client()  # bearer calls carry no session

    def call(self, p: Probe):
        kw = dict(p.kw or {})
        if p.api:
            return self.api.open("/api/v1" + p.url, method=p.method, headers=self.headers, **kw)
        if p.method != "GET":
            kw["data"] = {**kw.get("data", {}), "csrf_token": self.csrf}
        return self.client.open(p.url, method=p.method, **kw)


def judge(c: Caller, p: Probe, resp) -> str | None:
    """What is wrong with ``resp`` for probe ``p`` by caller ``c``, or None."""
    status = resp.status_code
    if p.expect == PUBLIC:  # /readyz says 503 when Redis has no worker heartbeat: not ready, not broken
        fine = status in (200, 302) or (p.url == "/readyz" and status == 503)
        return None if fine else f"public endpoint answered {status}"
    if status >= 500:
        return f"server error {status}"
    if not c.signed_in:
        if p.api:
            return None if status == 401 else f"anonymous API call got {status}"
        login = status == 302 and "/login" in resp.headers.get("Location", "")
        return None if login else f"anonymous page call got {status} {resp.headers.get('Location')}"
    if isinstance(p.expect, set):
        return None if status in p.expect else f"expected {sorted(p.expect)}, got {status}: {resp.data[:200]!r}"
    if p.expect == DENY:
        return None if status in (403, 404) else f"expected 403/404, got {status}"
    if p.expect == OK:
        return None if 200 <= status < 400 else f"expected success, got {status}: {resp.data[:200]!r}"
    if p.expect == REDIRECT:
        return None if status in (302, 303) else f"expected a redirect, got {status}"
    if p.expect == PASS:
        return None if status not in (401, 403, 404) else f"refused ({status}) inside scope and rights: " \
                                                          f"{resp.data[:200]!r}"
    if p.expect == EMPTY:
        if status != 200:
            return f"expected an empty 200, got {status}"
        body = resp.json
        items = body.get("items", body.get("features"))
        return None if items == [] else f"another tenant's data: {str(items)[:200]}"
    raise AssertionError(p.expect)


@pytest.mark.parametrize("caller", CALLERS, ids=lambda c: c.name or "anonymous")
def test_access_matrix(app, demo_cases, caller):
    from web.common.security import new_token
    from web.extensions import db

    world = build_world(app)
    with app.app_context():
        staff = db.session.get(User, world["staff_id"])
        new_token(db.session, staff, "to revoke")
        db.session.commit()
        from models import ApiToken

        world["staff_key"] = db.session.scalar(select(ApiToken.id).where(ApiToken.name == "to revoke"))
    session = Session(app, caller)
    problems, calls = [], 0
    reads = [(e, p) for e, f in sorted(EXPECT.items()) for p in f(caller, world) if p.method == "GET"]
    writes = [(e, p) for e, f in sorted(EXPECT.items()) for p in f(caller, world) if p.method != "GET"]
    for endpoint, probe in reads + writes:  # reads first: the writes change what there is to read
        resp = session.call(probe)
        calls += 1
        wrong = judge(caller, probe, resp)
        if wrong:
            problems.append(f"{endpoint} {probe.method} {probe.url}: {wrong}")
    assert not problems, "\n".join(problems)
    assert calls > 100
    with app.app_context():
        from models import Reading

        # The probes' readings reached the caller's own enterprises only.
        reached = set(db.session.scalars(select(Reading.enterprise_id).where(Reading.value == PROBE_VALUE)))
        assert not reached & set(foreign_enterprises(caller, world))
    if caller.signed_in:  # and last: signing out ends the session
        resp = session.client.post("/logout", data={"csrf_token": session.csrf})
        assert resp.status_code == 302 and session.client.get("/").status_code == 302
