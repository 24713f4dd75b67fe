"""The RQ jobs' entry points: each runs on the app the worker process builds once."""
from .queueing import render_documents

_app = None


def worker_app():
    global _app
    if _app is None:
        from web.app import create_app

        _app = create_app(migrate=False)
    return _app


def render_documents_job(ids: list[int]) -> int:
    """RQ job: the PDFs of the documents a transition has just issued."""
    return render_documents(worker_app(), ids)
