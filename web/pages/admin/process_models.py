"""Process models and decision tables, managed by the city admin: versions, diagrams, uploads."""
import logging
from pathlib import PurePosixPath
from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import case, func, select

from models import (
    CASE_COMPLETED,
    CASE_OPEN_STATUSES,
    Case,
    DecisionModel,
    ProcessModel,
    User,
)
from web.common.http_errors import refusal
from web.extensions import case_engine, db
from workflows.engine.decisions import describe_xml
from workflows.errors import Conflict, Forbidden, InvalidModel
from workflows.permissions import has_right

log = logging.getLogger(__name__)
bp = Blueprint("admin", __name__, url_prefix="/admin/models")
UPLOAD_KINDS = {".bpmn": "process", ".dmn": "decision"}


def version_rows(key: str | None = None) -> list[dict]:
    """Every process version with its running and completed case counts, in one grouped query."""
    running = func.count(case((Case.status.in_(CASE_OPEN_STATUSES), Case.id)))  # suspended: still running
    completed = func.count(case((Case.status == CASE_COMPLETED, Case.id)))
    cols = (ProcessModel.id, ProcessModel.key, ProcessModel.version, ProcessModel.name, ProcessModel.created_at,
            User.display_name)
    stmt = (select(*cols, running.label("running"), completed.label("completed"), func.count(Case.id).label("cases"))
            .outerjoin(Case, Case.process_model_id == ProcessModel.id)
            .outerjoin(User, User.id == ProcessModel.created_by_id)
            .group_by(*cols).order_by(ProcessModel.key, ProcessModel.version.desc()))
    if key is not None:
        stmt = stmt.where(ProcessModel.key == key)
    return [{"id": r.id, "key": r.key, "version": r.version, "name": r.name, "created_at": r.created_at,
             "created_by": r.display_name, "running": r.running, "completed": r.completed, "cases": r.cases}
            for r in db.session.execute(stmt)]


def by_key(rows: list[dict]) -> list[dict]:
    """Group version rows (newest first per key) by key: the latest version's name and number, and all versions."""
    out: dict[str, dict] = {}
    for row in rows:
        entry = out.setdefault(row["key"], {"key": row["key"], "name": row["name"], "latest": row["version"],
                                            "versions": []})
        entry["versions"].append(row)
    return list(out.values())


def decision_rows(key: str | None = None) -> list[dict]:
    cols = (DecisionModel.id, DecisionModel.key, DecisionModel.version, DecisionModel.name,
            DecisionModel.created_at, DecisionModel.checksum)
    stmt = select(*cols).order_by(DecisionModel.key, DecisionModel.version.desc())
    if key is not None:
        stmt = stmt.where(DecisionModel.key == key)
    return [dict(r._mapping) for r in db.session.execute(stmt)]


def deploy_upload(kind: str, content: bytes, actor_id: int) -> tuple[int, bool]:
    """Deploy a BPMN process or a DMN table; every refusal comes back as InvalidModel with reasons."""
    engine = case_engine()
    try:
        if kind == "decision":
            return engine.deploy_decision(content, actor_id)
        return engine.deploy(content, actor_id)
    except (InvalidModel, Conflict):
        raise
    except UnicodeError:
        raise InvalidModel(["the file must be UTF-8 encoded"]) from None
    except Exception:  # a file the checks did not foresee must not become a 500
        log.exception("unexpected error deploying an uploaded %s", kind)
        raise InvalidModel([f"the file could not be read as a {kind} model"]) from None


def _version_of(model_cls, model_id: int) -> int:
    return db.session.scalar(select(model_cls.version).where(model_cls.id == model_id))


@bp.before_request
@login_required
def city_admin_only():
    if not has_right(current_user, "models.manage"):
        raise Forbidden(_("Only the city admin manages process models."))


def _index(reasons=None, status=200):
    return render_template("admin/models.html", processes=by_key(version_rows()),
                           decisions=by_key(decision_rows()), reasons=reasons or []), status


@bp.get("")
def index():
    return _index()


@bp.post("/upload")
def upload():
    file = request.files.get("file")
    if file is None or not file.filename:
        return _index([_("Choose a .bpmn or .dmn file.")], 422)
    suffix = PurePosixPath(file.filename.replace("\\", "/")).suffix.lower()
    kind = UPLOAD_KINDS.get(suffix)
    if kind is None:
        return _index([_("Only .bpmn (process) and .dmn (decision table) files are accepted.")], 422)
    content = file.read()
    if not content.strip():
        return _index([_("The file is empty.")], 422)
    try:
        model_id, created = deploy_upload(kind, content, current_user.id)
    except InvalidModel as exc:
        return _index(exc.reasons, 422)
    except Conflict as exc:
        return _index([refusal(exc.message, 409)], 409)
    model_cls = DecisionModel if kind == "decision" else ProcessModel
    version = _version_of(model_cls, model_id)
    if created:
        flash(_("%(file)s: version %(n)s created.", file=file.filename, n=version), "success")
    else:
        flash(_("%(file)s is identical to version %(n)s; nothing changed.", file=file.filename, n=version), "info")
    key = db.session.scalar(select(model_cls.key).where(model_cls.id == model_id))
    if kind == "decision":
        return redirect(url_for("admin.decision", key=key), 303)
    return redirect(url_for("admin.process", key=key, version=version), 303)


def _process_or_404(key: str, version: int) -> ProcessModel:
    model = db.session.scalar(select(ProcessModel).where(ProcessModel.key == key, ProcessModel.version == version))
    if model is None:
        abort(404)
    return model


@bp.get("/processes/<key>/<int:version>")
def process(key, version):
    model = _process_or_404(key, version)
    versions = version_rows(key)
    this = next(v for v in versions if v["version"] == version)
    return render_template("admin/process.html", model=model, this=this, versions=versions)


@bp.get("/processes/<key>/<int:version>/diagram.bpmn")
def process_xml(key, version):
    model = _process_or_404(key, version)
    headers = {}
    if request.args.get("download") == "1":
        filename = f"{key}-v{version}.bpmn"
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return Response(model.bpmn_xml, mimetype="application/xml", headers=headers)


@bp.get("/decisions/<key>")
def decision(key):
    versions = decision_rows(key)
    if not versions:
        abort(404)
    wanted = request.args.get("version", "")
    shown = next((v for v in versions if str(v["version"]) == wanted), versions[0])
    model = db.session.get(DecisionModel, shown["id"])
    return render_template("admin/decision.html", model=model, table=describe_xml(model.dmn_xml),
                           versions=versions, latest=versions[0]["version"])


@bp.get("/decisions/<key>/<int:version>/table.dmn")
def decision_xml(key, version):
    model = db.session.scalar(select(DecisionModel).where(DecisionModel.key == key,
                                                          DecisionModel.version == version))
    if model is None:
        abort(404)
    filename = f"{key}-v{version}.dmn"
    return Response(model.dmn_xml, mimetype="application/xml",
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"})
