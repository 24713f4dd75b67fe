"""The periodic jobs, declared as data: a name, what runs, how often and for how long at most.

With REDIS_URL each job runs as an RQ job of its own on `gasflow worker`; every worker runs the
scheduler, and a Redis key per job (SET NX with the job's interval as its expiry) lets one of them
enqueue it per interval, while a job still queued or running is not enqueued again. Without Redis,
`gasflow serve` runs the same list in a thread of its own. Adding periodic work is adding a line to
``SCHEDULE``.
"""
import logging
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    run: Callable  # run(app) -> a count of what it did, for the log and the job's result
    # Seconds between two runs; None: the platform's timer interval (GASFLOW_TIMER_INTERVAL, 30 s).
    every: int | None
    timeout: int  # seconds an RQ worker lets one run take before it is stopped and retried

    def interval(self, app) -> int:
        return self.every or app.config["TIMER_INTERVAL_SECONDS"]


def _fire_timers(app) -> int:
    from web.extensions import case_engine

    return case_engine(app).run_due_timers()


def _notify_overdue(app) -> int:
    from web.extensions import case_engine

    return case_engine(app).notify_overdue()


def _send_mail(app) -> int:
    from .mail import send_pending_mail

    return send_pending_mail(app)


def _deliver(app) -> int:
    from web.common.dataflow import cipher
    from web.extensions import case_engine
    from workflows.engine import clock
    from workflows.services.channels import deliver_pending

    with app.app_context(), case_engine(app).sessions() as s:
        return deliver_pending(s, app.config, cipher().decrypt, clock.now())


# While a round does a day's work the row reads "<day>~<when it began, epoch seconds>", and "<day>" once done. A
# round that died in the work (killed, its machine lost) leaves the first: after this long another round takes the
# day over, as RQ runs an abandoned job again. Longer than any job's timeout.
LEASE_SECONDS = 3600


@contextmanager
def _day_claimed(s, key: str, today: str):
    """Whether this round has the day of ``key`` (a Setting holding the last day run), for the block's work. The
    UPDATE is the claim: with several workers, only the one whose UPDATE changed the row does the day's work. If the
    work fails, the claim is given back (the row's earlier value), so the job's retry or the next round does the
    day instead of finding it taken and the day's work lost; if the round dies in it, its lease runs out."""
    from sqlalchemy import or_, update

    from models import Setting
    from workflows.engine import clock

    row = s.get(Setting, key)
    if row is None:
        s.add(Setting(key=key, value=""))
        s.commit()
        previous = ""
    else:
        previous = row.value
    began = int(clock.now().timestamp())
    running = f"{today}~{began:012d}"
    # Days and ISO weeks sort as text, and "<day>~…" after "<day>". Only an earlier day takes the row, so a round
    # whose "today" is already yesterday's, just after midnight, does not take back a day others moved on from;
    # or this day's lease, run out.
    claimed = s.execute(update(Setting).where(
        Setting.key == key,
        or_(Setting.value < today,
            (Setting.value > f"{today}~") & (Setting.value < f"{today}~{began - LEASE_SECONDS:012d}")),
    ).values(value=running)).rowcount
    s.commit()
    if not claimed:
        yield False
        return
    try:
        yield True
    except BaseException:
        s.rollback()
        # ``previous`` was read before the claim: if it was today's (another round had it, and failed or died
        # meanwhile), giving it back would keep the day taken.
        back = previous if previous < today else ""
        s.execute(update(Setting).where(Setting.key == key, Setting.value == running).values(value=back))
        s.commit()
        raise
    s.execute(update(Setting).where(Setting.key == key, Setting.value == running).values(value=today))
    s.commit()


def daily_data_checks(app) -> int:
    """Once a day (the first round after midnight, Shanghai time): warnings that time alone brings,
    such as a cylinder's inspection falling due (and, 30 days ahead, the notice that it will). Returns the
    warnings open after it and the notices written, or 0 if not run."""
    from web.extensions import case_engine
    from workflows.engine import clock
    from workflows.services.data_checks import check_all
    from workflows.services.shanghai_time import day_of

    now = clock.now()  # the real time, or the instant a test sets
    today = day_of(now).isoformat()
    engine = case_engine(app)
    with engine.sessions() as s:
        with _day_claimed(s, "data_checks_day", today) as ours:
            if not ours:
                return 0
            from workflows.services.certificate_register import daily as certificates_daily
            from workflows.services.cylinder_notices import send_due_notices

            done = check_all(s, now, engine) + certificates_daily(s, now, engine)
            done += send_due_notices(s, now)  # cylinders whose inspection falls due within 30 days
            s.commit()
            return done


