"""The warning response ladder (issue 14, item 3) on a moving clock: the periods come from the decision
table warning_response; level 1 is acknowledged within 30 minutes, tells the county at once, escalates
to the supervisor without an acknowledgement and to the city past 2 hours; level 2 is disposed of within
24 hours and tells the county; level 3 is acknowledged and reaches the county in a weekly digest."""
from datetime import UTC, datetime, timedelta

from flows import complete, end_of, task_named
from test_warnings import gas, send, warnings_of


def level_case(api, level: int, sensor: str = "GAS-01") -> int:
    """A warning of ``level`` from readings; its case id."""
    if level == 3:
        send(api, [{"site": "KQ-LPG-01", "site_kind": "storage_station", "sensor": "LV-01", "quantity": "level",
                    "value": 5, "at": datetime.now(UTC).replace(microsecond=0).isoformat()}])
    else:
        send(api, [gas(30 if level == 1 else 12, 0, sensor=sensor)])
    [w] = [w for w in warnings_of(api) if w["level"] == level and w["sensor"] in (sensor, "LV-01")]
    assert w["case_id"] is not None
    return w["case_id"]


def later(minutes: float) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


def told(api, username: str, case_id: int) -> list[str]:
    """The texts of the messages (not task notices) ``username`` got about a case."""
    items = api(username).get("/notifications?per_page=200").json["items"]
    return [n["text"] for n in items if n["case_id"] == case_id and n["kind"] == "message"]


def escalations(api, case_id: int) -> list[str]:
    history = api("keqiao_supervisor").get(f"/cases/{case_id}").json["history"]
    return [h["detail"]["to"] for h in history if h["event"] == "authority_notified"]


def test_level_one_tells_the_county_at_once_and_is_acknowledged_in_time(app, api, engine):
    case_id = level_case(api, 1)
    staff = api("kq_bottled_staff")
    # At once: the county's supervisor and its inspectors; nobody in another county, not the city.
    assert escalations(api, case_id) == ["county"]
    for user in ("keqiao_supervisor", "keqiao_inspector"):
        assert [t for t in told(api, user, case_id) if t.startswith("预警知会：一级预警")], user
    assert told(api, "yuecheng_inspector", case_id) == [] and told(api, "admin", case_id) == []

    task = task_named(staff, case_id, "Task_acknowledge")
    due = datetime.fromisoformat(task["due_at"])
    assert timedelta(minutes=29) < due - datetime.now(UTC) <= timedelta(minutes=30)
    case = api("keqiao_supervisor").get(f"/cases/{case_id}").json
    assert case["data"]["ack_minutes"] == 30 and case["data"]["decisions"]["warning_response"]["version"] >= 1

    bad = staff.post(f"/tasks/{task['id']}/complete", {"data": {"first_action": "关阀"}})
    assert bad.status_code == 422 and "responder" in bad.json["error"]["fields"]
    complete(staff, case_id, "Task_acknowledge", {"responder": "站长王五", "first_action": "关阀，疏散"})
    # Acknowledged within 30 minutes: nobody is told at 31 minutes.
    assert engine.run_due_timers(later(31)) == 0
    assert escalations(api, case_id) == ["county"]
    dispose = task_named(staff, case_id, "Task_dispose")
    assert timedelta(minutes=119) < datetime.fromisoformat(dispose["due_at"]) - datetime.now(UTC) <= timedelta(hours=2)
    complete(staff, case_id, "Task_dispose", {"measures": "关阀通风，浓度降至 0", "resolved": True})
    assert engine.run_due_timers(later(125)) == 0  # disposed of in time: the city is not told
    done = complete(api("keqiao_supervisor"), case_id, "Task_confirm", {"decision": "close", "comment": "处置到位"})
    assert done["status"] == "completed" and end_of(done) == "End_closed"
    assert escalations(api, case_id) == ["county"]


def test_level_one_without_acknowledgement_goes_to_the_supervisor_then_the_city(app, api, engine):
    case_id = level_case(api, 1)
    assert engine.run_due_timers(later(29)) == 0
    assert escalations(api, case_id) == ["county"]
    assert engine.run_due_timers(later(31)) == 1
    assert escalations(api, case_id) == ["county", "supervisor"]
    urged = [t for t in told(api, "keqiao_supervisor", case_id) if t.startswith("企业未在时限内确认预警")]
    assert len(urged) == 1
    assert not [t for t in told(api, "keqiao_inspector", case_id) if t.startswith("企业未在时限内确认")]
    assert told(api, "admin", case_id) == []
    # The enterprise's task stays open: it still has to acknowledge.
    task_named(api("kq_bottled_staff"), case_id, "Task_acknowledge")

    assert engine.run_due_timers(later(119)) == 0
    assert engine.run_due_timers(later(121)) == 1
    assert escalations(api, case_id) == ["county", "supervisor", "city"]
    assert [t for t in told(api, "admin", case_id) if t.startswith("一级预警超过时限仍未确认")]
    assert engine.run_due_timers(later(600)) == 0  # each step of the ladder once


