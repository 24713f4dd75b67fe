"""Backups and restores of the whole platform state (O1): every table, attachments included.

A backup is a directory holding one database file and ``manifest.json``:

* PostgreSQL: ``database.dump``, ``pg_dump --format=custom`` taken inside an exported snapshot, so
  the row counts in the manifest are those of the dump even while the platform keeps writing.
* SQLite: ``database.sqlite``, a page-consistent copy by SQLite's online backup API.

The manifest names the schema revision, the row count of every table, the file's SHA-256 and size,
and fingerprints (never the keys) of the data keys the personal fields were encrypted under. The
manifest is written last: a directory without one is an interrupted backup and is refused.

A restore goes only into an empty database, refuses a backup whose schema this release does not
know (a newer release made it) or whose data keys are not configured, checks the file's checksum
before reading it, restores PostgreSQL in a single transaction, and compares every table's row
count with the manifest afterwards.

The data keys and the secret key are NOT in a backup: whoever holds a backup must not also hold
what decrypts it. They are kept in the secret store (or the instance folder's ``data_keys.json``)
and backed up apart from the data.
"""
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

FORMAT = "gasflow-backup/1"
MANIFEST = "manifest.json"
FILES = {"postgresql": "database.dump", "sqlite": "database.sqlite"}


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


def key_fingerprint(key: str) -> str:
    """Names a key without revealing it, so a manifest can say which keys its data needs."""
    return hashlib.sha256(b"gasflow data key fingerprint\x00" + key.encode()).hexdigest()[:16]


def backend_of(url: str) -> str:
    name = make_url(url).get_backend_name()
    if name not in FILES:
        raise BackupError(f"backups support PostgreSQL and SQLite, not {name}")
    return name


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _pg_tool(name: str) -> str:
    """pg_dump/pg_restore: GASFLOW_PG_BIN first, then PATH, then Debian's versioned folders."""
    candidates = [Path(os.environ["GASFLOW_PG_BIN"]) / name] if os.environ.get("GASFLOW_PG_BIN") else []
    found = shutil.which(name)
    candidates += [Path(found)] if found else []
    candidates += sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    for path in candidates:
        if path.is_file():
            return str(path)
    raise BackupError(f"{name} is not installed (install the PostgreSQL client of the server's version)")


def _libpq(url: str) -> tuple[str, dict]:
    """The SQLAlchemy URL as a libpq URI for the PostgreSQL tools; the password goes by environment."""
    u = make_url(url)
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = u.password
    return u.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _run(argv: list[str], env: dict) -> None:
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{Path(argv[0]).name} failed: {done.stderr.strip()[-2000:]}")


def _tables(conn) -> list[str]:
    """The platform's tables: everything but those an extension owns (PostGIS's spatial_ref_sys)."""
    if conn.dialect.name == "postgresql":
        rows = conn.execute(text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema() AND NOT EXISTS ("
            "SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e') ORDER BY 1"))
        return [r[0] for r in rows]
    return sorted(t for t in inspect(conn).get_table_names() if not t.startswith("sqlite_"))


def _counts(conn) -> dict[str, int]:
    return {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in _tables(conn)}


def _revision(counts: dict, conn) -> str | None:
    if "alembic_version" not in counts:
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def backup(url: str, path: Path, data_keys: list[str], lookup_key: str) -> dict:
    """Writes a backup of the database at ``url`` into the new or empty directory ``path``."""
    backend = backend_of(url)
    path = Path(path)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise BackupError(f"{path} exists and is not an empty directory; back up into a new one")
    path.mkdir(parents=True, exist_ok=True)
    target = path / FILES[backend]
    engine = create_engine(url)
    try:
        if backend == "postgresql":
            tool = _pg_tool("pg_dump")
            conninfo, env = _libpq(url)
            with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
                # The snapshot stays valid while this transaction is open: counts and dump see the same rows.
                snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
                counts = _counts(conn)
                revision = _revision(counts, conn)
                _run([tool, "--format=custom", "--no-owner", "--no-acl", f"--snapshot={snapshot}",
                      f"--file={target}", f"--dbname={conninfo}"], env)
                conn.rollback()
            tool_version = subprocess.run([tool, "--version"], capture_output=True, text=True).stdout.strip()
        else:
            source = sqlite3.connect(make_url(url).database)
            copy = sqlite3.connect(target)
            try:
                source.backup(copy)
                # A self-contained file: no -wal/-shm beside it, readable from a read-only place.
                copy.execute("PRAGMA journal_mode=DELETE")
                copy.commit()
            finally:
                copy.close()
                source.close()
            copied = create_engine(f"sqlite:///{target}")
            with copied.connect() as conn:
                counts = _counts(conn)
                revision = _revision(counts, conn)
            copied.dispose()
            tool_version = f"sqlite {sqlite3.sqlite_version}"
    finally:
        engine.dispose()
    if revision is None:
        raise BackupError("the database has no schema (run `gasflow db upgrade` first)")
    manifest = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(),
        "backend": backend,
        "tool": tool_version,
        "schema_revision": revision,
        "tables": counts,
        "file": target.name,
        "size": target.stat().st_size,
        "sha256": _sha256(target),
        "data_keys": {"fingerprints": [key_fingerprint(k) for k in data_keys],
                      "lookup_fingerprint": key_fingerprint(lookup_key)},
    }
    (path / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return manifest


def read_manifest(path: Path) -> dict:
    file = Path(path) / MANIFEST
    if not file.is_file():
        raise BackupError(f"{path} has no {MANIFEST}: not a backup, or an interrupted one")
    manifest = json.loads(file.read_text())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r} (this release reads {FORMAT})")
    return manifest