def weekly_warning_digest(app) -> int:
    """The first round of each week (Beijing time): the counties' digest of last week's warnings that
    the decision table warning_response leaves to it. Returns the counties told, 0 if not run."""
    from web.extensions import case_engine
    from workflows.engine import clock
    from workflows.services.warning_digest import send_weekly_digest

    with case_engine(app).sessions() as s:
        told = send_weekly_digest(s, clock.now())
        s.commit()
        return told


def daily_safety_scores(app) -> int:
    """Once a day (the first round after midnight, Shanghai time): the safety scores of the day just ended,
    stored with every rule's points; after a quarter's last day, that quarter's credit grades as drafts for
    the city admin to publish. Returns the scores stored, or 0 if another round had the day."""
    from datetime import timedelta

    from forms.data_kinds import PERIODIC
    from web.extensions import case_engine
    from workflows.engine import clock
    from workflows.services import safety_scores
    from workflows.services.shanghai_time import day_of

    now = clock.now()
    today = day_of(now)
    with case_engine(app).sessions() as s:
        with _day_claimed(s, "safety_scores_day", today.isoformat()) as ours:
            if not ours:
                return 0
            yesterday = today - timedelta(days=1)
            stored = safety_scores.store_day(s, PERIODIC, yesterday, now)
            if today.month in (1, 4, 7, 10) and today.day == 1:
                safety_scores.compute_grades(s, None, today, now)  # the quarter that just ended
            s.commit()
            return stored


def daily_data_timeliness(app) -> int:
    """Once a day (the first round after midnight, Shanghai time): the periodic reports missing at their limit
    (one warning and one notice each) and those that came late (§7.1.2). Returns the periods newly found
    missing, or 0 if another round had the day."""
    from flask_babel import force_locale

    from forms.data_kinds import PERIODIC
    from web.extensions import case_engine
    from workflows.engine import clock
    from workflows.services import data_timeliness
    from workflows.services.shanghai_time import day_of

    now = clock.now()
    today = day_of(now).isoformat()
    engine = case_engine(app)
    with app.app_context(), engine.sessions() as s:
        with _day_claimed(s, "data_timeliness_day", today) as ours:
            if not ours:
                return 0
            with force_locale("zh"):  # the warning and the notice are stored text, read in Chinese
                names = {k.key: str(k.label) for k in PERIODIC}
            found = data_timeliness.check(s, PERIODIC, names, now, engine)
            s.commit()
            return found


def weekly_calendar_reminder(app) -> int:
    """The first round of each week (Beijing time): the city admins told of the years whose holidays the
    working-day calendar does not know yet, until they are entered. Returns the admins told, 0 if not run."""
    from web.extensions import case_engine
    from workflows.engine import clock
    from workflows.services import working_days
    from workflows.services.shanghai_time import day_of

    now = clock.now()
    year, week, _day = day_of(now).isocalendar()
    with case_engine(app).sessions() as s:
        with _day_claimed(s, "calendar_reminder_week", f"{year}-W{week:02d}") as ours:
            if not ours:
                return 0
            told = working_days.remind_to_enter(s, now)
            s.commit()
            return told


def _prune_idempotency_keys(app) -> int:
    from web.common.idempotency import prune_expired

    return prune_expired(app)


def _render_documents(app) -> int:
    from .queueing import render_documents

    return render_documents(app)


