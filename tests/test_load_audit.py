"""Load on a real server: twelve clients with their own bearer tokens race to complete the same
thirty rectification tasks over HTTP (loopback, waitress). No update may be lost or doubled, every
refusal must be a genuine conflict, and the audit chain must verify afterwards with exactly one
entry per write request."""
import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections import Counter

import pytest
from conftest import enterprise_id, future
from sqlalchemy import func, select
from waitress.server import create_server

CASES, CLIENTS, DEADLINE_SECONDS = 30, 12, 60


@pytest.fixture
def server(app):
    srv = create_server(app, host="127.0.0.1", port=0, threads=CLIENTS)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.effective_port}"
    srv.close()
    thread.join(timeout=10)


def tokens(app, count):
    from models import User
    from web.common.security import new_token
    from web.extensions import db

    with app.app_context():
        users = db.session.scalars(select(User).where(User.username.in_(["kq_bottled_staff", "kq_bottled_admin"]))
                                   .order_by(User.username)).all()
        made = [new_token(db.session, users[i % len(users)], f"load-{i}") for i in range(count)]
        db.session.commit()
    return made


def post(base, token, path, body):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_concurrent_completions_lose_nothing_and_the_audit_chain_holds(app, api, server):
    from models import TASK_COMPLETED, AuditEntry, CaseEvent, Task
    from web.extensions import db
    from workflows.services import audit_chain

    inspector = api("keqiao_inspector")
    case_ids = []
    for i in range(CASES):
        data = {"enterprise_id": enterprise_id(app), "hazard_description": f"隐患 {i}", "hazard_class": "II",
                "deadline_at": future()}
        resp = inspector.post("/cases", {"process": "rectification", "data": data})
        assert resp.status_code == 201, resp.json
        case_ids.append(resp.json["id"])
    with app.app_context():
        task_ids = db.session.scalars(select(Task.id).where(Task.case_id.in_(case_ids),
                                                            Task.spec_name == "Task_respond")).all()
        writes_before = db.session.scalar(select(func.count()).where(AuditEntry.kind == "write"))
    assert len(task_ids) == CASES

    raws = tokens(app, CLIENTS)
    results, lock = [], threading.Lock()
    start, stop = threading.Barrier(CLIENTS), time.monotonic() + DEADLINE_SECONDS

    def client(n):
        order = list(task_ids)
        random.Random(n).shuffle(order)
        start.wait()
        for task_id in order:
            if time.monotonic() > stop:
                break
            status, body = post(server, raws[n], f"/api/v1/tasks/{task_id}/complete",
                                {"data": {"response": f"client {n} 已整改"}})
            with lock:
                results.append((n, task_id, status, body))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=DEADLINE_SECONDS + 30)
    assert not any(t.is_alive() for t in threads)
    print(f"race of {len(results) if results else 0} requests took {time.monotonic() - began:.1f} s")
    assert time.monotonic() - began <= DEADLINE_SECONDS + 5
    assert len(results) == CLIENTS * CASES, "some clients ran out of time"

    statuses = Counter(status for _n, _t, status, _b in results)
    assert set(statuses) <= {200, 409}, [(s, b) for _n, _t, s, b in results if s not in (200, 409)][:3]
    wins = Counter(task_id for _n, task_id, status, _b in results if status == 200)
    assert wins == Counter(task_ids), "every task completed exactly once"
    assert statuses[200] == CASES and statuses[409] == CASES * (CLIENTS - 1)
    assert all(b["error"]["code"] for _n, _t, s, b in results if s == 409)

    with app.app_context():
        done = db.session.scalars(select(Task).where(Task.id.in_(task_ids))).all()
        assert all(t.status == TASK_COMPLETED and t.completed_by_id for t in done)
        assert db.session.scalar(select(func.count()).where(Task.case_id.in_(case_ids),
                                                            Task.status == TASK_COMPLETED)) == statuses[200]
        for case_id in case_ids:
            events = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id)
                                        .order_by(CaseEvent.id)).all()
            completed = [e for e in events if e.event == "task_completed"]
            assert len(completed) == 1 and completed[0].task_name == "提交整改反馈"
            open_next = db.session.scalars(select(Task.spec_name).where(Task.case_id == case_id,
                                                                        Task.status == "open")).all()
            assert open_next == ["Task_verify"]

        verdict = audit_chain.verify(db.session)
        assert verdict.ok, verdict
        writes = db.session.scalars(select(AuditEntry).where(AuditEntry.kind == "write",
                                                             AuditEntry.endpoint == "api.complete")).all()
        assert db.session.scalar(select(func.count()).where(AuditEntry.kind == "write")) \
            == writes_before + len(results)
    assert len(writes) == len(results)
    assert Counter(e.status for e in writes) == statuses
    assert Counter((e.object_ids["task_id"], e.status) for e in writes) == \
        Counter((task_id, status) for _n, task_id, status, _b in results)
    assert len({e.token_id for e in writes}) == CLIENTS and all(e.address == "127.0.0.1" for e in writes)
    ids = sorted(e.id for e in writes)
    assert len(set(ids)) == len(ids)
