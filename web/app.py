"""Flask application factory."""
from pathlib import Path

from flask import Flask, has_request_context, request, session
from flask_login import current_user

from forms import FORMS
from web.common import cookie_session, hostile_input, http_errors, static_versions, task_context, unit_of_work
from web.common.params import IdConverter
from web.reference.checklists import load_checklists
from web.reference.regions import load_regions
from web.reference.threshold_rules import load_threshold_rules
from workflows.engine import restricted
from workflows.engine.case_engine import CaseEngine
from workflows.services import working_days
from workflows.services.handlers import HANDLERS

from .config import load_config
from .database import engine_options, keep_prepared_statements, ping_after_idle, upgrade
from .extensions import babel, csrf, db, login_manager

LOCALES = ("zh", "en")


def select_locale():
    if not has_request_context():
        return "zh"  # jobs and commands (the demo data, mails) speak the platform's language
    chosen = session.get("locale") or request.cookies.get("locale")
    if chosen in LOCALES:
        return chosen
    # Chinese first: the platform speaks Chinese unless a user picks English in the header,
    # whatever language the browser happens to be set to.
    return "zh"


def create_app(overrides: dict | None = None, migrate: bool = True) -> Flask:
    app = Flask(__name__, instance_relative_config=False)
    app.url_map.converters["int"] = IdConverter  # ids beyond any row are 404, not a database overflow
    app.config.update(load_config(overrides))
    app.session_interface = cookie_session.SessionInterface()
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options(app.config["SQLALCHEMY_DATABASE_URI"]))
    restricted.configure(app.config["SCRIPT_CPU_SECONDS"], app.config["SCRIPT_MEMORY_MB"])

    db.init_app(app)
    with app.app_context():
        ping_after_idle(db.engine)
        keep_prepared_statements(db.engine)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)

    if migrate:
        upgrade(app.config["SQLALCHEMY_DATABASE_URI"])

    engine = CaseEngine(unit_of_work.factory(app), FORMS.keys(), HANDLERS)
    engine.task_notice = task_context.notice_text  # "提交整改反馈（退回理由：…）", not just the task's name
    working_days.install()  # add_working_days / add_period in models count on China's calendar
    if migrate:
        engine.deploy_directory(app.config["BPMN_DIR"])
        with unit_of_work.unit_of_work(app) as s:
            load_regions(s)
            load_checklists(s, Path(app.config["BPMN_DIR"]) / "checklists.json")
            load_threshold_rules(s, Path(app.config["BPMN_DIR"]) / "threshold_rules.json")
    app.extensions["gasflow.engine"] = engine
    from web.background.queueing import configure_documents

    configure_documents(app)

    from web.common import labels
    from web.pages import cases, notifications, tasks
    from web.pages import monitoring as warning_pages
    from web.pages.account import login
    from web.pages.admin import checklist_templates, working_calendar
    from web.pages.admin import process_models as admin

    labels.register(app)

    from web.common import rights
    from web.pages import data as data_pages
    from web.pages import drafts, readings
    from web.pages import map as map_pages
    from web.pages.admin import api_keys, users
    from web.pages.industry import info, training
    from web.pages.portal import dashboard, enterprise_home, ledgers, supply_statistics

    for module in (login, tasks, cases, admin, checklist_templates, notifications, warning_pages, data_pages,
                   map_pages, info, training, enterprise_home, dashboard, supply_statistics, ledgers, users, api_keys,
                   drafts, working_calendar, readings):
        app.register_blueprint(module.bp)
    from web.pages import case_control

    app.register_blueprint(case_control.bp)  # control of running cases
    from web.api import register as register_api

    register_api(app)
    from web.pages.portal import measures

    app.register_blueprint(measures.bp)
    from web.pages.account import credentials, notification_channels, staff
    from web.pages.admin import channels, enterprises

    app.register_blueprint(credentials.bp)
    app.register_blueprint(notification_channels.bp)
    app.register_blueprint(channels.bp)
    app.register_blueprint(enterprises.bp)
    app.register_blueprint(staff.bp)
    from web.pages import certificates

    app.register_blueprint(certificates.bp)
    from web.pages import data_catalogue

    app.register_blueprint(data_catalogue.bp)
    from web.pages import cylinder_scan, cylinders

    app.register_blueprint(cylinders.bp)
    app.register_blueprint(cylinder_scan.bp)  # what a cylinder's QR label opens, signed in or not
    http_errors.register(app)
    static_versions.register(app)
    hostile_input.register(app)
    rights.register(app)
    from web.common import navigation

    navigation.register(app)

    @app.context_processor
    def inject():
        return {"current_user": current_user, "locale": select_locale()}

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
            "frame-ancestors 'none'",
        )
        if app.config["SESSION_COOKIE_SECURE"]:
            # Behind HTTPS (GASFLOW_SECURE_COOKIES=1), browsers are told never to come back over plain HTTP.
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response

    from web.common import idempotency

    from . import health

    idempotency.register(app)
    health.register(app)
    from web.pages.admin import audit

    audit.register(app)
    unit_of_work.register(app)  # last: the request's one commit runs before every other after-request hook
    return app


