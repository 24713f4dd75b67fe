"""A double submit acts once (issue 16, item 5): the Idempotency-Key on every creating API POST,
replayed with the same status and body, also when the requests race on a real server; refused with
another body; kept 24 hours, then pruned. Web forms carry a single-use submission token, so a double
click shows the first result."""
import io
import json
import re
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from conftest import csrf_of, enterprise_id, future
from sqlalchemy import func, select, update
from waitress.server import create_server

from models import Attachment, Case, CaseEvent, DataBatch, IdempotencyKey, IssuedDocument, Reading, Task

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
KEY = "Idempotency-Key"


def rectification(app) -> dict:
    return {"process": "rectification", "data": {"enterprise_id": enterprise_id(app), "hazard_description": "软管老化",
                                                  "hazard_class": "II", "deadline_at": future()}}


def count(app, model, *where) -> int:
    from web.extensions import db

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def keyed(user, path, body, key, **kw):
    return user.client.post("/api/v1" + path, json=body, headers={**user.headers, KEY: key}, **kw)


def replayed(first, second) -> bool:
    return (second.status_code == first.status_code and second.get_json() == first.get_json()
            and second.headers.get("Idempotent-Replayed") == "true")


# ---- API: repeats -----------------------------------------------------------------------------------
def test_a_repeated_key_replays_the_answer_and_opens_one_case(app, api):
    inspector = api("keqiao_inspector")
    body = rectification(app)
    first = keyed(inspector, "/cases", body, "case-1")
    assert first.status_code == 201, first.json
    assert "Idempotent-Replayed" not in first.headers
    second = keyed(inspector, "/cases", body, '"case-1"')  # the draft's quoted form is the same key
    assert replayed(first, second)
    assert count(app, Case) == 1 and count(app, IssuedDocument) == 1
    # Without a key every POST acts, as before.
    assert inspector.post("/cases", body).status_code == 201 and count(app, Case) == 2


def test_comments_attachments_completions_data_and_readings_act_once_per_key(app, api):
    from test_readings import reading

    inspector, staff = api("keqiao_inspector"), api("kq_bottled_staff")
    case_id = keyed(inspector, "/cases", rectification(app), "open").json["id"]

    comment = {"text": "请尽快整改"}
    first = keyed(inspector, f"/cases/{case_id}/comments", comment, "c")
    assert first.status_code == 201 and replayed(first, keyed(inspector, f"/cases/{case_id}/comments", comment, "c"))
    assert count(app, CaseEvent, CaseEvent.event == "comment") == 1

    def upload():  # a new multipart body (and boundary) each time, as a client retrying builds it
        return inspector.client.post("/api/v1/attachments", data={"file": (io.BytesIO(PNG), "a.png", "image/png")},
                                     headers={**inspector.headers, KEY: "file"}, content_type="multipart/form-data")

    files = count(app, Attachment)  # the rectification notice's PDF among them
    first = upload()
    assert first.status_code == 201 and replayed(first, upload()) and count(app, Attachment) == files + 1

    task_id = staff.get("/tasks").json["items"][0]["id"]
    done = {"data": {"response": "已整改"}}
    first = keyed(staff, f"/tasks/{task_id}/complete", done, "done")
    assert first.status_code == 200, first.json
    assert replayed(first, keyed(staff, f"/tasks/{task_id}/complete", done, "done"))
    assert count(app, Task, Task.status == "completed") == 1
    # Without the key the repeat is what it always was: the task is no longer open.
    assert staff.post(f"/tasks/{task_id}/complete", done).status_code == 409

    admin = api("kq_bottled_admin")
    batch = {"records": [{"external_id": "ST-9", "name": "新站", "station_type": "supply"}]}
    first = keyed(admin, "/data/station", batch, "batch")
    assert first.status_code == 202 and replayed(first, keyed(admin, "/data/station", batch, "batch"))
    assert count(app, DataBatch) == 1

    readings = {"readings": [reading()]}
    first = keyed(staff, "/readings", readings, "r")
    assert first.status_code == 202 and replayed(first, keyed(staff, "/readings", readings, "r"))
    assert count(app, Reading) == 1


