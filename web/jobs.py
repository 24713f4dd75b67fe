"""Periodic work: firing due BPMN timers, telling people about overdue tasks, mailing notifications.

With REDIS_URL the job runs on RQ workers (``gasflow worker``), enqueued by a ticker
that holds a short Redis lock so that many workers enqueue it once per interval.
Without Redis (the embedded default) a daemon thread in the web process runs it.
"""
import logging
import threading
import time

log = logging.getLogger(__name__)
_app = None


def periodic(app) -> dict:
    """One round of the periodic work; returns what each step did.

    Timers fire first: a task a timer interrupts is no longer open, so nobody is told it is
    overdue, and the notifications written in this round are mailed in the same round.
    One step failing does not keep the others from running; its error is raised afterwards so
    that the round shows as failed (in the log, or as a failed RQ job) and is retried next round.
    """
    from . import case_engine
    from .idempotency import prune_expired
    from .mail import send_pending_mail

    engine = case_engine(app)
    steps = {"timers": engine.run_due_timers, "overdue": engine.notify_overdue,
             "mailed": lambda: send_pending_mail(app), "data_checks": lambda: daily_data_checks(app),
             "documents": lambda: render_documents(app), "idempotency_keys": lambda: prune_expired(app)}
    done, failure = {}, None
    for name, step in steps.items():
        try:
            done[name] = step()
        except Exception as exc:
            log.exception("periodic step %s failed", name)
            done[name], failure = 0, failure or exc
    if failure is not None:
        raise failure
    return done


def daily_data_checks(app) -> int:
    """Once a day (the first round after midnight, Shanghai time): warnings that time alone brings,
    such as a cylinder's inspection falling due. Returns the warnings open after it, or 0 if not run."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from sqlalchemy import update

    from models import Setting
    from workflows.data_checks import check_all

    from . import case_engine

    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    engine = case_engine(app)
    with engine.sessions() as s:
        if s.get(Setting, "data_checks_day") is None:
            s.add(Setting(key="data_checks_day", value=""))
            s.commit()
        # The UPDATE is the claim: with several workers, only the one whose UPDATE changed the row runs.
        claimed = s.execute(update(Setting).where(Setting.key == "data_checks_day", Setting.value != today)
                            .values(value=today)).rowcount
        s.commit()
        if not claimed:
            return 0
        return check_all(s, datetime.now(ZoneInfo("UTC")), engine)


def configure_documents(app) -> None:
    """Who renders the PDFs of the documents a transition issued, once it has committed: this
    process right away, or the RQ workers. The periodic round renders whatever either left pending."""
    from workflows.documents.dispatch import dispatch_with

    from .extensions import db

    mode = app.config.get("DOCUMENTS_RENDER") or ("queue" if app.config.get("REDIS_URL") else "inline")
    if mode not in ("inline", "queue") or (mode == "queue" and not app.config.get("REDIS_URL")):
        raise RuntimeError(f"GASFLOW_DOCUMENTS_RENDER={mode!r}: use 'inline', or 'queue' with REDIS_URL set")
    with app.app_context():
        bind = db.engine
    if mode == "inline":
        dispatch_with(bind, None)
        return
    from redis import Redis
    from rq import Queue

    queue = Queue(app.config["QUEUE_NAME"], connection=Redis.from_url(app.config["REDIS_URL"]))
    dispatch_with(bind, lambda ids: enqueue(queue, render_documents_job, ids, job_timeout=120))


def render_documents(app, ids=None) -> int:
    """Render the issued documents still waiting for their PDF; returns how many were rendered."""
    from workflows.documents.issue import render_pending

    from . import case_engine

    with case_engine(app).sessions() as s:
        return render_pending(s, ids)


def _worker_app():
    global _app
    if _app is None:
        from . import create_app

        _app = create_app(migrate=False)
    return _app


def render_documents_job(ids: list[int]) -> int:
    """RQ job: the PDFs of the documents a transition has just issued."""
    return render_documents(_worker_app(), ids)


def run_timers_job() -> int:
    """RQ job entry point; builds the app once per worker process. Returns the cases whose timers fired."""
    return periodic(_worker_app())["timers"]


def start_inprocess_ticker(app, interval: int) -> threading.Thread:
    def loop():
        while True:
            time.sleep(interval)
            try:
                done = periodic(app)
                if any(done.values()):
                    log.info("periodic job: %s", done)
            except Exception:  # keep ticking; the next round retries what failed
                log.exception("timer tick failed")

    thread = threading.Thread(target=loop, name="gasflow-ticker", daemon=True)
    thread.start()
    return thread


def start_redis_ticker(redis_url: str, interval: int, queue_name: str = "gasflow") -> threading.Thread:
    from redis import Redis
    from rq import Queue

    conn = Redis.from_url(redis_url)
    queue = Queue(queue_name, connection=conn)

    def loop():
        while True:
            try:
                if conn.set(f"{queue_name}:timer-tick", "1", nx=True, ex=interval):
                    enqueue(queue, run_timers_job, job_timeout=max(interval * 4, 60), result_ttl=interval * 10)
            except Exception:
                log.exception("could not enqueue the timer job")
            time.sleep(interval)

    thread = threading.Thread(target=loop, name="gasflow-rq-ticker", daemon=True)
    thread.start()
    return thread


# A worker can die in the middle of a job (OOM killer, a host lost, SIGKILL on deploy). Its transaction
# is then rolled back by the database, and the job stays in RQ's StartedJobRegistry until its heartbeat
# lapses (the job's timeout, at most RQ's 30 s monitoring interval, plus 60 s). A live worker's registry
# maintenance then finds it: with retries left it is queued again, else it goes to the failed registry.
# RQ runs that maintenance every 10 minutes by default (and an idle worker wakes for it every 405 s);
# once a minute here, so an abandoned job runs again within about two and a half minutes. Every job
# must therefore be safe to run again after a rollback, which the engine's one transaction per
# transition gives.
JOB_RETRIES = 3
MAINTENANCE_SECONDS = 60


def enqueue(queue, func, *args, job_timeout: int = 300, **kwargs):
    """Enqueue with the platform's retry policy: a job abandoned by a dead worker, or failing, runs again."""
    from rq import Retry

    return queue.enqueue(func, *args, job_timeout=job_timeout, retry=Retry(max=JOB_RETRIES), **kwargs)


def make_worker(conn, queue_names=("gasflow",)):
    import os

    from rq import Queue, Worker

    interval = int(os.environ.get("GASFLOW_WORKER_MAINTENANCE", MAINTENANCE_SECONDS))
    # An idle worker only wakes (and so only does maintenance) when its blocking dequeue times out,
    # after worker_ttl - 15 s: 405 s by default. Waking once per maintenance interval keeps it on time.
    return Worker([Queue(name, connection=conn) for name in queue_names], connection=conn,
                  maintenance_interval=interval, worker_ttl=interval + 15)
