"""Cases left in several states mid-flight, and driving any of them on to completion, over the API.

Shared by the backup and upgrade tests: both must show that the cases they carry across still work.
"""
import contextlib
import io
import uuid
from datetime import UTC, datetime, timedelta

from conftest import enterprise_id
from flows import ACCEPT, open_order
from sqlalchemy import select

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def upload(user, name: str, content: bytes) -> int:
    resp = user.post("/attachments", data={"file": (io.BytesIO(content), name, "image/png")},
                     content_type="multipart/form-data")
    assert resp.status_code == 201, resp.json
    return resp.json["id"]


def open_tasks(user, case_id: int) -> list[dict]:
    return [t for t in user.get("/tasks?scope=all&per_page=100").json["items"] if t["case_id"] == case_id]



def past(hours: int) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).isoformat()


def report_accident(api, ent_id: int) -> int:
    data = {"enterprise_id": ent_id, "source": "emergency_call", "accident_type": "leak", "title": "储瓶间泄漏",
            "occurred_at": past(3), "address": "柯桥区华舍街道 12 号", "lon": 120.49, "lat": 30.08,
            "description": "储瓶间一只钢瓶角阀泄漏，现场已疏散。"}
    resp = api("keqiao_inspector").post("/cases", {"process": "accident", "data": data})
    assert resp.status_code == 201, resp.json
    return resp.json["id"]


# Who does each task, with what (a function of the user, so that photos are uploaded by their owner).
STEPS = {
    "Task_respond": ("kq_bottled_staff",
                     lambda u: {"response": "已整改完毕", "photos": [upload(u, "final.png", PNG + b"final")]}),
    "Task_verify": ("keqiao_inspector", lambda u: ACCEPT),
    "Task_response": ("kq_bottled_staff", lambda u: {"measures": "关闭总阀，更换角阀", "leak_location": "储瓶间",
                                                     "pressure_mpa": 0.8, "finished_at": past(1)}),
    # The accident under Decree 493: the enterprise's own report and the county's report to the city run
    # beside the repair; then the investigation report, the conclusion and the city's closing approval.
    "Task_enterprise_report": ("kq_bottled_staff", lambda u: {"situation": "储瓶间角阀泄漏，已关阀疏散",
                                                              "enterprise_reporter": "站长李四"}),
    "Task_report_city": ("keqiao_supervisor", lambda u: {"reporter": "值班员张三", "reported_at": past(0.01),
                                                         "reported_to": "绍兴市应急管理局", "method": "phone"}),
    "Task_investigate": ("keqiao_inspector", lambda u: {"action": "submit", "cause": "角阀老化", "deaths": 0,
                                                         "serious_injuries": 0, "direct_loss": 1200.50}),
    "Task_conclude": ("keqiao_supervisor", lambda u: {"conclusion": "一般泄漏事故，已处置",
                                                      "responsibility": "设备维护不到位"}),
    "Task_close": ("admin", lambda u: {"decision": "approve"}),
}


def step(api, case_id: int) -> None:
    """Completes one open task of a case (the first the table knows) as the user whose task it is."""
    case = api("keqiao_inspector").get(f"/cases/{case_id}").json
    task = next(t for t in case["tasks"] if t["name"] in STEPS)
    username, data = STEPS[task["name"]]
    if task.get("form_key") == "accident_investigate":  # a case on the first accident model (before Decree 493)
        data = lambda u: {"cause": "角阀老化", "casualties": 0, "economic_loss": 1200.50}  # noqa: E731
    user = api(username)
    resp = user.post(f"/tasks/{task['id']}/complete", {"data": data(user)})
    assert resp.status_code == 200, resp.json


