"""Data docking over REST (D3): POST /api/v1/data/<kind> with a batch of records; reading records
back with their versions. Kinds and their fields come from forms/data_kinds.py."""
from flask import current_app, jsonify, request

from forms.data_forms import form_for
from forms.data_kinds import KINDS
from forms.schema import json_schema
from models import REC_OFFICIAL, REC_PENDING, REC_REJECTED, REC_SUPERSEDED
from web import api
from web.api import area
from web.common import dataflow
from web.common.http_errors import json_error
from web.common.rights import api_scope
from web.extensions import db
from workflows.errors import InvalidInput

bp = area("data_api", __name__)
STATUSES = (REC_OFFICIAL, REC_PENDING, REC_REJECTED, REC_SUPERSEDED)


@bp.get("/data")
@api_scope("read")
def kinds():
    """Every data kind: its table and item in the standard, who reports it, and its record schema."""
    return jsonify([{"kind": k.key, "table": k.table, "item": k.item, "label": str(k.label),
                     "enterprise_kinds": list(k.enterprise_kinds), "personal_fields": list(k.personal_fields),
                     "schema": json_schema(form_for(k.key)(meta={"csrf": False}))} for k in KINDS])


@bp.post("/data/<kind_key>")
@api_scope("data:submit")
def submit(kind_key):
    """Report a batch {"records": [{"external_id": ..., ...}]}: 202 with accepted and rejected records
    (index and field errors); the same batch sent again changes nothing and gets the same answer."""
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
    return jsonify({"kind": kind.key, "external_id": external_id,
                    "versions": [dataflow.record_dict(api.me(), kind, r) for r in rows]})
