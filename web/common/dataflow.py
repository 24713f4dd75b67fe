"""What the data API, the data pages and the Excel import share: records validated by the kind's
generated form, then handed to ``workflows.services.datadock`` in one transaction."""
from flask import current_app, url_for
from sqlalchemy import select

from forms.data_files import label_of
from forms.data_forms import form_for
from forms.data_kinds import KINDS_BY_KEY
from forms.schema import formdata_from_json, task_data, type_errors, unknown_fields
from models import (
    REC_OFFICIAL,
    DataLookup,
    DataRecord,
    Enterprise,
)
from models.crypto import FieldCipher
from web.common.unit_of_work import writes_done
from web.extensions import case_engine, db
from workflows import access
from workflows.errors import Forbidden, InvalidInput, NotFound
from workflows.permissions import has_right
from workflows.services import datadock


def cipher() -> FieldCipher:
    app = current_app._get_current_object()
    found = app.extensions.get("gasflow.cipher")
    if found is None:
        found = FieldCipher(app.config["DATA_KEYS"], app.config["DATA_LOOKUP_KEY"])
        app.extensions["gasflow.cipher"] = found
    return found


def kind_or_404(key: str):
    kind = KINDS_BY_KEY.get(key)
    if kind is None:
        raise NotFound(f"no data kind '{key}'")
    return kind


def reporting_enterprise(user, kind) -> Enterprise:
    """Only an enterprise reports its own data (D3: keys scoped to the enterprise)."""
    if not access.is_enterprise_user(user):
        raise Forbidden("data is reported by the enterprise's own accounts")
    if not has_right(user, "data.submit"):
        raise Forbidden("this account may not report data")
    enterprise = db.session.get(Enterprise, user.enterprise_id)
    if enterprise.kind not in kind.enterprise_kinds:
        raise InvalidInput("this data kind is not reported by this kind of enterprise",
                           {"kind": [f"Reported by {', '.join(kind.enterprise_kinds)} enterprises only."]})
    return enterprise


def validate(kind, record, json_types: bool = False) -> tuple[dict | None, dict]:
    """One record → (shaped data, {}) or (None, field errors). ``json_types``: a JSON record, whose values
    must have the types the API document states (an Excel row's cells come as text and are read as such)."""
    if not isinstance(record, dict):
        return None, {"record": ["Must be an object."]}
    md, errors = formdata_from_json(record)
    form = form_for(kind.key)(formdata=md, meta={"csrf": False})
    errors.update(unknown_fields(form, record))
    if json_types:
        errors.update(type_errors(form, record))
    if not form.validate() or errors:
        return None, {**{k: [str(m) for m in v] for k, v in form.errors.items()}, **errors}
    return task_data(form), {}


def submit(kind, user, records: list, source: str, validated: list | None = None,
           uploads: dict | None = None) -> dict:
    """Validate (unless done) and store a batch, kept with the request (``writes_done``). Returns the batch
    answer. ``uploads``: index → ``datadock.Upload``, the files checked already, stored with the record in the
    same transaction."""
    enterprise = reporting_enterprise(user, kind)
    valid, rejected, seen = [], [], set()
    for index, record in enumerate(records):
        data, errors = validated[index] if validated is not None else validate(kind, record, json_types=True)
        external_id = record.get("external_id") if isinstance(record, dict) else None
        if data is not None and data["external_id"] in seen:
            data, errors = None, {"external_id": ["Appears twice in this batch."]}
        if data is None:
            rejected.append(datadock.Rejected(index, external_id if isinstance(external_id, str) else None, errors))
            continue
        seen.add(data["external_id"])
        valid.append((index, data))
    result = datadock.submit(db.session, case_engine(), cipher(), kind, enterprise, user, source, records,
                             valid, rejected, uploads=uploads)
    writes_done()
    return result


def sees_in_full(user, enterprise_id: int) -> bool:
    """Personal data in clear: holders of data.personal (by default the supervisors and the enterprise's
    admin); everyone else sees it masked."""
    if not has_right(user, "data.personal"):
        return False
    # The right never widens scope: an enterprise account sees its own enterprise's records in clear only.
    return not access.is_enterprise_user(user) or user.enterprise_id == enterprise_id


def record_scope(user):
    return DataRecord.enterprise_id.in_(select(Enterprise.id).where(access.enterprise_scope(user)))


def find_records(user, kind, status: str | None = REC_OFFICIAL, external_id: str | None = None,
                 exact: dict | None = None, enterprise_id: int | None = None):
    stmt = select(DataRecord).where(DataRecord.kind == kind.key, record_scope(user))
    if status:
        stmt = stmt.where(DataRecord.status == status)
    if external_id:
        stmt = stmt.where(DataRecord.external_id == external_id)
    if enterprise_id is not None:
        stmt = stmt.where(DataRecord.enterprise_id == enterprise_id)
    for name, value in (exact or {}).items():
        if name not in kind.personal_fields:
            raise InvalidInput("exact search is for personal fields", {name: ["Not a personal field."]})
        digest = cipher().digest(name, value)
        stmt = stmt.where(DataRecord.id.in_(select(DataLookup.record_id).where(
            DataLookup.field == name, DataLookup.digest == digest)))
    return stmt.order_by(DataRecord.enterprise_id, DataRecord.external_id, DataRecord.version.desc())


def visible_record(user, record_id: int, kind=None) -> DataRecord:
    """A record version the caller may see (of ``kind`` when given); any other is not found."""
    record = db.session.scalar(select(DataRecord).where(DataRecord.id == record_id, record_scope(user)))
    if record is None or (kind is not None and record.kind != kind.key):
        raise NotFound("no such record")
    return record


def file_dicts(files: list[dict]) -> list[dict]:
    """A record's files for API clients: with the kind's label and where to download each."""
    return [{**f, "file_kind_label": label_of(f["file_kind"]),
             "url": url_for("api.download_attachment", att_id=f["id"])} for f in files]


def record_dict(user, kind, record: DataRecord, files: list[dict] | None = None) -> dict:
    extra = {"files": file_dicts(files)} if files is not None else {}
    return {**extra, "id": record.id, "kind": record.kind, "enterprise": record.enterprise_id,
            "external_id": record.external_id, "version": record.version, "status": record.status,
            "data": datadock.reveal(cipher(), kind, record, sees_in_full(user, record.enterprise_id)),
            "review_reason": record.review_reason or None, "batch": record.batch_id,
            "created_at": record.created_at.isoformat() if record.created_at else None,
            "decided_at": record.decided_at.isoformat() if record.decided_at else None}
