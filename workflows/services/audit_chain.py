"""The audit chain: append an entry, hash it, verify the chain, purge past the retention period.

Every entry carries the SHA-256 of a canonical serialisation of its fields plus the previous entry's
hash, so changing, removing or inserting a row breaks the chain from that row on. Appends take the
chain head's lock first (an UPDATE of its one row: a row lock on PostgreSQL, the write lock on
SQLite), so appends from any number of processes get consecutive ids and link in order.
"""
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, delete, func, insert, select, text, update

from models import GENESIS_HASH, AuditAnchor, AuditChainHead, AuditEntry
from workflows.text import clean_json, clean_text
from workflows.upsert import insert_for

from . import audit_rules

RETENTION_DAYS = 180  # GB/T 22239 level 3 asks for at least six months of audit records
HEAD_ID = 1
HASHED_FIELDS = ("id", "at", "kind", "user_id", "username", "token_id", "address", "method", "endpoint", "path",
                 "object_ids", "status", "outcome", "detail")
LIMITS = {"username": 64, "address": 64, "method": 8, "endpoint": 128, "path": 512, "outcome": 16, "kind": 16}


class PurgeRefused(ValueError):
    """The purge would remove entries younger than the retention period."""


def plain_json(value) -> dict:
    """``value`` as it reads back from a JSON column (str/int/bool/None/lists/dicts), so the hash
    computed before the insert equals the one computed from the stored row."""
    return json.loads(json.dumps(value or {}, default=str, ensure_ascii=False))


def canonical(fields: dict, prev_hash: str) -> bytes:
    at = fields["at"].astimezone(UTC).isoformat(timespec="microseconds")
    body = {name: fields[name] for name in HASHED_FIELDS} | {"at": at, "prev_hash": prev_hash}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(fields: dict, prev_hash: str) -> str:
    return hashlib.sha256(canonical(fields, prev_hash)).hexdigest()


def fields_of(entry: AuditEntry) -> dict:
    return {name: getattr(entry, name) for name in HASHED_FIELDS}


@dataclass(frozen=True)
class Head:
    """The chain head as its lock read it, and the alert rules stored at that moment (rows for
    ``audit_rules.from_stored``)."""

    last_id: int
    last_hash: str
    rules: list


# Core statements on the tables, not the ORM's unit of work: every writing request appends, and the
# head row is never held as an object (what the lock returns is the head as it stands).
_HEAD = AuditChainHead.__table__
_MOVE_HEAD = update(_HEAD).where(_HEAD.c.id == HEAD_ID) \
    .values(last_id=bindparam("new_id"), last_hash=bindparam("new_hash"))
_INSERT_ENTRY = insert(AuditEntry.__table__)
# On PostgreSQL the entry is written and the head moved by one statement (the INSERT in a WITH clause of
# the head's UPDATE): one round trip fewer for every writing request. SQLite has no INSERT in WITH.
_INSERT_AND_MOVE = _MOVE_HEAD.add_cte(
    insert(AuditEntry.__table__).values({c.name: bindparam(f"e_{c.name}") for c in AuditEntry.__table__.c})
    .cte("entry"))
_TOUCH_HEAD: dict = {}  # by dialect: the rules are read as JSON, whose functions differ


def _touch_head(dialect: str):
    if dialect not in _TOUCH_HEAD:
        _TOUCH_HEAD[dialect] = update(_HEAD).where(_HEAD.c.id == HEAD_ID).values(last_id=_HEAD.c.last_id) \
            .returning(_HEAD.c.last_id, _HEAD.c.last_hash, audit_rules.stored_json(dialect))
    return _TOUCH_HEAD[dialect]


def lock_head(s) -> Head:
    """The chain head, locked for this transaction (made if the table is empty), read by the statement
    that locks it, with the alert rules as stored."""
    dialect = s.get_bind().dialect.name
    row = s.execute(_touch_head(dialect)).one_or_none()
    if row is None:
        s.execute(insert_for(s)(AuditChainHead).values(id=HEAD_ID, last_id=0, last_hash=GENESIS_HASH)
                  .on_conflict_do_nothing())
        row = s.execute(_touch_head(dialect)).one()
    return Head(row[0], row[1], audit_rules.decode_stored(row[2]))


