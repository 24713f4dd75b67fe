"""The RQ jobs' entry points: each runs on the app the worker process builds once."""
from .queueing import render_documents, render_waiting

_app = None


def worker_app():
    global _app
    if _app is None:
        from web.app import create_app

        _app = create_app(migrate=False)
    return _app


def render_documents_job(ids: list[int]) -> int:
    """RQ job: the PDFs of documents ``ids`` (as queued before render_waiting_documents_job: a queue
    that holds such jobs still runs them)."""
    return render_documents(worker_app(), ids)


def render_waiting_documents_job(queue_name: str) -> int:
    """RQ job: the PDFs of the documents waiting in the list of ``queue_name`` (queueing.ask_to_render)."""
    from rq import get_current_job

    return render_waiting(worker_app(), get_current_job().connection, queue_name)
