"""Data docking (D1–D4): a batch of validated records becomes pending record versions and a data
review case (L6); the review's outcome makes them official or sends them back with reasons.

The API, the web form and the Excel import all end here, so every way in behaves the same.
"""
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from models import (
    BATCH_IN_REVIEW,
    BATCH_REVIEWED,
    BATCH_UNCHANGED,
    REC_OFFICIAL,
    REC_PENDING,
    REC_REJECTED,
    REC_SUPERSEDED,
    DataBatch,
    DataLookup,
    DataRecord,
    Enterprise,
)
from models.crypto import FieldCipher
from workflows import notify
from workflows.engine import clock
from workflows.errors import ModelRuntimeError

from . import data_files, data_timeliness, plausibility

REVIEW_PROCESS = "data_review"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass
class Rejected:
    index: int
    external_id: str | None
    errors: dict


def canonical(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def batch_checksum(records: list) -> str:
    return hashlib.sha256(canonical(records).encode("utf-8")).hexdigest()


def summary_of(kind, data: dict) -> str:
    parts = [str(data[name]) for name in kind.summary if data.get(name) not in (None, "")]
    return " · ".join([data["external_id"], *parts])[:300]


@dataclass
class Upload:
    """Files sent with a record (checked already), and whether its new version keeps the previous one's."""

    files: list
    keep: bool = True


def submit(s, engine, cipher: FieldCipher, kind, enterprise: Enterprise, user, source: str, raw: list,
           valid: list[tuple[int, dict]], rejected: list[Rejected], now: datetime | None = None,
           uploads: dict[int, Upload] | None = None) -> dict:
    """Store a batch; the caller commits. ``raw`` is the batch as sent (for recognising a resend),
    ``valid`` the (index, shaped data) of records that passed validation, ``uploads`` by index the files
    sent with a record (stored with its version in the same transaction)."""
    now = now or clock.now()
    uploads = uploads or {}
    # The same values with other files (or other files kept) are another batch, not a resend.
    checksum = batch_checksum(raw if not uploads else {"records": raw, "files": {
        str(i): [u.keep, [hashlib.sha256(f.content).hexdigest() for f in u.files]] for i, u in uploads.items()}})
    earlier = s.scalar(select(DataBatch).where(DataBatch.enterprise_id == enterprise.id, DataBatch.kind == kind.key,
                                               DataBatch.checksum == checksum).order_by(DataBatch.id).limit(1))
    if earlier is not None:
        return {**earlier.result, "resubmitted": True}

    batch = DataBatch(kind=kind.key, enterprise_id=enterprise.id, source=source, submitted_by_id=user.id,
                      submitted_at=now, checksum=checksum, status=BATCH_IN_REVIEW, accepted=0,
                      rejected=len(rejected), result={})
    s.add(batch)
    s.flush()
    accepted, items, official = [], [], 0
    auto = getattr(kind, "acceptance", "review") == "auto"
    context = plausibility.Context(s, enterprise.id) if auto else None
    for index, data in valid:
        record, status = _store(s, cipher, kind, enterprise.id, batch.id, data, now, uploads.get(index), user.id)
        failed = plausibility.check(kind.key, data, context, now.astimezone(SHANGHAI).date()) \
            if auto and status == REC_PENDING else []
        if auto and status == REC_PENDING and not failed:
            # Plausible operational data is official at once; only exceptions wait for a person.
            _make_official(s, record, now)
            status, official = REC_OFFICIAL, official + 1
        accepted.append({"index": index, "external_id": data["external_id"], "record": record.id,
                         "version": record.version, "status": status, **({"checks": failed} if failed else {})})
        if status == REC_PENDING:
            items.append({"ref": len(items) + 1, "summary": summary_of(kind, data), "record_id": record.id,
                          "external_id": data["external_id"], "version": record.version,
                          **({"checks": failed} if failed else {})})
    batch.accepted = len(items) + official
    if getattr(kind, "periodic", False) and valid:  # a late report is recorded late and closes its warning
        data_timeliness.received(s, kind, enterprise, [data for _i, data in valid], now)
    if official:
        from .data_checks import KINDS_CHECKED, check_enterprise

        if kind.key in KINDS_CHECKED:
            check_enterprise(s, enterprise.id, now)  # warnings from data no longer wait for a review
    if items:
        batch.case_id = engine.open_system_case(
            s, REVIEW_PROCESS,
            {"data_kind": kind.key, "period": now.date().isoformat(), "batch_id": batch.id, "items": items,
             "files": [], "source": source},
            enterprise.id, title=f"{kind.label} · {enterprise.name} · {len(items)}", now=now)
    else:
        batch.status = BATCH_REVIEWED if official else BATCH_UNCHANGED
    batch.result = {"batch": batch.id, "case": batch.case_id, "kind": kind.key, "accepted": accepted,
                    "rejected": [{"index": r.index, "external_id": r.external_id, "errors": r.errors}
                                 for r in rejected]}
    return batch.result


def _make_official(s, record: DataRecord, now: datetime) -> None:
    """The record becomes the official one; the version it replaces is kept, superseded."""
    s.execute(update(DataRecord).where(
        DataRecord.kind == record.kind, DataRecord.enterprise_id == record.enterprise_id,
        DataRecord.external_id == record.external_id, DataRecord.status == REC_OFFICIAL,
        DataRecord.id != record.id).values(status=REC_SUPERSEDED))
    record.status, record.decided_at = REC_OFFICIAL, record.decided_at or now


def _store(s, cipher, kind, enterprise_id, batch_id, data: dict, now, upload: Upload | None = None,
           user_id: int | None = None) -> tuple[DataRecord, str]:
    external_id = data["external_id"]
    fields = {k: v for k, v in data.items() if k not in ("external_id", "lon", "lat")}
    current = s.scalar(select(DataRecord).where(
        DataRecord.kind == kind.key, DataRecord.enterprise_id == enterprise_id, DataRecord.external_id == external_id,
        DataRecord.status.in_((REC_PENDING, REC_OFFICIAL))).order_by(DataRecord.version.desc()).limit(1))
    # Files sent through the API later (POST .../files) are the version's own too: a version without new
    # files keeps them all unless the reporter chose to replace them.
    shown = data_files.file_ids(s, current)
    shown_digests = sorted(data_files.digests(s, shown))
    keep = upload is None or upload.keep
    kept = shown if keep else []
    new_files = upload.files if upload is not None else []
    # A record's files are part of what it says: the same values with other files are a new version.
    digests = sorted([*(shown_digests if keep else []), *(hashlib.sha256(f.content).hexdigest() for f in new_files)])
    fingerprint = cipher.digest("__record__", canonical(data))
    if current is not None and current.fingerprint == fingerprint and shown_digests == digests:
        return current, "unchanged"
    for name in kind.personal_fields:
        if fields.get(name):
            fields[name] = cipher.encrypt(str(fields[name]))
    version = (s.scalar(select(func.max(DataRecord.version)).where(
        DataRecord.kind == kind.key, DataRecord.enterprise_id == enterprise_id,
        DataRecord.external_id == external_id)) or 0) + 1
    record = DataRecord(kind=kind.key, enterprise_id=enterprise_id, external_id=external_id, version=version,
                        status=REC_PENDING, data=fields, fingerprint=fingerprint, lon=data.get("lon"),
                        lat=data.get("lat"), batch_id=batch_id, created_at=now, kept_files=kept or None)
    s.add(record)
    s.flush()
    if new_files:
        data_files.attach(s, record, new_files, user_id)
    for name in kind.personal_fields:
        if data.get(name):
            s.add(DataLookup(record_id=record.id, field=name, digest=cipher.digest(name, str(data[name]))))
    return record, REC_PENDING


def reviewed(s, case, payload, actor, now) -> None:
    """Message ``data.reviewed`` from the review model: accepted versions become the official record
    (the one they replace is kept, superseded); rejected ones keep their reason for the enterprise."""
    if not isinstance(payload, dict):
        raise ModelRuntimeError("data.reviewed needs an object payload")
    batch_id = payload.get("batch_id")
    if batch_id is None:
        return  # a batch typed in by hand: its rows are not records, the case itself is the record
    batch = s.get(DataBatch, batch_id)
    if batch is None or batch.case_id != case.id:
        raise ModelRuntimeError(f"data.reviewed: batch {batch_id!r} is not this case's")
    record_of = {item["ref"]: item["record_id"] for item in payload.get("items") or []}
    rejected = 0
    for row in payload.get("review") or []:
        record = s.get(DataRecord, record_of.get(row.get("ref")))
        if record is None or record.batch_id != batch.id or record.status != REC_PENDING:
            continue
        record.decided_at = now
        if row.get("decision") == "accept":
            _make_official(s, record, now)
            if record.kind == "enterprise_profile":  # the register follows the enterprise's accepted profile
                from .enterprise_register import apply_profile

                apply_profile(s, record.enterprise_id, {**record.data, "lon": record.lon, "lat": record.lat}, now)
        else:
            record.status, record.review_reason = REC_REJECTED, str(row.get("reason") or "")[:2000]
            rejected += 1
    batch.status = BATCH_REVIEWED
    from .data_checks import KINDS_CHECKED, check_enterprise

    if batch.kind in KINDS_CHECKED:
        check_enterprise(s, batch.enterprise_id, now)  # newly official records may raise or settle warnings
    if rejected:
        notify.add(s, notify.enterprise_users(s, batch.enterprise_id), notify.MESSAGE, now, case_id=case.id,
                   text=f"数据审核: {rejected} 条被驳回, 请按驳回理由修正后重新报送 (批次 {batch.id})")


def reveal(cipher: FieldCipher, kind, record: DataRecord, full: bool) -> dict:
    """A record as a caller may see it: personal fields in clear for roles that need them, masked otherwise."""
    from models.crypto import mask

    out = dict(record.data)
    for name in kind.personal_fields:
        if out.get(name):
            value = cipher.decrypt(out[name])
            out[name] = value if full else mask(value)
    if record.lon is not None:
        out["lon"], out["lat"] = record.lon, record.lat
    return out


def rekey(s, cipher: FieldCipher, batch_size: int = 500) -> int:
    """Re-encrypt every personal value under the first configured key (after a key rotation)."""
    from models.crypto import PREFIX

    done, last = 0, 0
    while True:
        rows = s.scalars(select(DataRecord).where(DataRecord.id > last).order_by(DataRecord.id)
                         .limit(batch_size)).all()
        if not rows:
            return done
        for record in rows:
            data = dict(record.data)
            changed = False
            for key, value in data.items():
                if isinstance(value, str) and value.startswith(PREFIX):
                    data[key] = cipher.rotate(value)
                    changed = True
            if changed:
                record.data = data
                done += 1
            last = record.id
        s.commit()
