"""Engine options per backend, schema upgrades through Alembic, and throw-away PostgreSQL databases."""
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, exc, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.util import LRUCache

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def engine_options(url: str) -> dict:
    cached = {"execution_options": {"compiled_cache": StatementCache(QUERY_CACHE_SIZE)}}
    if url.startswith("sqlite"):
        # Writers wait for each other (30 s) instead of failing with "database is locked".
        return {**cached, "connect_args": {"timeout": 30, "check_same_thread": False}}
    # No pool_pre_ping: ``ping_after_idle`` pings only connections that sat in the pool a while, so a
    # connection the server dropped (restart, failover) is still replaced before use and the process
    # serves again once the database is back. connect_timeout: an unreachable server fails a
    # request in seconds (503) instead of holding it until the load balancer gives up.
    # No JIT: it pays off for long analytical queries, not for the platform's short ones. At a million
    # cases the planner's estimate for the queue counts crossed jit_above_cost and compiling took
    # 0.7 s of a 1.3 s request (bench/results/plans, `python -m bench queue`).
    # pool_use_lifo: a request's transactions (an Idempotency-Key's claim, then its work with its audit
    # entry; or its reads, then a refused request's entry) get back the connection they just returned, and
    # idle connections beyond the busiest moment can expire.
    return {**cached, "pool_use_lifo": True, "pool_size": 10, "max_overflow": 20, "pool_timeout": 10,
            "connect_args": {"connect_timeout": 5, "options": "-c jit=off"}}


QUERY_CACHE_SIZE = 500  # SQLAlchemy's own default


class StatementCache(LRUCache):
    """SQLAlchemy's cache of compiled statements, which finds a statement it compiled before by the identity
    of the statement's cache key before it hashes the key.

    SQLAlchemy looks a statement up by its cache key, a nested tuple of the whole statement that Python
    hashes again on every execution: for the platform's large statements (the case's lists, the API key
    with its user's rights, the transition's write with the rows it carries) that hashing was about 3 % of
    an API request's CPU. A statement built once (a module's constant) keeps its key object (SQLAlchemy
    memoizes it on the statement), so the same object is the same key: found by ``id`` and an ``is``
    check, it needs no hash. Any other statement is looked up as before, and its key remembered the
    same way; they are forgotten all at once when there are as many as the cache holds."""

    __slots__ = ("_by_identity",)

    def __init__(self, capacity: int):
        super().__init__(capacity)
        self._by_identity: dict = {}

    def get(self, key, default=None):
        # key: (dialect, the statement's cache key, column keys, flags), as sqlalchemy/sql/elements.py builds
        # it; anything else is looked up as LRUCache does.
        if not (isinstance(key, tuple) and len(key) > 2 and isinstance(key[1], tuple)):
            return super().get(key, default)
        found = self._by_identity.get(self._short(key))
        if found is not None and found[0] is key[1]:
            return found[1]
        value = super().get(key)
        if value is None:
            return default
        self._remember(key, value)
        return value

    def __setitem__(self, key, value) -> None:
        super().__setitem__(key, value)
        if isinstance(key, tuple) and len(key) > 2 and isinstance(key[1], tuple):
            self._remember(key, value)

    @staticmethod
    def _short(key) -> tuple:
        return id(key[1]), key[0], key[2:]

    def _remember(self, key, value) -> None:
        if len(self._by_identity) >= self.capacity:  # it may hold compiled statements the LRU has dropped
            self._by_identity.clear()
        # The key object is held with it: its id cannot be reused while the entry exists.
        self._by_identity[self._short(key)] = (key[1], value)

    def clear(self) -> None:
        self._by_identity.clear()
        super().clear()


# A connection given back to the pool this recently (seconds) is taken out again without a ping. A
# request may take one out several times in a row (a key's claim, its transaction with its audit entry,
# the alert rules), each time from the previous one (pool_use_lifo): pool_pre_ping cost a round trip
# each time for a connection that had just answered. One idle for longer is pinged first.
PING_AFTER_IDLE_S = 1.0
_IDLE_SINCE = "gasflow.idle_since"


