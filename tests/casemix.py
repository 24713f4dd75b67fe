"""Cases left in several states mid-flight, and driving any of them on to completion, over the API.

Shared by the backup and upgrade tests: both must show that the cases they carry across still work.
"""
import contextlib
import io
import uuid

from conftest import enterprise_id, future
from sqlalchemy import select

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def upload(user, name: str, content: bytes) -> int:
    resp = user.post("/attachments", data={"file": (io.BytesIO(content), name, "image/png")},
                     content_type="multipart/form-data")
    assert resp.status_code == 201, resp.json
    return resp.json["id"]


def open_tasks(user, case_id: int) -> list[dict]:
    return [t for t in user.get("/tasks?scope=all&per_page=100").json["items"] if t["case_id"] == case_id]


def open_order(api, ent_id: int, hazard: str) -> int:
    data = {"enterprise_id": ent_id, "hazard_description": hazard, "hazard_class": "II", "deadline_at": future()}
    resp = api("keqiao_inspector").post("/cases", {"process": "rectification", "data": data})
    assert resp.status_code == 201, resp.json
    return resp.json["id"]


def make_cases(app, api) -> dict[str, int]:
    """Rectification orders in every state its lifecycle has, with attachments, comments and history."""
    inspector, staff = api("keqiao_inspector"), api("kq_bottled_staff")
    ent = enterprise_id(app)
    cases = {name: open_order(api, ent, f"隐患 {name}") for name in
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
    assert inspector.post(f"/tasks/{last['id']}/complete", {"data": {"decision": "accept"}}).json["status"] \
        == "completed"
    comment = inspector.post(f"/cases/{cases['awaiting_response']}/comments", {"text": "请尽快整改"})
    assert comment.status_code == 201, comment.json
    return cases


def finish(api, case_id: int) -> dict:
    """Answers and accepts a rectification order from whatever step it is at, until it is completed."""
    inspector, staff = api("keqiao_inspector"), api("kq_bottled_staff")
    for _ in range(6):
        case = inspector.get(f"/cases/{case_id}").json
        if case["status"] == "completed":
            return case
        (task,) = case["tasks"]
        if task["name"] == "Task_respond":
            photo = upload(staff, "final.png", PNG + b"final")
            resp = staff.post(f"/tasks/{task['id']}/complete", {"data": {"response": "已整改完毕", "photos": [photo]}})
        else:
            resp = inspector.post(f"/tasks/{task['id']}/complete", {"data": {"decision": "accept"}})
        assert resp.status_code == 200, resp.json
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
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    if not PG_URL:
        yield f"sqlite:///{tmp_path / f'fresh-{uuid.uuid4().hex[:6]}.db'}"
        return
    base = make_url(PG_URL)
    name = f"gasflow_fresh_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def app_on(url: str):
    """A second app bound to another database (migrated to head, models deployed), as a restarted server is."""
    from web import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "INPROCESS_TICKER": False})
