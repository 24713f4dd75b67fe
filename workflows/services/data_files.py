"""Files of reported data records, kept as attachments naming the record version they came with.

A version shows its own files and those of earlier versions it keeps (``DataRecord.kept_files``): a new
version keeps the files of the one it follows unless the reporter replaces them, so the files stay with
the version they came with and the newest version still shows them. Whoever sees a record sees its files.
"""
from sqlalchemy import select

from models import Attachment, DataRecord
from workflows.attachments import NewFile, new_attachment


def file_ids(s, record: DataRecord | None) -> list[int]:
    """The ids of the files ``record`` shows: the kept ones first, then its own, each in upload order."""
    if record is None:
        return []
    own = s.scalars(select(Attachment.id).where(Attachment.data_record_id == record.id)
                    .order_by(Attachment.id)).all()
    return [*_kept(record), *own]


def _kept(record: DataRecord) -> list[int]:
    return [i for i in record.kept_files or [] if isinstance(i, int) and not isinstance(i, bool)]


def digests(s, ids: list[int]) -> list[str]:
    if not ids:
        return []
    return list(s.scalars(select(Attachment.sha256).where(Attachment.id.in_(ids))))


def attach(s, record: DataRecord, files: list[NewFile], user_id: int | None) -> list[Attachment]:
    """Store ``files`` as the record version's own; the caller commits."""
    rows = []
    for f in files:
        att = new_attachment(f.filename, f.content_type, f.content, enterprise_id=record.enterprise_id,
                             uploaded_by_id=user_id, data_record_id=record.id, file_kind=f.field)
        s.add(att)
        rows.append(att)
    s.flush()
    return rows


def files_of(s, records: list[DataRecord]) -> dict[int, list[dict]]:
    """record id → its files {id, filename, content_type, size, file_kind, kept}; ``kept``: from an earlier
    version. One query for all the records."""
    if not records:
        return {}
    ids = {r.id for r in records}
    kept = {i for r in records for i in _kept(r)}
    rows = s.execute(select(Attachment.id, Attachment.filename, Attachment.content_type, Attachment.size,
                            Attachment.file_kind, Attachment.data_record_id)
                     .where(Attachment.data_record_id.in_(ids) | Attachment.id.in_(kept or {0}))
                     .order_by(Attachment.id)).all()
    by_id = {r.id: r for r in rows}
    out = {}
    for record in records:
        # A kept id must be a file of the same record (another version of it), never any attachment.
        mine = [by_id[i] for i in _kept(record) if i in by_id and by_id[i].data_record_id is not None]
        mine += [r for r in rows if r.data_record_id == record.id]
        out[record.id] = [{"id": r.id, "filename": r.filename, "content_type": r.content_type, "size": r.size,
                           "file_kind": r.file_kind, "kept": r.data_record_id != record.id} for r in mine]
    return out

