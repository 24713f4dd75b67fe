"""Watching the platform (O4): liveness, readiness with its real dependencies, Prometheus metrics."""

from conftest import enterprise_id, future


def test_liveness_and_readiness(app):
    app.config["REDIS_URL"] = None  # the embedded default: jobs run inside the web process
    client = app.test_client()
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["checks"]["database"] == "ok"


def test_not_ready_when_the_database_is_unreachable(tmp_path, monkeypatch):
    from web.app import create_app

    monkeypatch.setenv("GASFLOW_INSTANCE", str(tmp_path))
    broken = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing/dir/gasflow.db",
                         "INPROCESS_TICKER": False}, migrate=False)
    resp = broken.test_client().get("/readyz")
    assert resp.status_code == 503 and resp.json["checks"]["database"].startswith("failed")


def test_ready_only_with_a_live_worker_on_its_own_queue(app, redis):
    import uuid

    from conftest import REDIS_URL
    from rq import Queue, Worker

    name = f"gasflow-test-{uuid.uuid4().hex[:8]}"
    app.config.update(REDIS_URL=REDIS_URL, QUEUE_NAME=name)
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503 and resp.json["checks"]["redis"] == "ok"
    assert resp.json["checks"]["workers"].startswith("failed")
    # A live worker of another queue (another platform on the same Redis) does not make this one ready.
    others = Worker([Queue(f"{name}-other", connection=redis)], connection=redis)
    ours = Worker([Queue(name, connection=redis)], connection=redis)
    try:
        others.register_birth()
        others.heartbeat()
        assert app.test_client().get("/readyz").status_code == 503
        ours.register_birth()
        ours.heartbeat()
        resp = app.test_client().get("/readyz")
        assert resp.status_code == 200 and resp.json["checks"]["workers"] == "ok (1)"
    finally:
        others.register_death()
        ours.register_death()


def test_metrics_count_requests_and_open_work(app, api):
    client = app.test_client()
    client.get("/healthz")
    resp = api("keqiao_inspector").post("/cases", {"process": "rectification", "data": {
        "enterprise_id": enterprise_id(app), "hazard_description": "报警器失效", "hazard_class": "II",
        "deadline_at": future()}})
    assert resp.status_code == 201
    text = client.get("/metrics").data.decode()
    assert 'gasflow_http_requests_total{endpoint="health.healthz",method="GET",status="200"}' in text
    assert 'gasflow_open_cases{process="rectification"} 1.0' in text
    assert 'gasflow_open_tasks{role="enterprise"} 1.0' in text
    assert "gasflow_http_request_seconds_bucket" in text
    app.config["METRICS_TOKEN"] = "s3cret"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_metrics_count_the_platforms_own_queue(app, redis):
    import uuid

    from conftest import REDIS_URL
    from rq import Queue

    from web.background.jobs import render_documents_job

    name = f"gasflow-test-{uuid.uuid4().hex[:8]}"
    app.config.update(REDIS_URL=REDIS_URL, QUEUE_NAME=name)
    queue = Queue(name, connection=redis)
    try:
        queue.enqueue(render_documents_job, [])  # waits: no worker listens on this queue
        text = app.test_client().get("/metrics").data.decode()
        assert "gasflow_job_queue_depth 1.0" in text
    finally:
        queue.delete(delete_jobs=True)
