"""The periodic jobs as data: each runs on its own interval, once per interval across every worker."""
import uuid

import pytest
from conftest import enterprise_id, future


def test_every_job_is_declared_with_a_name_an_interval_and_a_timeout(app):
    from web.background.schedule import SCHEDULE

    names = [job.name for job in SCHEDULE]
    assert names[0] == "timers" and len(set(names)) == len(names)
    assert {"timers", "overdue", "mailed", "data_checks", "documents"} <= set(names)
    assert all(job.interval(app) > 0 and job.timeout > 0 for job in SCHEDULE)


def test_the_embedded_scheduler_runs_each_job_when_its_interval_is_up(app, api, monkeypatch):
    from web.background.schedule import InProcessScheduler

    api("keqiao_inspector").post("/cases", {"process": "rectification", "data": {
        "enterprise_id": enterprise_id(app), "hazard_description": "x", "hazard_class": "I",
        "deadline_at": future(hours=1)}})
    now = [1000.0]
    scheduler = InProcessScheduler(app, clock=lambda: now[0])
    first = scheduler.run_due()
    assert set(first) == {"timers", "overdue", "mailed", "data_checks", "documents", "idempotency_keys",
                          "delivered", "warning_digest", "safety_scores", "data_timeliness", "calendar_reminder"}
    now[0] += 1
    assert scheduler.run_due() == {}  # nothing is due a second later
    now[0] += app.config["TIMER_INTERVAL_SECONDS"]
    assert set(scheduler.run_due()) == {"timers", "overdue", "mailed", "delivered", "documents"}  # data checks: 10 min
    now[0] += 600
    assert "data_checks" in scheduler.run_due()
    now[0] += 3600
    assert "idempotency_keys" in scheduler.run_due()


def test_two_workers_enqueue_each_job_once_per_interval(app, redis):
    from rq import Queue

    from web.background.schedule import SCHEDULE, enqueue_due

    queue = Queue(f"gasflow-test-schedule-{uuid.uuid4().hex[:6]}", connection=redis)
    try:
        first = enqueue_due(app, queue, redis)
        second = enqueue_due(app, queue, redis)  # another worker's scheduler, in the same interval
        assert first == [job.name for job in SCHEDULE] and second == []
        assert len(queue) == len(SCHEDULE)
        # Interval over, but the last runs are still queued: no second copy piles up behind them.
        for job in SCHEDULE:
            redis.delete(f"{queue.name}:periodic:{job.name}")
        assert enqueue_due(app, queue, redis) == [] and len(queue) == len(SCHEDULE)
    finally:
        queue.empty()
        for job in SCHEDULE:
            redis.delete(f"{queue.name}:periodic:{job.name}")


@pytest.mark.parametrize("name", ["timers", "documents"])
def test_a_periodic_job_runs_as_an_rq_job_of_its_own(app, redis, database_url, monkeypatch, name):
    from rq import Queue

    from web.background import jobs, schedule
    from web.background.queueing import worker_classes

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setattr(jobs, "_app", None)
    queue = Queue(f"gasflow-test-schedule-{uuid.uuid4().hex[:6]}", connection=redis)
    job = queue.enqueue(schedule.run_periodic_job, name)
    worker_classes()[1]([queue], connection=redis).work(burst=True)
    assert job.get_status() == "finished" and job.return_value() == 0


def test_a_daily_job_that_fails_gives_its_day_back_for_the_retry(app, monkeypatch):
    """The day is claimed before the day's work; if the work fails the claim is given back, so the job's retry (or
    the next round) does the day instead of finding it taken. A second round after a success finds it taken."""
    from sqlalchemy import select

    from models import Setting
    from web.background.schedule import daily_data_checks
    from web.extensions import db
    from workflows.services import data_checks

    def day():
        with app.app_context():
            return db.session.scalar(select(Setting.value).where(Setting.key == "data_checks_day"))

    with app.app_context():
        db.session.merge(Setting(key="data_checks_day", value="2000-01-01"))
        db.session.commit()
    real = data_checks.check_all
    monkeypatch.setattr(data_checks, "check_all", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        daily_data_checks(app)
    assert day() == "2000-01-01"  # given back
    ran = []
    monkeypatch.setattr(data_checks, "check_all", lambda *a, **k: ran.append(1) or real(*a, **k))
    daily_data_checks(app)
    assert ran == [1] and day() != "2000-01-01"
    daily_data_checks(app)
    assert ran == [1]  # the day is taken now


def test_a_round_whose_day_is_behind_does_not_take_back_a_later_one(app):
    """Just after midnight a round still on yesterday's date finds the row at today: it neither runs nor moves it."""
    from sqlalchemy import select

    from models import Setting
    from web.background.schedule import daily_data_checks
    from web.extensions import db

    with app.app_context():
        db.session.merge(Setting(key="data_checks_day", value="2999-01-01"))
        db.session.commit()
    assert daily_data_checks(app) == 0
    with app.app_context():
        assert db.session.scalar(select(Setting.value).where(Setting.key == "data_checks_day")) == "2999-01-01"


def test_a_day_whose_round_died_in_the_work_is_taken_over_after_its_lease(app):
    """A round killed in the day's work leaves the day marked as being done: another round leaves it while the
    lease runs, and does the day once it has run out."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select

    from models import Setting
    from web.background.schedule import LEASE_SECONDS, daily_data_checks
    from web.extensions import db
    from workflows.engine import clock
    from workflows.services.shanghai_time import day_of

    now = datetime(2027, 3, 2, 4, 0, tzinfo=UTC)
    today = day_of(now).isoformat()

    def mark(value=None):
        with app.app_context():
            if value is not None:
                db.session.merge(Setting(key="data_checks_day", value=value))
                db.session.commit()
            return db.session.scalar(select(Setting.value).where(Setting.key == "data_checks_day"))

    began = int(now.timestamp()) - LEASE_SECONDS + 60  # a minute of the lease left
    mark(f"{today}~{began:012d}")
    with clock.frozen_at(now):
        assert daily_data_checks(app) == 0
    assert mark() == f"{today}~{began:012d}"
    with clock.frozen_at(now + timedelta(minutes=2)):  # run out
        daily_data_checks(app)
    assert mark() == today  # done by this round
    with clock.frozen_at(now + timedelta(hours=3)):
        assert daily_data_checks(app) == 0  # and not again that day
