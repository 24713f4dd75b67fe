"""The task queues as tasklist users expect them: filters, search, sorting, pages, counts,
follow-up dates and overdue marks, over the API and on the pages."""
from datetime import UTC, datetime, timedelta

import pytest
from conftest import csrf_of, enterprise_id, future
from flows import open_order
from sqlalchemy import select, update

from models import Region, Task
from web.extensions import db

BOTTLED, PIPELINE, VEHICLE = "柯桥区瓶装液化气供应有限公司", "柯桥天然气有限公司", "柯桥汽车加气站"



def task_of(app, case_id) -> int:
    with app.app_context():
        return db.session.scalar(select(Task.id).where(Task.case_id == case_id, Task.status == "open"))


def set_task(app, task_id, **values):
    with app.app_context():
        db.session.execute(update(Task).where(Task.id == task_id).values(**values))
        db.session.commit()


def county_id(app, code):
    with app.app_context():
        return db.session.scalar(select(Region.id).where(Region.code == code))


def ids(resp):
    assert resp.status_code == 200, resp.json
    return [t["case_id"] for t in resp.json["items"]]


@pytest.fixture
def orders(app, api):
    """Four orders in Keqiao (three enterprises, due dates apart) and one in Yuecheng."""
    made = {
        "bottled": open_order(api, app, BOTTLED, hours=12, hazard_class="I", hazard="钢瓶检验过期"),
        "pipeline": open_order(api, app, PIPELINE, hours=24 * 8, hazard_class="III", hazard="钢瓶检验过期"),
        "vehicle": open_order(api, app, VEHICLE, hours=20, hazard_class="I", hazard="钢瓶检验过期"),
        "late": open_order(api, app, BOTTLED, hours=48, hazard_class="II", hazard="钢瓶检验过期"),
        "yuecheng": open_order(api, app, "越城燃气有限公司", hours=30, inspector="yuecheng_inspector",
                               hazard="钢瓶检验过期"),
    }
    now = datetime.now(UTC)
    set_task(app, task_of(app, made["late"]["id"]), due_at=now - timedelta(hours=5))
    return {k: v["id"] for k, v in made.items()}


def test_filters_by_process_enterprise_county_and_due(app, api, orders):
    admin, inspector = api("admin"), api("keqiao_inspector")
    everything = admin.get("/tasks?scope=all")
    assert everything.json["total"] == 5 and everything.json["per_page"] == 50
    assert set(ids(admin.get("/tasks?scope=all&process=rectification"))) == set(orders.values())

    bottled = enterprise_id(app, BOTTLED)
    assert set(ids(admin.get(f"/tasks?scope=all&enterprise={bottled}"))) == {orders["bottled"], orders["late"]}
    keqiao, yuecheng = county_id(app, "330603"), county_id(app, "330602")
    assert ids(admin.get(f"/tasks?scope=all&county={yuecheng}")) == [orders["yuecheng"]]
    assert len(ids(admin.get(f"/tasks?scope=all&county={keqiao}"))) == 4
    # Others stay inside their scope whatever county they ask for.
    assert ids(inspector.get(f"/tasks?scope=all&county={yuecheng}")) == []

    assert ids(inspector.get("/tasks?scope=all&due=overdue")) == [orders["late"]]
    assert ids(inspector.get("/tasks?scope=all&overdue=1")) == [orders["late"]]  # the older spelling
    assert set(ids(inspector.get("/tasks?scope=all&due=soon"))) == {orders["bottled"], orders["vehicle"]}
    set_task(app, task_of(app, orders["vehicle"]), due_at=None)
    assert ids(inspector.get("/tasks?scope=all&due=none")) == [orders["vehicle"]]
    late = next(t for t in inspector.get("/tasks?scope=all").json["items"] if t["case_id"] == orders["late"])
    assert late["overdue"] is True