def append(s, *, at: datetime, kind: str, user_id=None, username="", token_id=None, address="", method="",
           endpoint="", path="", object_ids=None, status=None, outcome="", detail=None) -> tuple[AuditEntry, Head]:
    """Add the next entry of the chain in ``s``'s transaction; the caller commits (and should do so
    soon: the head stays locked until then). Returns the entry as written (an object the session does
    not hold) and the chain head as the append locked it (with the alert rules as stored)."""
    values = {"kind": kind, "username": username or "", "address": address or "", "method": method or "",
              "endpoint": endpoint or "", "path": path or ""}
    # What a refused request carried is recorded as it can be stored and hashed: NUL dropped, lone
    # surrogates replaced (the entry of an attack must not be lost to the attack's characters).
    values = {k: clean_text(str(v))[:LIMITS[k]] for k, v in values.items()}
    head = lock_head(s)
    fields = {"id": head.last_id + 1, "at": at.astimezone(UTC), "user_id": user_id, "token_id": token_id,
              "object_ids": plain_json(clean_json(object_ids)), "status": status,
              "outcome": (outcome or "")[:16], "detail": plain_json(clean_json(detail)), **values}
    fields["prev_hash"] = head.last_hash
    fields["hash"] = entry_hash(fields, head.last_hash)
    move = {"new_id": fields["id"], "new_hash": fields["hash"]}
    if s.get_bind().dialect.name == "postgresql":
        s.execute(_INSERT_AND_MOVE, {f"e_{k}": v for k, v in fields.items()} | move)
    else:
        s.execute(_INSERT_ENTRY, fields)
        s.execute(_MOVE_HEAD, move)
    return AuditEntry(**fields), head


@dataclass
class Verdict:
    ok: bool
    checked: int
    bad_id: int | None = None
    reason: str = ""


def verify(s, batch: int = 1000) -> Verdict:
    """Walk the chain from the genesis (or the latest purge anchor) to the head; the first entry
    whose id, link or hash is wrong is reported."""
    anchor = s.scalar(select(AuditAnchor).order_by(AuditAnchor.id.desc()).limit(1))
    expected, prev = (anchor.first_id, anchor.prev_hash) if anchor else (1, GENESIS_HASH)
    checked, last_id = 0, expected - 1
    while True:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id)
                         .limit(batch)).all()
        if not rows:
            break
        for entry in rows:
            if entry.id != expected:
                missing = "missing" if entry.id > expected else "out of place"
                return Verdict(False, checked, entry.id, f"entry {expected} is {missing} before it")
            if entry.prev_hash != prev:
                return Verdict(False, checked, entry.id, "its link to the previous entry is broken")
            if entry_hash(fields_of(entry), prev) != entry.hash:
                return Verdict(False, checked, entry.id, "its content does not match its hash")
            prev, expected, last_id, checked = entry.hash, entry.id + 1, entry.id, checked + 1
        s.expunge_all()  # a long chain is walked in batches, not held in memory
    earlier = s.scalar(select(func.min(AuditEntry.id)).where(AuditEntry.id < (anchor.first_id if anchor else 1)))
    if earlier is not None:
        return Verdict(False, checked, earlier, "entry precedes the start of the chain")
    # Read as it stands, not from the session's objects: appends write the head with Core statements.
    head = s.execute(select(AuditChainHead.last_id, AuditChainHead.last_hash)
                     .where(AuditChainHead.id == HEAD_ID)).first()
    head_id, head_hash = (head.last_id, head.last_hash) if head else (0, GENESIS_HASH)
    if head_id > expected - 1:
        return Verdict(False, checked, expected,
                       f"the chain head names entry {head_id}: entries at the end are missing")
    if head_id < expected - 1:
        return Verdict(False, checked, head_id + 1, "entries beyond the chain head")
    if head_hash != prev:
        return Verdict(False, checked, head_id, "the chain head does not match the last entry")
    return Verdict(True, checked)


def purge(s, before: datetime, now: datetime, actor: str = "cli") -> int:
    """Remove the entries older than ``before`` (a prefix of the chain), leaving an anchor so the rest
    still verifies, and audit the purge itself. Refused for dates within the retention period.
    The caller commits."""
    before = before.astimezone(UTC)
    if before > now - timedelta(days=RETENTION_DAYS):
        raise PurgeRefused(f"audit entries are kept at least {RETENTION_DAYS} days: "
                           f"the date must be on or before {(now - timedelta(days=RETENTION_DAYS)).date()}")
    head = lock_head(s)
    first_kept = s.scalar(select(func.min(AuditEntry.id)).where(AuditEntry.at >= before)) or head.last_id + 1
    removed = s.scalar(select(func.count()).where(AuditEntry.id < first_kept))
    if removed:
        kept = s.get(AuditEntry, first_kept)
        prev = kept.prev_hash if kept else head.last_hash
        s.add(AuditAnchor(at=now, before=before, first_id=first_kept, prev_hash=prev, removed=removed, actor=actor))
        if s.get_bind().dialect.name == "postgresql":
            # The only way past the append-only trigger, for this transaction alone.
            s.execute(text("SELECT set_config('gasflow.audit_purge', 'on', true)"))
        s.execute(delete(AuditEntry).where(AuditEntry.id < first_kept))
    append(s, at=now, kind="purge", username=actor, outcome="success",
           detail={"before": before.isoformat(), "removed": removed, "first_kept": first_kept})
    return removed
