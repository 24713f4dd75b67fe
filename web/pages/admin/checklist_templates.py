"""Checklist templates (A5.1), managed by the city admin: the versions of each kind, downloads, uploads.

A new version is a new row; the older versions of the kind are set inactive so that inspection plans
offer only the newest, while inspections already planned keep the items they copied."""
from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select, update

from forms.checklist_file import (
    MAX_FILE_BYTES,
    ChecklistFileError,
    Problem,
    Upload,
    read_file,
    resolve,
    to_json,
    to_xlsx,
)
from models import TEMPLATE_KINDS, ChecklistTemplate
from models.versions import newest_versions
from web.common.labels import TEMPLATE_KIND_LABELS
from web.common.params import small_int
from web.common.unit_of_work import written_again_on_conflict
from web.extensions import db
from workflows.errors import Forbidden
from workflows.permissions import has_right

bp = Blueprint("checklist_templates", __name__, url_prefix="/admin/templates")
KIND_LABELS = TEMPLATE_KIND_LABELS
DOWNLOADS = {"xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", to_xlsx),
             "json": ("application/json", to_json)}


# ---- storage ------------------------------------------------------------------
def versions_of(kind: str) -> list[ChecklistTemplate]:
    return db.session.scalars(select(ChecklistTemplate).where(ChecklistTemplate.kind == kind)
                              .order_by(ChecklistTemplate.version.desc())).all()


def latest_per_kind() -> dict[str, ChecklistTemplate]:
    """The newest version of every kind, in one query."""
    rows = db.session.scalars(newest_versions(ChecklistTemplate, key="kind")).all()
    return {t.kind: t for t in rows}


def store(kind: str, name: str | None, items: list[dict]) -> tuple[ChecklistTemplate, bool]:
    """Store the next version of a kind, or return the latest when name and items are the same.
    Raises ChecklistFileError when no name is given and the kind has none yet."""
    def write() -> tuple[ChecklistTemplate, bool]:
        # Read again on each attempt: another admin may have stored this version number a moment ago.
        latest = db.session.scalar(select(ChecklistTemplate).where(ChecklistTemplate.kind == kind)
                                   .order_by(ChecklistTemplate.version.desc()).limit(1))
        chosen = name or (latest.name if latest else None)
        if not chosen:
            raise ChecklistFileError([Problem("name", _("Name the template."))])
        if latest is not None and latest.name == chosen and latest.items == items:
            return latest, False
        template = ChecklistTemplate(kind=kind, version=(latest.version if latest else 0) + 1, name=chosen,
                                     items=items, active=True)
        db.session.add(template)
        db.session.flush()
        db.session.execute(update(ChecklistTemplate).where(ChecklistTemplate.kind == kind,
                                                           ChecklistTemplate.id != template.id).values(active=False))
        return template, True

    return written_again_on_conflict(write, attempts=3)


def summary(t: ChecklistTemplate) -> dict:
    return {"kind": t.kind, "version": t.version, "name": t.name, "active": t.active, "created_at": t.created_at,
            "item_count": len(t.items or []), "total_points": sum(i.get("points", 0) for i in t.items or [])}


def store_upload(upload: Upload, kind: str | None, name: str | None) -> tuple[ChecklistTemplate, bool]:
    kind, name = resolve(upload, kind, name)
    return store(kind, name, upload.items)


# ---- pages --------------------------------------------------------------------
@bp.before_request
@login_required
def city_admin_only():
    if not has_right(current_user, "templates.manage"):
        raise Forbidden(_("Only the city admin manages checklist templates."))


def _kind_or_404(kind: str) -> str:
    if kind not in TEMPLATE_KINDS:
        abort(404)
    return kind


def _index(reasons=None, status=200, chosen=None):
    latest = latest_per_kind()
    rows = [{"kind": k, "label": KIND_LABELS[k], "latest": summary(latest[k]) if k in latest else None}
            for k in TEMPLATE_KINDS]
    return render_template("admin/checklists.html", rows=rows, kinds=KIND_LABELS, reasons=reasons or [],
                           chosen=chosen or {}, back=""), status


def _kind_page(kind: str, version: int | None = None, reasons=None, status=200, chosen=None):
    versions = versions_of(kind)
    shown = next((t for t in versions if t.version == version), versions[0] if versions else None)
    if version is not None and (shown is None or shown.version != version):
        abort(404)
    return render_template("admin/checklist.html", kind=kind, label=KIND_LABELS[kind], shown=shown,
                           versions=[summary(t) for t in versions], kinds=KIND_LABELS, reasons=reasons or [],
                           chosen=chosen or {"kind": kind}, back=kind), status


@bp.get("")
def index():
    return _index()


@bp.get("/<kind>")
def kind_page(kind):
    version = request.args.get("version", "")
    return _kind_page(_kind_or_404(kind), small_int(version))


@bp.get("/<kind>/<int:version>/checklist.<fmt>")
def download(kind, version, fmt):
    if fmt not in DOWNLOADS:
        abort(404)
    t = db.session.scalar(select(ChecklistTemplate).where(ChecklistTemplate.kind == _kind_or_404(kind),
                                                          ChecklistTemplate.version == version))
    if t is None:
        abort(404)
    mimetype, write = DOWNLOADS[fmt]
    filename = f"{kind}-v{version}.{fmt}"
    return Response(write(t.kind, t.name, t.version, t.items), mimetype=mimetype,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"})


@bp.post("/upload")
def upload():
    chosen = {"kind": request.form.get("kind", "").strip(), "name": request.form.get("name", "").strip()}
    back = request.form.get("back", "")

    def refused(reasons):
        if back in TEMPLATE_KINDS:
            return _kind_page(back, reasons=reasons, status=422, chosen=chosen)
        return _index(reasons, 422, chosen)

    file = request.files.get("file")
    if file is None or not file.filename:
        return refused([_("Choose an .xlsx or .json file.")])
    try:
        parsed = read_file(file.filename, file.read(MAX_FILE_BYTES + 1))
        template, created = store_upload(parsed, chosen["kind"] or None, chosen["name"] or None)
    except ChecklistFileError as exc:
        return refused(exc.messages)
    if created:
        flash(_("%(file)s: version %(n)s of %(kind)s created.", file=file.filename, n=template.version,
                kind=KIND_LABELS[template.kind]), "success")
    else:
        flash(_("%(file)s is identical to version %(n)s; nothing changed.", file=file.filename, n=template.version),
              "info")
    return redirect(url_for("checklist_templates.kind_page", kind=template.kind), 303)