def make_cases(app, api, deadline_hours: int = 48) -> dict[str, int]:
    """Rectification orders in every state its lifecycle has and accidents mid-flight, with attachments,
    comments and history."""
    inspector, staff = api("keqiao_inspector"), api("kq_bottled_staff")
    ent = enterprise_id(app)
    cases = {name: open_order(api, None, ent, hazard=f"隐患 {name}", hours=deadline_hours)["id"] for name in
             ("awaiting_response", "awaiting_verification", "sent_back", "completed")}
    for name in ("awaiting_verification", "sent_back", "completed"):
        task = open_tasks(staff, cases[name])[0]
        photos = [upload(staff, f"{name}-{i}.png", PNG + name.encode() + bytes([i])) for i in range(2)]
        done = staff.post(f"/tasks/{task['id']}/complete", {"data": {"response": f"已整改 {name}", "photos": photos}})
        assert done.status_code == 200, done.json
    back = open_tasks(inspector, cases["sent_back"])[0]
    assert inspector.post(f"/tasks/{back['id']}/complete",
                          {"data": {"decision": "send_back", "comment": "照片不清晰"}}).status_code == 200
    last = open_tasks(inspector, cases["completed"])[0]
    assert inspector.post(f"/tasks/{last['id']}/complete", {"data": ACCEPT}).json["status"] \
        == "completed"
    comment = inspector.post(f"/cases/{cases['awaiting_response']}/comments", {"text": "请尽快整改"})
    assert comment.status_code == 201, comment.json
    cases["accident_reported"] = report_accident(api, ent)
    cases["accident_investigated"] = report_accident(api, ent)
    step(api, cases["accident_investigated"])
    step(api, cases["accident_investigated"])
    return cases


def finish(api, case_id: int) -> dict:
    """Works a case from whatever step it is at until it is completed; returns it as the API shows it."""
    for _ in range(12):
        case = api("keqiao_inspector").get(f"/cases/{case_id}").json
        if case["status"] == "completed":
            return case
        step(api, case_id)
    raise AssertionError(f"case {case_id} did not complete")


CASE_TABLES = ("cases", "tasks", "task_candidates", "case_events", "attachments", "notifications")


def snapshot(url: str) -> dict[str, list[dict]]:
    """Every row of the case tables, read through the models' column types, ordered by key."""
    from sqlalchemy import create_engine

    from models import Base

    engine = create_engine(url)
    out = {}
    with engine.connect() as conn:
        for name in CASE_TABLES:
            table = Base.metadata.tables[name]
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).mappings()
            out[name] = [dict(r) for r in rows]
    engine.dispose()
    return out


@contextlib.contextmanager
def new_database(tmp_path):
    """A new, empty database on the backend under test: a new SQLite file, or a new PostgreSQL database."""
    from conftest import PG_URL

    from web.database import scratch_database

    if not PG_URL:
        yield f"sqlite:///{tmp_path / f'fresh-{uuid.uuid4().hex[:6]}.db'}"
        return
    with scratch_database(PG_URL, "gasflow_fresh", durable=False) as url:
        yield url


def app_on(url: str):
    """A second app bound to another database (migrated to head, models deployed), as a restarted server is."""
    from web.app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "INPROCESS_TICKER": False})


def key_paths(value, prefix: str = "") -> set[str]:
    """The field paths of a JSON body (list elements merged under ``[]``)."""
    out = set()
    if isinstance(value, dict):
        for key, sub in value.items():
            out.add(prefix + key)
            out |= key_paths(sub, f"{prefix}{key}.")
    elif isinstance(value, list):
        for sub in value:
            out |= key_paths(sub, f"{prefix}[].")
    return out


def api_shapes(api, cases: dict[str, int]) -> dict[str, list[str]]:
    """What the API answers about the cases, as field paths: a release's contract as clients saw it."""
    inspector, staff = api("keqiao_inspector"), api("kq_bottled_staff")
    calls = {f"GET /cases/{{{name}}}": (inspector, f"/cases/{i}") for name, i in cases.items()}
    calls |= {"GET /cases": (inspector, "/cases?per_page=100"),
              "GET /tasks (inspector)": (inspector, "/tasks?scope=all"),
              "GET /tasks (enterprise)": (staff, "/tasks?scope=all"), "GET /notifications": (staff, "/notifications"),
              "GET /processes": (api("admin"), "/processes")}
    (task,) = inspector.get(f"/cases/{cases['awaiting_verification']}").json["tasks"]
    calls["GET /tasks/{id}"] = (inspector, f"/tasks/{task['id']}")
    out = {}
    for label, (user, path) in calls.items():
        resp = user.get(path)
        assert resp.status_code == 200, (label, resp.json)
        out[label] = sorted(key_paths(resp.json))
    return out