def test_search_is_case_insensitive_and_literal(app, api, orders):
    inspector = api("keqiao_inspector")
    assert set(ids(inspector.get("/tasks?scope=all&q=天然气"))) == {orders["pipeline"]}  # enterprise name
    # Case titles end with the hazard class: "ii" finds classes II and III, not I, whatever the case.
    assert set(ids(inspector.get("/tasks?scope=all&q=ii"))) == {orders["pipeline"], orders["late"]}
    assert len(ids(inspector.get("/tasks?scope=all&q=整改反馈"))) == 4  # task title
    assert ids(inspector.get("/tasks?scope=all&q=%25")) == []  # a % is a character, not a wildcard
    assert ids(inspector.get("/tasks?scope=all&q=_")) == []
    assert ids(inspector.get("/tasks?scope=all&q=' OR 1=1 --")) == []
    assert ids(inspector.get(f"/tasks?scope=all&q={orders['vehicle']}")) == [orders["vehicle"]]  # case number


def test_sorting_and_pages(app, api, orders):
    inspector = api("keqiao_inspector")
    by_priority = ids(inspector.get("/tasks?scope=all"))
    assert by_priority == [orders["late"], orders["bottled"], orders["vehicle"], orders["pipeline"]]
    assert ids(inspector.get("/tasks?scope=all&sort=-due")) == by_priority[::-1]
    assert ids(inspector.get("/tasks?scope=all&sort=created")) == sorted(by_priority)
    assert ids(inspector.get("/tasks?scope=all&sort=-created")) == sorted(by_priority, reverse=True)

    supervisor = api("keqiao_supervisor")
    soon = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert supervisor.client.put(f"/api/v1/tasks/{task_of(app, orders['pipeline'])}/follow-up",
                                 json={"follow_up_at": soon}, headers=supervisor.headers).status_code == 200
    assert ids(inspector.get("/tasks?scope=all&sort=follow_up"))[0] == orders["pipeline"]

    first = inspector.get("/tasks?scope=all&per_page=3")
    second = inspector.get("/tasks?scope=all&per_page=3&page=2")
    assert first.json["total"] == second.json["total"] == 4
    assert ids(first) + ids(second) == by_priority and second.json["page"] == 2
    assert ids(inspector.get("/tasks?scope=all&page=9")) == []


def test_counts_per_queue(app, api, orders):
    counts = api("keqiao_inspector").get("/tasks?scope=mine").json["counts"]
    assert counts == {"mine": 0, "group": 0, "all": 4, "overdue": 1, "delegated": 0}
    staff = api("kq_bottled_staff").get("/tasks?due=overdue").json
    assert staff["counts"] == {"mine": 0, "group": 2, "all": 2, "overdue": 1, "delegated": 0} and staff["total"] == 1


@pytest.mark.parametrize("query, param", [
    ("scope=everything", "scope"), ("due=later", "due"), ("follow_up=soon", "follow_up"),
    ("sort=random", "sort"), ("enterprise=abc", "enterprise"), ("county=-1", "county"),
    ("page=0", "page"), ("page=x", "page"), ("per_page=500", "per_page"), ("process=nope", "process"),
    ("q=" + "x" * 101, "q"), ("status=done", "status"), ("enterprise=99999999999999", "enterprise"),
])
def test_bad_filters_are_400_naming_the_parameter(app, api, query, param):
    resp = api("keqiao_inspector").get(f"/tasks?{query}")
    assert resp.status_code == 400, resp.data
    assert list(resp.json["error"]["fields"]) == [param] and resp.json["error"]["message"]