def test_a_key_with_another_request_is_refused_and_keys_are_per_user_method_and_path(app, api):
    inspector, other = api("keqiao_inspector"), api("keqiao_supervisor")
    body = rectification(app)
    assert keyed(inspector, "/cases", body, "k").status_code == 201
    for changed in ({**body, "data": {**body["data"], "hazard_class": "III"}}, {**body, "extra": 1}):
        refused = keyed(inspector, "/cases", changed, "k")
        assert refused.status_code == 422, refused.json
        assert refused.json["error"]["code"] == "idempotency_key_reused" and KEY in refused.json["error"]["fields"]
    query = inspector.client.post("/api/v1/cases?x=1", json=body, headers={**inspector.headers, KEY: "k"})
    assert query.status_code == 422
    assert count(app, Case) == 1
    # The same key is another key on another path, and for another user.
    assert keyed(inspector, "/cases/1/comments", {"text": "x"}, "k").status_code == 201
    assert keyed(other, "/cases/1/comments", {"text": "x"}, "k").status_code == 201
    assert count(app, CaseEvent, CaseEvent.event == "comment") == 2


def test_a_refused_request_leaves_its_key_free_for_the_corrected_one(app, api):
    inspector = api("keqiao_inspector")
    body = rectification(app)
    bad = keyed(inspector, "/cases", {**body, "data": {**body["data"], "hazard_class": "IV"}}, "fix-me")
    assert bad.status_code == 422 and "hazard_class" in bad.json["error"]["fields"]
    good = keyed(inspector, "/cases", body, "fix-me")
    assert good.status_code == 201 and count(app, Case) == 1
    assert count(app, IdempotencyKey) == 1


@pytest.mark.parametrize("value", ["x" * 256, '""', "a\tb", " ", "é"])
def test_a_malformed_key_is_a_400_naming_the_header(app, api, value):
    resp = keyed(api("keqiao_inspector"), "/cases", rectification(app), value)
    assert resp.status_code == 400, resp.json
    assert resp.json["error"]["code"] == "invalid_idempotency_key" and KEY in resp.json["error"]["fields"]
    assert count(app, Case) == 0


def test_a_repeat_waits_for_the_first_answer_then_is_refused_with_409(app, api):
    from web.common.idempotency import SESSIONS
    from web.extensions import db
    from workflows.services import idempotency_store as store

    inspector = api("keqiao_inspector")
    body = rectification(app)
    with app.test_request_context("/api/v1/cases", method="POST", json=body):
        from web.common.idempotency import _fingerprint

        fingerprint = _fingerprint()
    sessions = app.extensions[SESSIONS]
    # A first request with the key, still being served (claimed, no answer yet).
    claim = store.claim(sessions, inspector.user_id, "POST", "/api/v1/cases", "slow", fingerprint, datetime.now(UTC))
    assert claim.state == store.CLAIMED
    app.config["IDEMPOTENCY_WAIT_SECONDS"] = 0.5
    started = time.monotonic()
    busy = keyed(inspector, "/cases", body, "slow")
    assert time.monotonic() - started >= 0.5
    assert busy.status_code == 409 and busy.json["error"]["code"] == "idempotency_in_progress"
    assert busy.headers["Retry-After"] == "1" and count(app, Case) == 0

    # The first request answers while a repeat waits: the repeat gets that answer.
    app.config["IDEMPOTENCY_WAIT_SECONDS"] = 10
    answer = json.dumps({"id": 99}).encode()

    def finish_elsewhere():
        with sessions() as s:
            store.finish_in(s, claim.row_id, 201, "application/json", None, answer, datetime.now(UTC))
            s.commit()
    timer = threading.Timer(0.3, finish_elsewhere)
    timer.start()
    waited = keyed(inspector, "/cases", body, "slow")
    timer.join()
    assert waited.status_code == 201 and waited.json == {"id": 99} and count(app, Case) == 0
    with app.app_context():
        assert db.session.scalar(select(IdempotencyKey.status)) == 201


def test_keys_expire_after_a_day_and_the_periodic_job_prunes_them(app, api):
    from web.background.schedule import run_all as periodic
    from web.extensions import db

    inspector = api("keqiao_inspector")
    body = rectification(app)
    assert keyed(inspector, "/cases", body, "day").status_code == 201
    assert periodic(app)["idempotency_keys"] == 0  # a fresh key stays
    with app.app_context():
        db.session.execute(update(IdempotencyKey).values(created_at=datetime.now(UTC) - timedelta(hours=25)))
        db.session.commit()
    # Expired: the key is a new one, even before the job has pruned it.
    again = keyed(inspector, "/cases", body, "day")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers and count(app, Case) == 2
    with app.app_context():
        db.session.execute(update(IdempotencyKey).values(created_at=datetime.now(UTC) - timedelta(hours=25)))
        db.session.commit()
    assert periodic(app)["idempotency_keys"] == 1
    assert count(app, IdempotencyKey) == 0


