"""Periodic work: firing due BPMN timers.

With REDIS_URL the job runs on RQ workers (``gasflow worker``), enqueued by a ticker
that holds a short Redis lock so that many workers enqueue it once per interval.
Without Redis (the embedded default) a daemon thread in the web process runs it.
"""
import logging
import threading
import time

log = logging.getLogger(__name__)
_app = None


def run_timers_job() -> int:
    """RQ job entry point; builds the app once per worker process."""
    global _app
    if _app is None:
        from . import create_app

        _app = create_app(migrate=False)
    from . import case_engine

    return case_engine(_app).run_due_timers()


def start_inprocess_ticker(app, interval: int) -> threading.Thread:
    from . import case_engine

    def loop():
        while True:
            time.sleep(interval)
            try:
                fired = case_engine(app).run_due_timers()
                if fired:
                    log.info("fired timers on %s cases", fired)
            except Exception:  # keep ticking; the next round retries what failed
                log.exception("timer tick failed")

    thread = threading.Thread(target=loop, name="gasflow-ticker", daemon=True)
    thread.start()
    return thread


def start_redis_ticker(redis_url: str, interval: int) -> threading.Thread:
    from redis import Redis
    from rq import Queue

    conn = Redis.from_url(redis_url)
    queue = Queue("gasflow", connection=conn)

    def loop():
        while True:
            try:
                if conn.set("gasflow:timer-tick", "1", nx=True, ex=interval):
                    queue.enqueue(run_timers_job, job_timeout=max(interval * 4, 60), result_ttl=interval * 10)
            except Exception:
                log.exception("could not enqueue the timer job")
            time.sleep(interval)

    thread = threading.Thread(target=loop, name="gasflow-rq-ticker", daemon=True)
    thread.start()
    return thread