def test_follow_up_over_the_api(app, api, orders):
    staff, other, supervisor = api("kq_bottled_staff"), api("kq_bottled_admin"), api("keqiao_supervisor")
    task_id = task_of(app, orders["bottled"])

    def put(caller, payload, tid=task_id):
        return caller.client.put(f"/api/v1/tasks/{tid}/follow-up", json=payload, headers=caller.headers)

    assert put(staff, {"follow_up_at": future(2)}).status_code == 403  # not claimed yet
    assert staff.post(f"/tasks/{task_id}/claim").status_code == 200
    assert put(other, {"follow_up_at": future(2)}).status_code == 403
    when = datetime.now(UTC) + timedelta(hours=2)
    resp = put(staff, {"follow_up_at": when.isoformat()})
    assert resp.status_code == 200
    assert abs(datetime.fromisoformat(resp.json["follow_up_at"]) - when) < timedelta(seconds=1)
    assert resp.json["follow_up_reached"] is False
    assert ids(staff.get("/tasks?scope=mine&follow_up=pending")) == [orders["bottled"]]
    assert ids(staff.get("/tasks?scope=mine&follow_up=reached")) == []

    past = put(supervisor, {"follow_up_at": "2020-01-01T09:00"})  # no offset: Shanghai time
    assert past.status_code == 200 and past.json["follow_up_at"] == "2020-01-01T01:00:00+00:00"
    assert past.json["follow_up_reached"] is True
    assert ids(staff.get("/tasks?scope=mine&follow_up=reached")) == [orders["bottled"]]

    for bad in ({"follow_up_at": "tomorrow"}, {"follow_up_at": 5}, {"follow_up_at": ""}, {}):
        resp = put(staff, bad)
        assert resp.status_code == 422 and "follow_up_at" in resp.json["error"]["fields"], bad
    cleared = put(staff, {"follow_up_at": None})
    assert cleared.status_code == 200 and cleared.json["follow_up_at"] is None
    assert put(api("yc_pipeline_staff"), {"follow_up_at": None}).status_code == 404
    assert put(staff, {"follow_up_at": None}, tid=999999).status_code == 404

    history = supervisor.get(f"/cases/{orders['bottled']}").json["history"]
    assert [h["detail"]["follow_up_at"] for h in history if h["event"] == "follow_up_set"][-1] is None

    staff.post(f"/tasks/{task_id}/complete", {"data": {"response": "已更换"}})
    assert put(supervisor, {"follow_up_at": None}).status_code == 409


def test_queue_page_filters_marks_and_pages(app, api, browser, orders):
    supervisor = api("keqiao_supervisor")
    reached = task_of(app, orders["pipeline"])
    supervisor.client.put(f"/api/v1/tasks/{reached}/follow-up", json={"follow_up_at": "2020-01-01T00:00:00Z"},
                          headers=supervisor.headers)
    inspector = browser("keqiao_inspector")
    page = inspector.client.get("/?scope=all")
    html = page.data.decode()
    assert page.status_code == 200 and html.count('data-task="') == 4
    late = task_of(app, orders["late"])
    assert f'data-task="{late}" class="row-overdue' in html
    assert f'data-task="{reached}" class=" row-follow-up' in html
    assert 'id="count-overdue">1<' in html
    assert 'name="county"' not in html  # only the city admin picks counties

    found = inspector.client.get("/?scope=all&q=天然气&due=").data.decode()
    assert found.count('data-task="') == 1 and f'data-task="{reached}"' in found
    assert inspector.client.get("/?scope=all&due=overdue").data.decode().count('data-task="') == 1
    assert inspector.client.get("/?scope=all&overdue=1").data.decode().count('data-task="') == 1

    bad = inspector.client.get("/?scope=all&due=someday")
    assert bad.status_code == 400 and b'id="filter-error" data-param="due"' in bad.data
    assert inspector.client.get("/?sort=x").status_code == 400
    for page_number in ("x", "0", "9" * 20):  # page numbers stay lenient on the page
        assert inspector.client.get(f"/?page={page_number}").status_code == 200

    admin = browser("admin").client.get("/?scope=all").data.decode()
    assert 'name="county"' in admin and admin.count('data-task="') == 5


def test_queue_page_paginates_by_fifty(app, api, browser):
    open_order(api, app, hazard="钢瓶检验过期")
    with app.app_context():
        source = db.session.scalar(select(Task).where(Task.status == "open"))
        for _ in range(54):
            db.session.add(Task(case_id=source.case_id, spiff_id="copy", spec_name=source.spec_name,
                                title=source.title, form_key=source.form_key, role=source.role,
                                county_id=source.county_id, enterprise_id=source.enterprise_id, status="open"))
        db.session.commit()
    staff = browser("kq_bottled_staff")
    first = staff.client.get("/?scope=all").data.decode()
    assert first.count('data-task="') == 50 and 'rel="next"' in first and 'rel="prev"' not in first
    assert "55" in first[first.index('id="total"'):first.index('id="total"') + 80]
    second = staff.client.get("/?scope=all&page=2").data.decode()
    assert second.count('data-task="') == 5 and 'rel="prev"' in second and 'rel="next"' not in second


