"""The periodic timer job as production runs it: enqueued on Redis, executed by an RQ worker."""
import os
from datetime import UTC, datetime, timedelta

import pytest
from conftest import enterprise_id, future

REDIS_URL = os.environ.get("REDIS_URL")


@pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL not set (CI sets it for the PostgreSQL run)")
def test_rq_worker_fires_due_timers(app, api, database_url, monkeypatch):
    from redis import Redis
    from rq import Queue

    from web.background import jobs, schedule
    from web.background.queueing import worker_classes

    case = api("keqiao_inspector").post("/cases", {"process": "rectification", "data": {
        "enterprise_id": enterprise_id(app), "hazard_description": "x", "hazard_class": "I",
        "deadline_at": future(hours=1)}}).json
    # The worker builds its own app from the environment, as `gasflow worker` does.
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setattr(jobs, "_app", None)
    conn = Redis.from_url(REDIS_URL)
    queue = Queue("gasflow-test", connection=conn)
    queue.empty()
    # Two hours on: the job sees the deadline passed.
    from workflows.engine import clock

    with clock.frozen_at(datetime.now(UTC) + timedelta(hours=2)):
        job = queue.enqueue(schedule.run_periodic_job, "timers")
        worker_classes()[1]([queue], connection=conn).work(burst=True)
    assert job.get_status() == "finished" and job.return_value() == 1
    tasks = api("keqiao_supervisor").get("/tasks?scope=group").json["items"]
    assert [(t["case_id"], t["name"]) for t in tasks] == [(case["id"], "Task_escalate")]


def test_gasflow_tick_command_fires_nothing_early(app, api, database_url, monkeypatch):
    from click.testing import CliRunner

    from web.cli import main

    api("keqiao_inspector").post("/cases", {"process": "rectification", "data": {
        "enterprise_id": enterprise_id(app), "hazard_description": "x", "hazard_class": "I",
        "deadline_at": future(hours=1)}})
    monkeypatch.setenv("DATABASE_URL", database_url)
    result = CliRunner().invoke(main, ["tick"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "timers fired on 0 cases"