# ---- API: a race on a real server -------------------------------------------------------------------
@pytest.fixture
def server(app):
    srv = create_server(app, host="127.0.0.1", port=0, threads=8)
    stop = threading.Event()

    def serve():
        # The loop, then the shutdown, in this one thread: sockets closed from another thread while this one's
        # select() waited on them failed it now and then (EBADF), and a worker thread finishing after its trigger
        # was closed failed its pull. So the loop stops first, the workers are joined, and only then is every
        # socket of the server's map closed.
        try:
            while not stop.is_set():
                srv.asyncore.loop(timeout=0.05, map=srv._map, count=1)
        finally:
            srv.task_dispatcher.shutdown()
            srv.asyncore.close_all(srv._map)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.effective_port}"
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive()


def http_post(url, token, body, key):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json", KEY: key})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read()), resp.headers.get("Idempotent-Replayed")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}"), exc.headers.get("Idempotent-Replayed")


@pytest.mark.parametrize("clients", [2, 6])
def test_parallel_posts_with_one_key_open_one_case_with_one_number(app, api, server, clients):
    inspector = api("keqiao_inspector")
    body = rectification(app)
    start, results, lock = threading.Barrier(clients), [], threading.Lock()

    def client():
        start.wait()
        got = http_post(f"{server}/api/v1/cases", inspector.token, body, "race")
        with lock:
            results.append(got)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert len(results) == clients
    assert {status for status, _b, _r in results} == {201}, results
    assert all(b == results[0][1] for _s, b, _r in results)
    assert sorted(r or "" for _s, _b, r in results) == [""] + ["true"] * (clients - 1)
    assert count(app, Case) == 1 and count(app, IssuedDocument) == 1


SERVE = """
import sys
from waitress.server import create_server
from web import create_app
app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "INPROCESS_TICKER": False, "DOCUMENTS_RENDER": "inline"},
                 migrate=False)
server = create_server(app, host="127.0.0.1", port=0, threads=4)
print(server.effective_port, flush=True)
server.run()
"""


def test_racing_through_two_server_processes_opens_one_case(app, api, server, database_url, tmp_path):
    """This process's server and another process's, on one database: the claim holds across processes."""
    import os
    import subprocess
    import sys

    inspector = api("keqiao_inspector")
    body = rectification(app)
    other = subprocess.Popen([sys.executable, "-c", SERVE, database_url], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "GASFLOW_INSTANCE": str(tmp_path)})
    try:
        bases = [server, f"http://127.0.0.1:{int(other.stdout.readline())}"]
        start, results, lock = threading.Barrier(6), [], threading.Lock()

        def client(n):
            start.wait()
            got = http_post(f"{bases[n % 2]}/api/v1/cases", inspector.token, body, "two-processes")
            with lock:
                results.append(got)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=90)
    finally:
        other.terminate()
        other.wait(timeout=30)
    assert [s for s, _b, _r in results] == [201] * 6 and all(b == results[0][1] for _s, b, _r in results), results
    assert count(app, Case) == 1 and count(app, IssuedDocument) == 1


# ---- web forms ------------------------------------------------------------------------------------
def token_of(html: bytes) -> str:
    match = re.search(rb'name="submission_token" value="([^"]+)"', html)
    assert match, "no submission token in the form"
    return match.group(1).decode()


def test_a_double_clicked_case_form_opens_one_case_and_shows_it(app, browser):
    from test_web_pages import local_deadline

    inspector = browser("keqiao_inspector")
    page = inspector.client.get("/cases/new/rectification").data
    form = {"enterprise_id": enterprise_id(app), "hazard_description": "调压箱漏气", "hazard_class": "II",
            "deadline_at": local_deadline(), "csrf_token": csrf_of(page), "submission_token": token_of(page)}
    first = inspector.client.post("/cases/new/rectification", data=form)
    second = inspector.client.post("/cases/new/rectification", data=form)
    assert first.status_code == 302 and second.status_code == 303
    assert second.headers["Location"] == first.headers["Location"]
    assert count(app, Case) == 1
    shown = inspector.client.get(second.headers["Location"]).data.decode()
    assert "此表单已提交过" in shown


