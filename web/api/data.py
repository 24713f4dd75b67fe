"""Data docking over REST (D3): POST /api/v1/data/<kind> with a batch of records; reading records
back with their versions. Kinds and their fields come from forms/data_kinds.py."""
from flask import current_app, jsonify, request

from forms.data_files import FILE_KINDS, file_problem, new_file, read_upload
from forms.data_forms import form_for
from forms.data_kinds import KINDS
from forms.schema import json_schema
from models import REC_OFFICIAL, REC_PENDING, REC_REJECTED, REC_SUPERSEDED
from web import api
from web.api import area
from web.common import dataflow
from web.common.http_errors import json_error
from web.common.rights import api_scope
from web.common.unit_of_work import writes_done
from web.extensions import db
from workflows.errors import Conflict, InvalidInput, NotFound
from workflows.services import data_files
from workflows.text import display_filename

bp = area("data_api", __name__)
STATUSES = (REC_OFFICIAL, REC_PENDING, REC_REJECTED, REC_SUPERSEDED)


@bp.get("/data")
@api_scope("read")
def kinds():
    """Every data kind: its table and item in the standard, who reports it, its record schema, and the files
    its records may carry (``files``: the file kinds, each with the content types it takes)."""
    return jsonify([{"kind": k.key, "table": k.table, "item": k.item, "label": str(k.label),
                     "enterprise_kinds": list(k.enterprise_kinds), "personal_fields": list(k.personal_fields),
                     "files": [{"file_kind": f, "label": str(FILE_KINDS[f][0]), "types": list(FILE_KINDS[f][1])}
                               for f in k.files],
                     "schema": json_schema(form_for(k.key)(meta={"csrf": False}))} for k in KINDS])


@bp.post("/data/<kind_key>")
@api_scope("data:submit")
def submit(kind_key):
    """Report a batch {"records": [{"external_id": ..., ...}]}: 202 with accepted and rejected records
    (index and field errors), or 422 when every record is refused (``error.fields`` names them as
    ``records[i].field``); the same batch sent again changes nothing and gets the same answer."""
    kind = dataflow.kind_or_404(kind_key)
    if (request.content_length or 0) > current_app.config["DATA_MAX_BYTES"]:
        return json_error(413, "too_large", f"a batch body is at most {current_app.config['DATA_MAX_BYTES']} bytes")
    dataflow.reporting_enterprise(api.me(), kind)
    records = api.body().get("records")
    if not isinstance(records, list) or not records:
        raise InvalidInput("records must be a non-empty list", {"records": ["Must be a non-empty list."]})
    limit = current_app.config["DATA_MAX_RECORDS"]
    if len(records) > limit:
        return json_error(413, "too_large", f"at most {limit} records per batch",
                              {"records": [f"At most {limit} records per batch."]})
    result = dataflow.submit(kind, api.me(), records, "api")
    if result["rejected"] and not result["accepted"]:
        # Nothing of the batch was taken: a refusal like any other bad input (422 naming the fields, as
        # records[i].field), with the same per-record answer beside it; sent again, the same answer.
        fields = {f"records[{r['index']}].{name}": messages for r in result["rejected"]
                  for name, messages in r["errors"].items()}
        return jsonify({**result, "error": {"code": "invalid", "message": "no record of the batch was accepted",
                                            "fields": fields}}), 422
    return jsonify(result), 200 if result.get("resubmitted") else 202


@bp.get("/data/<kind_key>")
@api_scope("read")
def list_records(kind_key):
    """Records of a kind in the caller's scope: official by default (?status=), ?external_id=, exact
    search on a personal field (?id_number=..., ?phone=...), ?enterprise=. Personal fields are masked
    unless the caller's role needs them in full."""
    kind = dataflow.kind_or_404(kind_key)
    status = request.args.get("status", REC_OFFICIAL)
    if status not in STATUSES + ("all",):
        raise InvalidInput("unknown status", {"status": [f"One of {', '.join(STATUSES)}, all."]})
    exact = {name: request.args[name] for name in kind.personal_fields if request.args.get(name)}
    stmt = dataflow.find_records(api.me(), kind, None if status == "all" else status,
                                 request.args.get("external_id"), exact, api.int_arg("enterprise"))
    return api.paged(stmt, lambda r: dataflow.record_dict(api.me(), kind, r))


@bp.get("/data/<kind_key>/<external_id>")
@api_scope("read")
def record_versions(kind_key, external_id):
    """Every version of one record, newest first, to compare what changed."""
    kind = dataflow.kind_or_404(kind_key)
    rows = db.session.scalars(dataflow.find_records(api.me(), kind, None, external_id,
                                                    enterprise_id=api.int_arg("enterprise"))).all()
    if not rows:
        return json_error(404, "not_found", "no such record")
    files = data_files.files_of(db.session, rows)
    return jsonify({"kind": kind.key, "external_id": external_id,
                    "versions": [dataflow.record_dict(api.me(), kind, r, files[r.id]) for r in rows]})


@bp.get("/data/<kind_key>/<int:record_id>/files")
@api_scope("read")
def record_files(kind_key, record_id):
    """The files of one record version (``record`` in the batch answer, ``id`` in the record lists): its own
    and those it keeps from earlier versions (``kept``); download each at its ``url``."""
    kind = dataflow.kind_or_404(kind_key)
    record = dataflow.visible_record(api.me(), record_id, kind)
    return jsonify(dataflow.file_dicts(data_files.files_of(db.session, [record])[record.id]))


@bp.post("/data/<kind_key>/<int:record_id>/files")
@api_scope("data:submit")
def add_record_files(kind_key, record_id):
    """Attach files (multipart: one or more ``file`` parts and their ``file_kind``) to the newest version of
    one of the caller's own records, while it waits for review (or, for a kind accepted automatically, once
    official). Each file is checked by its content; if one is refused, none is kept."""
    kind = dataflow.kind_or_404(kind_key)
    user = api.me()
    dataflow.reporting_enterprise(user, kind)
    record = dataflow.visible_record(user, record_id, kind)
    if record.enterprise_id != user.enterprise_id:
        raise NotFound("no such record")
    file_kind = request.form.get("file_kind", "")
    if file_kind not in kind.files:
        allowed = ", ".join(kind.files) or "none: this kind takes no files"
        raise InvalidInput("unknown file kind", {"file_kind": [f"One of: {allowed}."]})
    uploads = [u for u in request.files.getlist("file") if u.filename]
    if not uploads:
        raise InvalidInput("a file is required", {"file": ["A file is required."]})
    newest = db.session.scalar(dataflow.find_records(user, kind, None, record.external_id,
                                                     enterprise_id=record.enterprise_id).limit(1))
    open_to_files = (REC_PENDING,) if kind.acceptance != "auto" else (REC_PENDING, REC_OFFICIAL)
    if newest.id != record.id or record.status not in open_to_files:
        raise Conflict("files are added to the newest version while it waits for review; report a new "
                       "version to change an accepted record's files")
    files = []
    for upload in uploads:
        content = read_upload(upload)
        problem = file_problem(file_kind, content)
        if problem:
            name = display_filename(upload.filename)[:80]
            raise InvalidInput(f"{name}: {problem}", {"file": [f"{name}: {problem}"]})
        files.append(new_file(upload, file_kind, content))
    data_files.attach(db.session, record, files, user.id)
    writes_done()
    return jsonify(dataflow.file_dicts(data_files.files_of(db.session, [record])[record.id])), 201