def ping_after_idle(engine: Engine) -> None:
    """pool_pre_ping for connections idle longer than PING_AFTER_IDLE_S: a connection that fails the
    ping invalidates the pool (as pool_pre_ping does) and the checkout goes on with a new one."""
    if engine.dialect.name == "sqlite":
        return

    @event.listens_for(engine.pool, "checkin")
    def _checked_in(dbapi_connection, record):
        if dbapi_connection is not None:
            record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _checked_out(dbapi_connection, record, _proxy):
        # Nothing noted: a connection made for this checkout (the record's info goes with its connection).
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_S:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error:
            alive = False
        if not alive:
            raise exc.InvalidatePoolError()


_READS = re.compile(r"\s*SELECT\b", re.IGNORECASE)
_WROTE = "_gasflow_wrote"  # set on a psycopg connection whose transaction ran anything but a SELECT


def _note(connection, query) -> None:
    if not (isinstance(query, str) and _READS.match(query)):
        setattr(connection, _WROTE, True)


def keep_prepared_statements(engine: Engine) -> None:
    """End a transaction that only read with COMMIT instead of ROLLBACK, on PostgreSQL.

    psycopg prepares a statement the sixth time a connection runs it, so the server parses and plans it
    once, not on every run; but a ROLLBACK makes it drop every statement it prepared (and forget the
    counts). A request's session ends with a rollback whenever it read after its last commit (a reply
    built after the transition, the audit's check of the request), so no statement was ever prepared:
    PostgreSQL planned all of them each time, more of its CPU than running them (pg_stat_statements over
    `python -m bench api`: PostgreSQL's CPU per completion halved). For a transaction that wrote
    nothing, COMMIT and ROLLBACK leave the same data and release the same locks. Anything else is
    rolled back: a transaction in error, or one that ran any statement but a SELECT, through SQLAlchemy
    or on the raw connection (the readings' COPY): every cursor of the connection notes it. A SELECT is
    taken to write nothing; one calling a function that writes (or ``pg_notify``) would be committed:
    the platform has none, and one added would need a statement of another kind beside it."""
    if engine.dialect.name != "postgresql":
        return
    import psycopg
    from psycopg.pq import TransactionStatus

    class NotingCursor(psycopg.Cursor):
        def execute(self, query, *args, **kwargs):
            _note(self.connection, query)
            return super().execute(query, *args, **kwargs)

        def executemany(self, query, *args, **kwargs):
            _note(self.connection, query)
            return super().executemany(query, *args, **kwargs)

        def copy(self, statement, *args, **kwargs):
            setattr(self.connection, _WROTE, True)
            return super().copy(statement, *args, **kwargs)

    @event.listens_for(engine, "connect")
    def _noting_cursors(dbapi_connection, _record):
        dbapi_connection.cursor_factory = NotingCursor

    @event.listens_for(engine, "before_cursor_execute")
    def _note_statement(_conn, cursor, statement, _parameters, _context, _executemany):
        _note(cursor.connection, statement)  # a server-side cursor's too (not made by the factory)

    dialect = engine.dialect
    rollback, commit = dialect.do_rollback, dialect.do_commit

    def do_rollback(dbapi_connection):
        raw = getattr(dbapi_connection, "driver_connection", dbapi_connection)
        if getattr(raw, _WROTE, False) or raw.info.transaction_status != TransactionStatus.INTRANS:
            setattr(raw, _WROTE, False)
            rollback(dbapi_connection)
        else:
            commit(dbapi_connection)

    def do_commit(dbapi_connection):
        setattr(getattr(dbapi_connection, "driver_connection", dbapi_connection), _WROTE, False)
        commit(dbapi_connection)

    dialect.do_rollback, dialect.do_commit = do_rollback, do_commit


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
def scratch_database(base_url: str, prefix: str, durable: bool = True) -> Iterator[str]:
    """A new, empty PostgreSQL database ``<prefix>_<random>`` on the server of ``base_url``, as a URL
    (password included, so it can be handed to another engine); dropped on exit. Not ``durable``: its
    commits do not wait for the disk (``synchronous_commit = off``), for a database only a check uses."""
    base = make_url(base_url)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    # AUTOCOMMIT: CREATE/DROP DATABASE refuse to run inside a transaction. "postgres": the maintenance
    # database every server has, whichever database base_url names.
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            if not durable:
                conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
        try:
            yield base.set(database=name).render_as_string(hide_password=False)
        finally:
            # FORCE: a pooled connection the caller did not dispose of must not keep the database alive.
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