def test_level_one_acknowledged_late_and_not_disposed_of_goes_to_the_city(app, api, engine):
    case_id = level_case(api, 1)
    staff = api("kq_bottled_staff")
    assert engine.run_due_timers(later(45)) == 1  # no acknowledgement at 30 minutes
    complete(staff, case_id, "Task_acknowledge", {"responder": "站长王五"})
    assert engine.run_due_timers(later(121)) == 1  # not disposed of 2 hours after the warning
    assert escalations(api, case_id) == ["county", "supervisor", "city"]
    assert [t for t in told(api, "admin", case_id) if t.startswith("一级预警超过时限仍未处置")]
    task_named(staff, case_id, "Task_dispose")


def test_level_two_is_disposed_of_within_a_day_and_the_county_is_told(app, api, engine):
    case_id = level_case(api, 2)
    staff = api("kq_bottled_staff")
    assert escalations(api, case_id) == ["county"]
    assert [t for t in told(api, "keqiao_inspector", case_id) if t.startswith("预警知会：二级预警")]
    task = task_named(staff, case_id, "Task_dispose_l2")
    due = datetime.fromisoformat(task["due_at"])
    assert timedelta(hours=23, minutes=59) < due - datetime.now(UTC) <= timedelta(hours=24)
    assert engine.run_due_timers(later(23 * 60)) == 0
    assert engine.run_due_timers(later(24 * 60 + 1)) == 1
    assert escalations(api, case_id) == ["county", "supervisor"]
    done = complete(staff, case_id, "Task_dispose_l2", {"measures": "更换传感器并复测", "resolved": True})
    assert done["status"] == "completed" and end_of(done) == "End_disposed"


def test_level_two_disposed_of_in_time_escalates_nothing(app, api, engine):
    case_id = level_case(api, 2)
    complete(api("kq_bottled_staff"), case_id, "Task_dispose_l2", {"measures": "复测正常", "resolved": True})
    assert engine.run_due_timers(later(25 * 60)) == 0
    assert escalations(api, case_id) == ["county"]


def test_level_three_is_acknowledged_and_tells_nobody_at_once(app, api, engine):
    case_id = level_case(api, 3)
    assert escalations(api, case_id) == []
    assert told(api, "keqiao_supervisor", case_id) == [] and told(api, "keqiao_inspector", case_id) == []
    staff = api("kq_bottled_staff")
    task = task_named(staff, case_id, "Task_acknowledge_l3")
    assert timedelta(days=2, hours=23) < datetime.fromisoformat(task["due_at"]) - datetime.now(UTC) <= timedelta(days=3)
    assert engine.run_due_timers(later(4 * 24 * 60)) == 0  # no timer: the weekly digest tells the county
    done = complete(staff, case_id, "Task_acknowledge_l3", {"responder": "值班员赵六"})
    assert done["status"] == "completed" and end_of(done) == "End_acknowledged"


def test_the_city_admin_changes_the_periods_in_one_table(app, api, engine):
    """A new version of warning_response applies to the next warning without deploying any process."""
    from pathlib import Path

    xml = (Path(__file__).parents[1] / "bpmn" / "warning_response.dmn").read_text(encoding="utf-8")
    changed = xml.replace('<outputEntry id="Out_ack_1"><text>30</text>', '<outputEntry id="Out_ack_1"><text>15</text>')
    assert changed != xml
    resp = api("admin").post("/decisions", data=changed.encode(), content_type="application/xml")
    assert resp.status_code == 201, resp.json
    case_id = level_case(api, 1)
    assert engine.run_due_timers(later(14)) == 0
    assert engine.run_due_timers(later(16)) == 1
    assert escalations(api, case_id) == ["county", "supervisor"]