def test_three_clicks_racing_open_one_case(app, browser):
    from test_web_pages import local_deadline

    inspector = browser("keqiao_inspector")
    page = inspector.client.get("/cases/new/rectification").data
    form = {"enterprise_id": enterprise_id(app), "hazard_description": "调压箱漏气", "hazard_class": "II",
            "deadline_at": local_deadline(), "csrf_token": csrf_of(page), "submission_token": token_of(page)}
    cookie = inspector.client.get_cookie("session")
    start, locations, lock = threading.Barrier(3), [], threading.Lock()

    def click():
        client = app.test_client()
        client.set_cookie(cookie.key, cookie.value)
        start.wait()
        resp = client.post("/cases/new/rectification", data=form)
        with lock:
            locations.append((resp.status_code, resp.headers.get("Location")))

    threads = [threading.Thread(target=click) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert len(locations) == 3 and len({loc for _s, loc in locations}) == 1, locations
    assert sorted(s for s, _loc in locations) == [302, 303, 303]
    assert count(app, Case) == 1 and count(app, IssuedDocument) == 1


def test_task_comment_and_data_forms_act_once(app, api, browser):
    from test_web_pages import task_link

    open_case = keyed(api("keqiao_inspector"), "/cases", rectification(app), "web-case").json["id"]
    staff = browser("kq_bottled_staff")
    task_id = task_link(staff.client.get("/?scope=group").data)
    page = staff.client.get(f"/tasks/{task_id}").data

    def complete():
        return staff.client.post(f"/tasks/{task_id}", content_type="multipart/form-data", data={
            "response": "已修复", "photos": [(io.BytesIO(PNG), "fixed.png", "image/png")],
            "csrf_token": csrf_of(page), "submission_token": token_of(page)})

    first, second = complete(), complete()
    assert first.status_code == 302 and second.status_code == 303
    assert second.headers["Location"] == first.headers["Location"]
    assert count(app, Task, Task.status == "completed") == 1
    assert count(app, Attachment, Attachment.filename == "fixed.png") == 1

    inspector = browser("keqiao_inspector")
    page = inspector.client.get(f"/cases/{open_case}").data
    comment = {"text": "请复查", "csrf_token": csrf_of(page), "submission_token": token_of(page)}
    first = inspector.client.post(f"/cases/{open_case}/comments", data=comment)
    second = inspector.client.post(f"/cases/{open_case}/comments", data=comment)
    assert (first.status_code, second.status_code) == (302, 303)
    assert count(app, CaseEvent, CaseEvent.event == "comment") == 1

    admin = browser("kq_bottled_admin")
    page = admin.client.get("/data/station/new").data
    record = {"external_id": "ST-1", "name": "华舍供应站", "station_type": "supply",
              "csrf_token": csrf_of(page), "submission_token": token_of(page)}
    first = admin.client.post("/data/station/new", data=record)
    second = admin.client.post("/data/station/new", data=record)
    assert first.status_code == second.status_code == 200
    assert second.headers.get("Idempotent-Replayed") == "true" and second.data == first.data
    assert b'id="resubmitted"' not in second.data  # the first answer itself, not "reported before"
    assert count(app, DataBatch) == 1


def test_a_refused_form_frees_its_token(app, browser):
    from test_web_pages import local_deadline

    inspector = browser("keqiao_inspector")
    page = inspector.client.get("/cases/new/rectification").data
    form = {"enterprise_id": enterprise_id(app), "hazard_description": "", "hazard_class": "II",
            "deadline_at": local_deadline(), "csrf_token": csrf_of(page), "submission_token": token_of(page)}
    assert inspector.client.post("/cases/new/rectification", data=form).status_code == 422
    fixed = inspector.client.post("/cases/new/rectification", data={**form, "hazard_description": "漏气"})
    assert fixed.status_code == 302 and count(app, Case) == 1


def test_a_form_that_did_not_act_is_not_replayed_as_its_result(app, api, browser):
    from test_web_pages import task_link

    keyed(api("keqiao_inspector"), "/cases", rectification(app), "web-case")
    staff = browser("kq_bottled_staff")
    task_id = task_link(staff.client.get("/?scope=group").data)
    page = staff.client.get(f"/tasks/{task_id}").data
    # Someone else completes the task while the form is open.
    other = api("kq_bottled_admin").post(f"/tasks/{task_id}/complete", {"data": {"response": "已修复"}})
    assert other.status_code == 200, other.json
    form = {"response": "已修复", "csrf_token": csrf_of(page), "submission_token": token_of(page)}
    for _attempt in range(2):
        refused = staff.client.post(f"/tasks/{task_id}", data=form)
        assert refused.status_code == 303 and "Idempotent-Replayed" not in refused.headers
        shown = staff.client.get(refused.headers["Location"]).data.decode()
        assert "此表单已提交过" not in shown and "您无权办理该任务" in shown
    assert count(app, IdempotencyKey) == 1  # the case's API key only
