"""Engine options per backend, schema upgrades through Alembic, and throw-away PostgreSQL databases."""
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        # Writers wait for each other (30 s) instead of failing with "database is locked".
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    # pool_pre_ping: a connection the server dropped (restart, failover) is replaced before use, so the
    # process serves again once the database is back. connect_timeout: an unreachable server fails a
    # request in seconds (503) instead of holding it until the load balancer gives up.
    # No JIT: it pays off for long analytical queries, not for the platform's short ones. At a million
    # cases the planner's estimate for the queue counts crossed jit_above_cost and compiling took
    # 0.7 s of a 1.3 s request (bench/results/plans, `python -m bench queue`).
    # pool_use_lifo: a request's units of work (its transaction, then the audit entry after it) get back
    # the connection they just returned, and idle connections beyond the busiest moment can expire.
    return {"pool_pre_ping": True, "pool_use_lifo": True, "pool_size": 10, "max_overflow": 20, "pool_timeout": 10,
            "connect_args": {"connect_timeout": 5, "options": "-c jit=off"}}


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def known_revisions() -> set[str]:
    """Every schema revision this release's migrations know (a backup of any other is from a newer release)."""
    from alembic.script import ScriptDirectory

    return {s.revision for s in ScriptDirectory.from_config(alembic_config("sqlite://")).walk_revisions()}


@contextmanager
def scratch_database(base_url: str, prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database ``<prefix>_<random>`` on the server of ``base_url``, as a URL
    (password included, so it can be handed to another engine); dropped on exit."""
    base = make_url(base_url)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    # AUTOCOMMIT: CREATE/DROP DATABASE refuse to run inside a transaction. "postgres": the maintenance
    # database every server has, whichever database base_url names.
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield base.set(database=name).render_as_string(hide_password=False)
        finally:
            # FORCE: a pooled connection the caller did not dispose of must not keep the database alive.
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
