"""The audit chain: append an entry, hash it, verify the chain, purge past the retention period.

Every entry carries the SHA-256 of a canonical serialisation of its fields plus the previous entry's
hash, so changing, removing or inserting a row breaks the chain from that row on. Appends take the
chain head's lock first (an UPDATE of its one row: a row lock on PostgreSQL, the write lock on
SQLite), so appends from any number of processes get consecutive ids and link in order. On PostgreSQL
the lock, the entry (hashed by the database over the same canonical bytes) and the head's move are one
statement; ``verify`` recomputes every hash in Python either way.
"""
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import LargeBinary, Text, bindparam, cast, delete, func, insert, literal_column, select, text, update

from models import GENESIS_HASH, AuditAnchor, AuditChainHead, AuditEntry
from workflows import reference_cache
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
    if not value:
        return {}
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


def _dumps(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical(fields: dict, prev_hash: str) -> bytes:
    at = fields["at"].astimezone(UTC).isoformat(timespec="microseconds")
    body = {name: fields[name] for name in HASHED_FIELDS} | {"at": at, "prev_hash": prev_hash}
    return _dumps(body).encode()


# The canonical serialisation around the two values only the head's lock knows, the id and the previous
# hash (keys sorted: ... endpoint, id, kind ... path, prev_hash, status ...): the parts PostgreSQL joins
# to them to hash the entry in the statement that locks the head (``canonical_parts``).
_BEFORE_ID = tuple(k for k in sorted(HASHED_FIELDS) if k < "id")
_BETWEEN = tuple(k for k in sorted(HASHED_FIELDS) if "id" < k < "prev_hash")
_AFTER = tuple(k for k in sorted(HASHED_FIELDS) if k > "prev_hash")


def canonical_parts(fields: dict) -> tuple[bytes, bytes, bytes]:
    """``canonical(fields, prev)`` is ``a + str(fields["id"]) + b + prev + c``: json.dumps writes a dict with
    sorted keys as its items in order, each key and value as dumped alone (``tests/test_chain.py`` checks)."""
    at = fields["at"].astimezone(UTC).isoformat(timespec="microseconds")
    values = fields | {"at": at}
    before, between, after = ({k: values[k] for k in keys} for keys in (_BEFORE_ID, _BETWEEN, _AFTER))
    return (f'{_dumps(before)[:-1]},"id":'.encode(), f',{_dumps(between)[1:-1]},"prev_hash":"'.encode(),
            f'",{_dumps(after)[1:]}'.encode())


def entry_hash(fields: dict, prev_hash: str) -> str:
    return hashlib.sha256(canonical(fields, prev_hash)).hexdigest()


def fields_of(entry) -> dict:
    return {name: getattr(entry, name) for name in HASHED_FIELDS}


@dataclass(slots=True)
class Entry:
    """An entry as appended: what the alert rules read (``audit_rules.evaluate``), without an ORM object's
    instrumentation (every writing request makes one)."""

    id: int
    at: datetime
    kind: str
    user_id: int | None
    username: str
    token_id: int | None
    address: str
    method: str
    endpoint: str
    path: str
    object_ids: dict
    status: int | None
    outcome: str
    detail: dict
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Head:
    """The chain head as its lock read it (after the append, when it was the append's statement), and the
    alert rules current at that moment (``audit_rules.current``)."""

    last_id: int
    last_hash: str
    rules: dict


# Core statements on the tables, not the ORM's unit of work: every writing request appends, and the
# head row is never held as an object (what the lock returns is the head as it stands).
_HEAD = AuditChainHead.__table__
_ENTRIES = AuditEntry.__table__
_MOVE_HEAD = update(_HEAD).where(_HEAD.c.id == HEAD_ID) \
    .values(last_id=bindparam("new_id"), last_hash=bindparam("new_hash"))
_INSERT_ENTRY = insert(_ENTRIES)
# The rules' token (workflows/reference_cache.py) rides along with the lock: the rules are kept by the
# process, and read again only when the token changed.
_TOUCH_HEAD = update(_HEAD).where(_HEAD.c.id == HEAD_ID).values(last_id=_HEAD.c.last_id) \
    .returning(_HEAD.c.last_id, _HEAD.c.last_hash, reference_cache.TOKEN_COLUMN)


def _lock_and_append():
    """PostgreSQL: one statement locks the head (FOR UPDATE, which returns the head as the last commit
    left it, after waiting), inserts the entry it hashes (sha256 over the canonical parts joined to the
    id and the previous hash), and moves the head: one round trip for the whole append, the last
    statement before the commit, as the lock was."""
    old = select(_HEAD.c.last_id, _HEAD.c.last_hash).where(_HEAD.c.id == HEAD_ID).with_for_update().cte("old")
    new_id = old.c.last_id + 1
    text_bytes = lambda value: func.convert_to(cast(value, Text), literal_column("'UTF8'"))  # noqa: E731
    joined = bindparam("part_a", type_=LargeBinary).op("||")(text_bytes(new_id)) \
        .op("||")(bindparam("part_b", type_=LargeBinary)).op("||")(text_bytes(old.c.last_hash)) \
        .op("||")(bindparam("part_c", type_=LargeBinary))
    given = [c for c in _ENTRIES.c if c.name not in ("id", "prev_hash", "hash")]
    rows = select(new_id, *(bindparam(f"e_{c.name}", type_=c.type) for c in given), old.c.last_hash,
                  func.encode(func.sha256(joined), literal_column("'hex'")))
    entry = insert(_ENTRIES).from_select(["id", *(c.name for c in given), "prev_hash", "hash"], rows) \
        .returning(_ENTRIES.c.id, _ENTRIES.c.prev_hash, _ENTRIES.c.hash).cte("entry")
    # The head moved by scalar subqueries on the entry, not a join: a condition on the head's columns would
    # be tested on the row as the statement's snapshot saw it, before "old" waited for the newest.
    moved = lambda column: select(column).scalar_subquery()  # noqa: E731
    return update(_HEAD).where(_HEAD.c.id == HEAD_ID) \
        .values(last_id=moved(entry.c.id), last_hash=moved(entry.c.hash)) \
        .returning(_HEAD.c.last_id, moved(entry.c.prev_hash), _HEAD.c.last_hash, reference_cache.TOKEN_COLUMN)


_LOCK_AND_APPEND = _lock_and_append()


def _make_head(s) -> None:
    s.execute(insert_for(s)(AuditChainHead).values(id=HEAD_ID, last_id=0, last_hash=GENESIS_HASH)
              .on_conflict_do_nothing())


def lock_head(s) -> Head:
    """The chain head, locked for this transaction (made if the table is empty), read by the statement
    that locks it, with the alert rules current then."""
    row = s.execute(_TOUCH_HEAD).one_or_none()
    if row is None:
        _make_head(s)
        row = s.execute(_TOUCH_HEAD).one()
    return Head(row[0], row[1], audit_rules.current(s, row[2]))


def append(s, *, at: datetime, kind: str, user_id=None, username="", token_id=None, address="", method="",
           endpoint="", path="", object_ids=None, status=None, outcome="", detail=None) -> tuple[Entry, Head]:
    """Add the next entry of the chain in ``s``'s transaction; the caller commits (and should do so
    soon: the head stays locked until then). Returns the entry as written and the chain head as the
    append left it (with the alert rules current at the lock)."""
    values = {"kind": kind, "username": username or "", "address": address or "", "method": method or "",
              "endpoint": endpoint or "", "path": path or ""}
    # What a refused request carried is recorded as it can be stored and hashed: NUL dropped, lone
    # surrogates replaced (the entry of an attack must not be lost to the attack's characters).
    values = {k: clean_text(str(v))[:LIMITS[k]] for k, v in values.items()}
    fields = {"at": at.astimezone(UTC), "user_id": user_id, "token_id": token_id,
              "object_ids": plain_json(clean_json(object_ids)), "status": status,
              "outcome": (outcome or "")[:16], "detail": plain_json(clean_json(detail)), **values}
    if s.get_bind().dialect.name == "postgresql":
        return _append_in_one(s, fields)
    head = lock_head(s)
    fields["id"], fields["prev_hash"] = head.last_id + 1, head.last_hash
    fields["hash"] = entry_hash(fields, head.last_hash)
    s.execute(_INSERT_ENTRY, fields)
    s.execute(_MOVE_HEAD, {"new_id": fields["id"], "new_hash": fields["hash"]})
    return Entry(**fields), Head(fields["id"], fields["hash"], head.rules)


def _append_in_one(s, fields: dict) -> tuple[Entry, Head]:
    part_a, part_b, part_c = canonical_parts(fields)
    params = {f"e_{k}": v for k, v in fields.items()} | {"part_a": part_a, "part_b": part_b, "part_c": part_c}
    # On the session's connection, after the flush Session.execute would do: the ORM's execution path cost
    # more than the statement.
    s.flush()
    row = s.connection().execute(_LOCK_AND_APPEND, params).one_or_none()
    if row is None:  # no head yet
        _make_head(s)
        row = s.connection().execute(_LOCK_AND_APPEND, params).one()
    fields["id"], fields["prev_hash"], fields["hash"] = row[0], row[1], row[2]
    return Entry(**fields), Head(row[0], row[2], audit_rules.current(s, row[3]))


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
