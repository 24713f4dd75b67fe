"""Watching the platform itself (O4): liveness, readiness and Prometheus metrics.

``/healthz`` says the process answers; ``/readyz`` says it can work: the database answers, and in
production Redis answers and at least one RQ worker has sent a heartbeat lately. ``/metrics`` is
for Prometheus: requests and latencies per endpoint, open cases and tasks, the job queue's depth
and failures. Under gunicorn set ``PROMETHEUS_MULTIPROC_DIR`` so every worker process is counted.
"""
import os
import time
from datetime import UTC, datetime, timedelta

from flask import Blueprint, Response, current_app, g, jsonify, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select, text

from models import CASE_OPEN_STATUSES, TASK_OPEN, Case, Task

from .extensions import db

bp = Blueprint("health", __name__)
HEARTBEAT_WITHIN = timedelta(minutes=2)

REQUESTS = Counter("gasflow_http_requests_total", "HTTP requests", ["endpoint", "method", "status"])
LATENCY = Histogram("gasflow_http_request_seconds", "HTTP request latency", ["endpoint"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
AUDIT_FAILURES = Counter("gasflow_audit_write_failures_total", "Audit entries that could not be written")


def _redis():
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    from redis import Redis

    return Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def _checks() -> dict:
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any failure is "not ready", reported, never a 500
        db.session.rollback()
        checks["database"] = f"failed: {type(exc).__name__}"
    redis = _redis()
    if redis is None:
        checks["redis"] = checks["workers"] = "not used (jobs run inside the web process)"
        return checks
    try:
        redis.ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"failed: {type(exc).__name__}"
        checks["workers"] = "unknown"
        return checks
    from rq import Queue, Worker

    now = datetime.now(UTC)
    # Workers of this platform's queue: another platform's workers on the same Redis do not run its jobs.
    queue = Queue(current_app.config["QUEUE_NAME"], connection=redis)
    alive = [w for w in Worker.all(queue=queue)
             if w.last_heartbeat and now - w.last_heartbeat.replace(tzinfo=UTC) < HEARTBEAT_WITHIN]
    checks["workers"] = f"ok ({len(alive)})" if alive else "failed: no worker heartbeat in the last 2 minutes"
    return checks


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    checks = _checks()
    ready = all(v.startswith(("ok", "not used")) for v in checks.values())
    return jsonify({"status": "ready" if ready else "not ready", "checks": checks}), 200 if ready else 503


class _StateCollector:
    """Figures read from the database and Redis at scrape time, not counted in any one process."""

    def __init__(self, app):
        self.app = app

    def collect(self):
        with self.app.app_context():
            cases = GaugeMetricFamily("gasflow_open_cases", "Cases not yet closed (running or suspended)",
                                      labels=["process"])
            for key, n in db.session.execute(select(Case.process_key, func.count()).where(
                    Case.status.in_(CASE_OPEN_STATUSES)).group_by(Case.process_key)):
                cases.add_metric([key], n)
            yield cases
            tasks = GaugeMetricFamily("gasflow_open_tasks", "Open tasks", labels=["role"])
            for role, n in db.session.execute(select(Task.role, func.count()).where(
                    Task.status == TASK_OPEN).group_by(Task.role)):
                tasks.add_metric([role], n)
            yield tasks
            redis = _redis()
            if redis is not None:
                from rq import Queue

                queue = Queue(self.app.config["QUEUE_NAME"], connection=redis)
                yield GaugeMetricFamily("gasflow_job_queue_depth", "Jobs waiting", value=len(queue))
                yield GaugeMetricFamily("gasflow_job_failures", "Jobs in the failed registry",
                                        value=queue.failed_job_registry.count)
            db.session.remove()


def register(app):
    app.register_blueprint(bp)

    @app.before_request
    def _start_timer():
        g._started = time.perf_counter()

    @app.after_request
    def _count(response):
        endpoint = request.endpoint or "unmatched"  # unknown paths share one label, not one each
        REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
        if hasattr(g, "_started"):
            LATENCY.labels(endpoint).observe(time.perf_counter() - g._started)
        return response

    state = _StateCollector(app)

    @app.get("/metrics")
    def metrics():
        token = app.config.get("METRICS_TOKEN")
        if token and request.headers.get("Authorization", "") != f"Bearer {token}":
            return Response("metrics need the METRICS_TOKEN bearer\n", status=401, mimetype="text/plain")
        registry = CollectorRegistry()
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            multiprocess.MultiProcessCollector(registry)
        else:
            registry.register(_ProcessMetrics())
        registry.register(state)
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


class _ProcessMetrics:
    """This process's request counters (without the multiprocess directory, each process has its own)."""

    def collect(self):
        yield from REQUESTS.collect()
        yield from LATENCY.collect()
        yield from AUDIT_FAILURES.collect()