def check_keys(manifest: dict, data_keys: list[str], lookup_key: str) -> None:
    """The configured keys must read the backup's personal fields and find them by digest."""
    wanted = manifest["data_keys"]
    have = {key_fingerprint(k) for k in data_keys}
    missing = [f for f in wanted["fingerprints"] if f not in have]
    if wanted["fingerprints"] and len(missing) == len(wanted["fingerprints"]):
        raise BackupError("none of the data keys this backup was made under is configured (fingerprints "
                          f"{', '.join(missing)}); set DATA_KEYS / DATA_LOOKUP_KEY from the secret store")
    if wanted["lookup_fingerprint"] != key_fingerprint(lookup_key):
        raise BackupError(f"the configured DATA_LOOKUP_KEY is not the backup's (fingerprint "
                          f"{wanted['lookup_fingerprint']}); set it from the secret store")


def _ensure_empty(url: str, backend: str) -> None:
    if backend == "sqlite":
        file = Path(make_url(url).database or "")
        if not file.exists() or file.stat().st_size == 0:
            return
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tables = _tables(conn)
    except Exception as exc:
        raise BackupError(f"cannot reach the target database: {exc}") from exc
    finally:
        engine.dispose()
    if tables:
        raise BackupError(f"the target database is not empty ({len(tables)} tables, e.g. {tables[0]}); "
                          "restore into a new, empty database")


def restore(url: str, path: Path, known_revisions: set[str], data_keys: list[str], lookup_key: str) -> dict:
    """Restores the backup at ``path`` into the empty database at ``url``; returns its manifest."""
    path = Path(path)
    manifest = read_manifest(path)
    backend = backend_of(url)
    if manifest["backend"] != backend:
        raise BackupError(f"this is a {manifest['backend']} backup; it cannot be restored into {backend}")
    if manifest["schema_revision"] not in known_revisions:
        raise BackupError(f"the backup's schema revision {manifest['schema_revision']} is unknown to this "
                          "release (a newer release made it); restore with that release or a later one")
    check_keys(manifest, data_keys, lookup_key)
    source = path / manifest["file"]
    if not source.is_file() or _sha256(source) != manifest["sha256"]:
        raise BackupError(f"{source} is missing or does not match the manifest's checksum")
    _ensure_empty(url, backend)
    if backend == "postgresql":
        conninfo, env = _libpq(url)
        _run([_pg_tool("pg_restore"), "--no-owner", "--no-acl", "--exit-on-error", "--single-transaction",
              f"--dbname={conninfo}", str(source)], env)
    else:
        target = Path(make_url(url).database)
        target.parent.mkdir(parents=True, exist_ok=True)
        src, dst = sqlite3.connect(f"file:{source}?mode=ro", uri=True), sqlite3.connect(target)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=WAL")  # as the platform runs it
        finally:
            dst.close()
            src.close()
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            counts = _counts(conn)
            revision = _revision(counts, conn)
    finally:
        engine.dispose()
    wrong = {t: (n, counts.get(t)) for t, n in manifest["tables"].items() if counts.get(t) != n}
    if wrong or revision != manifest["schema_revision"]:
        raise BackupError(f"the restored database does not match the manifest: {wrong or revision}")
    return manifest