def test_the_county_gets_a_weekly_digest_of_level_three(app, api):
    from zoneinfo import ZoneInfo

    from web.background.schedule import JOBS
    from workflows.engine import clock

    shanghai = ZoneInfo("Asia/Shanghai")
    now = datetime.now(UTC).replace(microsecond=0)
    first = level_case(api, 3)
    send(api, [{"site": "KQ-LPG-02", "site_kind": "storage_station", "sensor": "LV-02", "quantity": "level",
                "value": 4, "at": now.isoformat()}])
    send(api, [gas(12, 0, sensor="GAS-09")])  # level 2: the county heard of it at once, not in the digest
    send(api, [{"site": "YC-1", "site_kind": "storage_station", "sensor": "LV-01", "quantity": "level",
                "value": 3, "at": now.isoformat()}], user="yc_pipeline_staff")
    complete(api("kq_bottled_staff"), first, "Task_acknowledge_l3", {"responder": "值班员赵六"})

    local = now.astimezone(shanghai)
    next_monday = datetime.combine(local.date() + timedelta(days=7 - local.weekday()),
                                   datetime.min.time(), shanghai) + timedelta(hours=8)
    job = JOBS["warning_digest"]
    with clock.frozen_at(now):
        assert job.run(app) == 0  # this week's digest covers last week, which had none of them
    with clock.frozen_at(next_monday):
        assert job.run(app) == 2  # 柯桥区 and 越城区
        assert job.run(app) == 0  # once a week, however often the job runs

    def digests(user):
        return [n["text"] for n in api(user).get("/notifications?per_page=200").json["items"]
                if n["text"].startswith("预警周报")]

    for user in ("keqiao_supervisor", "keqiao_inspector"):
        [text] = digests(user)
        assert "共 2 起（三级2 起）" in text and "企业已确认 1 起，未确认 1 起" in text
        assert "柯桥区瓶装液化气供应有限公司 2 起" in text
    [yc] = digests("yuecheng_inspector")
    assert "共 1 起" in yc and "柯桥" not in yc
    assert digests("kq_bottled_staff") == [] and digests("admin") == []
    with clock.frozen_at(next_monday + timedelta(days=7)):
        assert job.run(app) == 0  # nothing the week after
    assert len(digests("keqiao_supervisor")) == 1


def test_each_level_has_a_detail_page_with_readings_timeline_and_actions(app, api, browser, engine):
    send(api, [gas(12, 0), gas(30, 1), gas(40, 2), gas(3, 3)])  # one episode, level 1 at its worst, ended
    [w] = warnings_of(api)
    engine.run_due_timers(later(31))  # not acknowledged: the supervisor is told
    page = browser("keqiao_supervisor").client.get(f"/warnings/{w['id']}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    readings = html.split('id="warning-readings"')[1].split("</table>")[0]
    assert readings.count("<tr") == 5 and readings.count('class="beyond"') == 2  # 30 and 40 break the level-1 rule
    timeline = html.split('id="warning-timeline"')[1].split("</table>")[0]
    assert "预警知会：一级预警" in timeline and "企业未在时限内确认预警" in timeline
    assert timeline.index("预警知会") < timeline.index("企业未在时限内确认预警")
    periods = html.split('id="warning-periods"')[1].split("</dl>")[0]
    assert "确认时限" in periods or "Acknowledge by" not in periods
    actions = html.split('id="warning-actions"')[1].split("</ul>")[0]
    assert "确认预警" in actions and "/tasks/" not in actions  # the enterprise's task: shown, not workable here
    for internal in ("ladder", "at_once", "county_notice", "notify.authority", "authority_notified", "None"):
        assert internal not in html, internal

    staff_page = browser("kq_bottled_staff").client.get(f"/warnings/{w['id']}").get_data(as_text=True)
    assert "请督办" not in staff_page and "预警开始" in staff_page  # what the authorities told each other stays theirs
    actions = staff_page.split('id="warning-actions"')[1].split("</ul>")[0]
    task = task_named(api("kq_bottled_staff"), w["case_id"], "Task_acknowledge")
    assert f"/tasks/{task['id']}" in actions

    case_page = browser("keqiao_supervisor").client.get(f"/cases/{w['case_id']}").get_data(as_text=True)
    assert "notify.authority" not in case_page and "已告知主管部门" in case_page
    assert browser("yuecheng_inspector").client.get(f"/warnings/{w['id']}").status_code == 404
    assert browser("yc_pipeline_staff").client.get(f"/warnings/{w['id']}").status_code == 404
    assert browser("keqiao_supervisor").client.get("/warnings/999999").status_code == 404
    listing = browser("keqiao_supervisor").client.get("/warnings/?status=all").get_data(as_text=True)
    assert f'href="/warnings/{w["id"]}"' in listing

    for level in (2, 3):
        case_id = level_case(api, level, sensor="GAS-07")
        [other] = [x for x in warnings_of(api) if x["case_id"] == case_id]
        html = browser("keqiao_supervisor").client.get(f"/warnings/{other['id']}").get_data(as_text=True)
        periods = html.split('id="warning-periods"')[1].split("</dl>")[0]
        assert ("处置时限" if level == 2 else "确认时限") in periods
        assert ("即时" if level == 2 else "每周汇总") in periods