def test_follow_up_and_overdue_on_the_task_page(app, api, browser, orders):
    task_id = task_of(app, orders["late"])
    page = browser("keqiao_supervisor")
    html = page.client.get(f"/tasks/{task_id}").data.decode()
    assert 'id="overdue-notice"' in html and 'id="task-due" class="overdue"' in html
    assert 'id="follow-up-form"' in html
    resp = page.form_post(f"/tasks/{task_id}/follow-up", {"follow_up_at": "2030-05-01T09:30", "action": "set"},
                          page_path=f"/tasks/{task_id}")
    assert resp.status_code == 302
    task = api("keqiao_supervisor").get(f"/tasks/{task_id}").json
    assert task["follow_up_at"] == "2030-05-01T01:30:00+00:00"
    assert "2030-05-01 09:30" in page.client.get(f"/tasks/{task_id}").data.decode()

    bad = page.form_post(f"/tasks/{task_id}/follow-up", {"follow_up_at": "soon", "action": "set"},
                         page_path=f"/tasks/{task_id}")
    assert bad.status_code == 302
    assert 'role="alert"' in page.client.get(f"/tasks/{task_id}").data.decode()
    cleared = page.form_post(f"/tasks/{task_id}/follow-up", {"action": "clear"}, page_path=f"/tasks/{task_id}")
    assert cleared.status_code == 302
    assert api("keqiao_supervisor").get(f"/tasks/{task_id}").json["follow_up_at"] is None

    # Someone else's task in the area: no form, and a forged post changes nothing.
    inspector = browser("keqiao_inspector")
    html = inspector.client.get(f"/tasks/{task_id}").data.decode()
    assert 'id="follow-up-form"' not in html
    resp = inspector.client.post(f"/tasks/{task_id}/follow-up", data={
        "follow_up_at": "2030-05-01T09:30", "csrf_token": csrf_of(html.encode())})
    assert resp.status_code == 302
    assert api("keqiao_supervisor").get(f"/tasks/{task_id}").json["follow_up_at"] is None
    assert inspector.client.post(f"/tasks/{task_id}/follow-up", data={"follow_up_at": ""}).status_code == 400


def test_a_suspended_cases_task_is_not_overdue_in_any_queue(app, api, orders):
    """Suspended, its periods stop: its task past its due time is not late in the filter, the counts, the
    task's own flag, the case's reply or the sign-in notice, as the overdue notices and the dashboard hold."""
    inspector, staff = api("keqiao_inspector"), api("kq_bottled_staff")
    paused = api("keqiao_supervisor").post(f"/cases/{orders['late']}/suspend", {"reason": "企业停业检修，暂停办理"})
    assert paused.status_code == 200, paused.json
    assert ids(inspector.get("/tasks?scope=all&due=overdue")) == []
    assert inspector.get("/tasks?scope=all").json["counts"]["overdue"] == 0
    assert staff.get("/tasks").json["counts"]["overdue"] == 0
    listed = next(t for t in inspector.get("/tasks?scope=all").json["items"] if t["case_id"] == orders["late"])
    assert listed["overdue"] is False
    [shown] = [t for t in inspector.get(f"/cases/{orders['late']}").json["tasks"]]
    assert shown["overdue"] is False
    resumed = api("keqiao_supervisor").post(f"/cases/{orders['late']}/resume", {"reason": "检修结束"})
    assert resumed.status_code == 200, resumed.json
    # It was late already when it was suspended: resumed, it is late again.
    assert ids(inspector.get("/tasks?scope=all&due=overdue")) == [orders["late"]]