# In this order when run together (`gasflow tick`, the embedded ticker's first round): timers first,
# since a task a timer interrupts is no longer open and nobody should be told it is overdue; mail after
# the notices, so those written in the round go out in it.
SCHEDULE: tuple[PeriodicJob, ...] = (
    PeriodicJob("timers", _fire_timers, every=None, timeout=300),
    PeriodicJob("overdue", _notify_overdue, every=None, timeout=300),
    PeriodicJob("mailed", _send_mail, every=None, timeout=300),
    # Group robots and SMS: the outbox written with the notifications, retried with growing pauses.
    PeriodicJob("delivered", _deliver, every=None, timeout=300),
    # Runs its checks once a day (it claims the day itself); asking every ten minutes finds the new day.
    PeriodicJob("data_checks", daily_data_checks, every=600, timeout=1800),
    # Claims its week itself, like data_checks; asking every ten minutes finds the new week.
    PeriodicJob("warning_digest", weekly_warning_digest, every=600, timeout=600),
    # The periodic reports missing or late at their limit (§7.1.2), once a day; it claims the day itself.
    PeriodicJob("data_timeliness", daily_data_timeliness, every=600, timeout=1800),
    # The years whose holidays are still to be entered, to the city admins once a week; it claims the week itself.
    PeriodicJob("calendar_reminder", weekly_calendar_reminder, every=600, timeout=600),
    # Yesterday's safety scores (and a quarter's draft credit grades), once a day; it claims the day itself.
    PeriodicJob("safety_scores", daily_safety_scores, every=600, timeout=1800),
    # What no process rendered after its commit (a queue that was down, a worker that died).
    PeriodicJob("documents", _render_documents, every=None, timeout=600),
    # Idempotency keys are kept 24 h; an expired one is already ignored, this only frees the space.
    PeriodicJob("idempotency_keys", _prune_idempotency_keys, every=3600, timeout=600),
)
JOBS = {job.name: job for job in SCHEDULE}


def run_all(app) -> dict:
    """Every job once, in the schedule's order; returns what each did. One failing does not keep the
    others from running; its error is raised afterwards, so the round shows as failed and is retried."""
    done, failure = {}, None
    for job in SCHEDULE:
        try:
            done[job.name] = job.run(app)
        except Exception as exc:
            log.exception("periodic job %s failed", job.name)
            done[job.name], failure = 0, failure or exc
    if failure is not None:
        raise failure
    return done


class InProcessScheduler:
    """The schedule in a thread of the web process (the embedded default, no Redis)."""

    def __init__(self, app, clock: Callable[[], float] = time.monotonic):
        self.app, self.clock = app, clock
        self.next_at = {job.name: 0.0 for job in SCHEDULE}

    def run_due(self) -> dict:
        """Run the jobs that are due; returns what each did."""
        done, now = {}, self.clock()
        for job in SCHEDULE:
            if self.next_at[job.name] > now:
                continue
            self.next_at[job.name] = now + job.interval(self.app)
            try:
                done[job.name] = job.run(self.app)
            except Exception:  # the next run retries what failed
                log.exception("periodic job %s failed", job.name)
        return done

    def seconds_to_next(self) -> float:
        return max(0.5, min(self.next_at.values()) - self.clock())

    def start(self, first_after: float) -> threading.Thread:
        def loop():
            time.sleep(first_after)
            while True:
                done = self.run_due()
                if any(done.values()):
                    log.info("periodic jobs: %s", done)
                time.sleep(self.seconds_to_next())

        thread = threading.Thread(target=loop, name="gasflow-scheduler", daemon=True)
        thread.start()
        return thread


def job_id(queue_name: str, name: str) -> str:
    return f"{queue_name}-periodic-{name}"


def enqueue_due(app, queue, conn) -> list[str]:
    """Enqueue each job whose interval has run out, once across every worker; returns their names."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    from .queueing import enqueue

    enqueued = []
    for job in SCHEDULE:
        interval = job.interval(app)
        if not conn.set(f"{queue.name}:periodic:{job.name}", "1", nx=True, ex=interval):
            continue  # another worker's scheduler has it for this interval
        ident = job_id(queue.name, job.name)
        try:
            if Job.fetch(ident, connection=conn).get_status(refresh=False) in ("queued", "started", "deferred",
                                                                                "scheduled"):
                continue  # the last run is not over: a slow job is not piled up behind itself
        except NoSuchJobError:
            pass
        enqueue(queue, run_periodic_job, job.name, job_id=ident, job_timeout=job.timeout,
                result_ttl=interval * 10, failure_ttl=86400)
        enqueued.append(job.name)
    return enqueued


def run_periodic_job(name: str) -> int:
    """RQ job entry point: one periodic job, on the app the worker process builds once."""
    from .jobs import worker_app

    return JOBS[name].run(worker_app())


def start_redis_scheduler(app, redis_url: str, queue_name: str) -> threading.Thread:
    from redis import Redis
    from rq import Queue

    conn = Redis.from_url(redis_url)
    queue = Queue(queue_name, connection=conn)
    tick = max(1, min(job.interval(app) for job in SCHEDULE) // 2)

    def loop():
        while True:
            try:
                enqueue_due(app, queue, conn)
            except Exception:
                log.exception("could not enqueue the periodic jobs")
            time.sleep(tick)

    thread = threading.Thread(target=loop, name="gasflow-rq-scheduler", daemon=True)
    thread.start()
    return thread
