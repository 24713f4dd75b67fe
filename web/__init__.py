"""gasflow's web layer: ``web.app`` builds the Flask app; the pages (``web.pages``) and the REST API
(``web.api``) sit on what they share (``web.common``); ``web.background`` runs the jobs, ``web.cli`` is the
``gasflow`` command.

``web:create_app`` stays the WSGI entry point (gunicorn 'web:create_app()'). It is looked up when asked
for, so importing a module of the package does not build the whole app's imports first.
"""

__all__ = ["create_app"]


def __getattr__(name: str):
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
