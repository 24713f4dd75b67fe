"""Background work on RQ: the retry policy, the worker, and who renders issued documents' PDFs. The
jobs' entry points (which build the worker's app) are in ``jobs``; what runs periodically, in ``schedule``."""


def configure_documents(app) -> None:
    """Who renders the PDFs of the documents a transition issued, once it has committed: this
    process right away, or the RQ workers. The periodic round renders whatever either left pending."""
    from web.extensions import db
    from workflows.services.documents.dispatch import dispatch_with

    mode = app.config.get("DOCUMENTS_RENDER") or ("queue" if app.config.get("REDIS_URL") else "inline")
    if mode not in ("inline", "queue", "sweep") or (mode == "queue" and not app.config.get("REDIS_URL")):
        raise RuntimeError(f"GASFLOW_DOCUMENTS_RENDER={mode!r}: use 'inline', 'sweep', or 'queue' with REDIS_URL set")
    with app.app_context():
        bind = db.engine
    if mode == "inline":
        dispatch_with(bind, lambda ids: render_documents_now(app, ids), in_process=True)
        return
    if mode == "sweep":
        # Nothing renders after the commit: the periodic round does (web processes that must not spend
        # their CPU on PDFs, and tests that are not about documents).
        dispatch_with(bind, lambda ids: None)
        return
    from redis import Redis
    from rq import Queue

    queue = Queue(app.config["QUEUE_NAME"], connection=Redis.from_url(app.config["REDIS_URL"]))
    add_and_mark = queue.connection.register_script(_ADD_AND_MARK)
    dispatch_with(bind, lambda ids: ask_to_render(queue, ids, add_and_mark))


# The documents committed for rendering wait in a Redis list of the queue's, and one job at a time is queued
# to render what the list holds, not a job per commit: queueing an RQ job (its hash, the queue's list, the
# registry of queues, the retry policy) cost about 3 % of an API request's CPU; adding to the list (with the
# mark's check), one command. The mark says a job is queued and has not yet started: a commit that finds it
# set queues none. A job clears the mark before it takes the first ids, so a commit after that queues the
# next job. Whatever a job took and did not render (a failure, a worker that died) stays pending in the
# database, and the periodic round renders it; the mark lapses after RENDER_MARK_S should its job be lost.
RENDER_MARK_S = 120
_LIST_KEPT_S = 24 * 3600  # ids older than that were rendered by the periodic round long since
_BATCH = 200


def _render_keys(queue_name: str) -> tuple[str, str]:
    return f"gasflow:{queue_name}:documents-to-render", f"gasflow:{queue_name}:documents-render-queued"


# The ids added to the list (kept a day from the last addition) and the mark set if it was not: one command,
# whose answer says whether this commit set the mark.
_ADD_AND_MARK = """
redis.call('RPUSH', KEYS[1], unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[1], ARGV[1])
if redis.call('SET', KEYS[2], 1, 'NX', 'EX', ARGV[2]) then return 1 end
return 0
"""


def ask_to_render(queue, ids: list[int], add_and_mark) -> None:
    """After the commit that issued documents ``ids``: have the queue's workers render them
    (``add_and_mark``: _ADD_AND_MARK as registered on the queue's connection)."""
    if add_and_mark(keys=_render_keys(queue.name), args=[_LIST_KEPT_S, RENDER_MARK_S, *ids]):
        # By name: the entry point builds the worker's app, which imports this module.
        enqueue(queue, "web.background.jobs.render_waiting_documents_job", queue.name, job_timeout=600)


def render_waiting(app, connection, queue_name: str) -> int:
    """The documents in ``queue_name``'s list, rendered (the RQ job ``ask_to_render`` queues)."""
    waiting, mark = _render_keys(queue_name)
    connection.delete(mark)
    done = 0
    while ids := connection.lpop(waiting, _BATCH):
        done += render_documents(app, [int(i) for i in ids])
    return done


def render_documents_now(app, ids) -> int:
    """Render right after the commit that issued them (the embedded default). Called from the committing
    session's after_commit hook, where that session cannot run statements: the rendering is a unit of
    work of its own, in an app context pushed for it (a session of the same factory)."""
    from web.common.unit_of_work import unit_of_work
    from workflows.services.documents.issue import render_pending

    with app.app_context(), unit_of_work(app) as s:
        return render_pending(s, ids)


def render_documents(app, ids=None) -> int:
    """Render the issued documents still waiting for their PDF; returns how many were rendered."""
    from web.extensions import case_engine
    from workflows.services.documents.issue import render_pending

    with case_engine(app).sessions() as s:
        return render_pending(s, ids)


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


def _prompt_exit(worker_class):
    """``worker_class`` with a worker that exits at once when it stops (a burst's end, a warm shutdown).
    RQ's worker listens for commands on a pubsub thread blocked in reads of up to 60 s; on the way out it
    sends UNSUBSCRIBE and then stops that thread and waits for it. When the worker's main thread loses the
    CPU between the two, the thread has already read the UNSUBSCRIBE reply and gone back to a 60 s read,
    and the worker hangs that minute before it exits (seen on a loaded machine: a worker rendering one
    PDF took 62 s to end; reproduced by delaying the main thread 0.3 s after UNSUBSCRIBE). Reads of at
    most a second bound that to a second; an idle read costs no command to Redis."""

    class PromptExit(worker_class):
        def subscribe(self):
            # RQ's own subscribe (rq/worker/base.py), with the thread's read timeout the only change.
            self.log.info("Worker %s: subscribing to channel %s", self.name, self.pubsub_channel_name)
            self.pubsub = self.connection.pubsub()
            self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
            self.pubsub_thread = self.pubsub.run_in_thread(
                sleep_time=1, daemon=True, exception_handler=self._pubsub_exception_handler)

    PromptExit.__name__ = PromptExit.__qualname__ = worker_class.__name__
    return PromptExit


def worker_classes():
    """The platform's RQ worker (a work horse per job) and its in-process kind, both exiting promptly."""
    from rq import SimpleWorker, Worker

    return _prompt_exit(Worker), _prompt_exit(SimpleWorker)


def make_worker(conn, queue_names=("gasflow",)):
    import os

    from rq import Queue

    Worker, _ = worker_classes()
    interval = int(os.environ.get("GASFLOW_WORKER_MAINTENANCE", MAINTENANCE_SECONDS))
    # An idle worker only wakes (and so only does maintenance) when its blocking dequeue times out,
    # after worker_ttl - 15 s: 405 s by default. Waking once per maintenance interval keeps it on time.
    return Worker([Queue(name, connection=conn) for name in queue_names], connection=conn,
                  maintenance_interval=interval, worker_ttl=interval + 15)
