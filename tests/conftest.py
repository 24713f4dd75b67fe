"""Test fixtures: a real database (SQLite file, or PostgreSQL when GASFLOW_TEST_DATABASE_URL is set),
migrated with the project's Alembic migrations, and the app driven through HTTP."""
import os
import re
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import Engine

from models import Base

PG_URL = os.environ.get("GASFLOW_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("GASFLOW_TEST_REDIS_URL") or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"


# What every test's app is made with. Documents are left to the periodic round ("sweep"): rendering a
# PDF is most of the cost of opening a rectification, and only the tests marked ``documents`` read them.
APP_CONFIG = {"TESTING": True, "INPROCESS_TICKER": False, "DOCUMENTS_RENDER": "sweep",
              "PASSWORD_HASH_PROFILE": "cheapest"}


@event.listens_for(Engine, "connect")
def _no_waiting_for_the_disk(dbapi_connection, _record):
    """SQLite: a commit does not wait for the disk (synchronous=OFF), as ``synchronous_commit = off`` on
    the PostgreSQL test database (``_Databases``). Each test commits hundreds of times (every request
    writes its audit entry): at 3.4 ms an fdatasync here, and longer while other work writes to the same
    disk, that was most of an access-matrix role's time. What is committed, and what another connection
    sees, is the same; only a power cut would lose it, and the test database is thrown away."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA synchronous=OFF")
        cur.close()


def pytest_configure(config):
    for marker in ("documents: the test reads rendered PDFs; they render right after the commit",
                   "browser: drives Debian's chromium through Playwright (its own step in .ci/run)",
                   "slow: takes more than a few seconds on its own",
                   "postgresql: needs PostgreSQL (skipped on the embedded SQLite default)"):
        config.addinivalue_line("markers", marker)


def pytest_collection_modifyitems(config, items):
    if PG_URL:
        return
    skip = pytest.mark.skip(reason="PostgreSQL only (set GASFLOW_TEST_DATABASE_URL)")
    for item in items:
        if "postgresql" in item.keywords:
            item.add_marker(skip)


class _Databases:
    """The test database and its seeded template: migrated, models deployed, reference and demo data
    loaded once per session; every test starts from the template's copy instead of wiping, migrating,
    deploying and seeding again.

    SQLite: the template is a file, copied into the test database with SQLite's online backup.
    PostgreSQL: the template is a schema of the test database holding a copy of every table's rows;
    a test's start puts them back (one script: delete, insert ... select, sequences reset). Measured
    against CREATE DATABASE ... TEMPLATE, which costs 0.5 to 4 s a test here (it checkpoints the
    cluster, or WAL-logs the whole database), this costs tens of milliseconds. Most tests write to a few
    of the fifty tables, so only the tables written since the last restore are put back: a statement
    trigger on every table notes its name (in a schema of the fixtures' own) the first time a statement
    writes to it; the full script runs when the template changes. Measured: 70 ms -> 9 ms a test that wrote nothing."""

    SNAPSHOT = "gasflow_test_template"

    def __init__(self, tmp_path_factory):
        self.folder = tmp_path_factory.mktemp("db")
        if PG_URL:
            from sqlalchemy.engine import make_url

            base = make_url(PG_URL)
            self.work_name = f"gasflow_test_{os.urandom(4).hex()}"
            # AUTOCOMMIT: CREATE/DROP DATABASE refuse to run in a transaction.
            self.admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.work_name}"'))
                # A commit here need not wait for its WAL to reach the disk: the database is thrown away,
                # and a server crash would fail the run anyway. Every transaction of every test (and each
                # restore) waited for an fdatasync otherwise, tens of ms on a busy disk. What a commit does
                # and when its rows are seen by others is the same.
                conn.execute(text(f'ALTER DATABASE "{self.work_name}" SET synchronous_commit = off'))
            self.url = base.set(database=self.work_name).render_as_string(hide_password=False)
            self.scripts = {}
        else:
            self.work = self.folder / "gasflow-test.db"
            self.url = f"sqlite:///{self.work}"

    def keep_as_template(self, name: str = "seeded"):
        """What the database holds now is what every test starts from (``name``: the seeded template;
        another name keeps a second template beside it, e.g. with the demo cases, see ``demo_cases``)."""
        if not PG_URL:
            self._copy(self.work, self.folder / f"gasflow-template-{name}.db")
            return
        from sqlalchemy.pool import NullPool

        tables = [t.name for t in Base.metadata.sorted_tables]
        if not hasattr(self, "engine"):
            self.engine = create_engine(self.url, poolclass=NullPool)
            self._track_writes(tables)
        snap = self.SNAPSHOT if name == "seeded" else f"{self.SNAPSHOT}_{name}"
        with self.engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{snap}"'))
            filled = {}
            for name_ in tables:
                if conn.execute(text(f'SELECT EXISTS (SELECT 1 FROM public."{name_}")')).scalar():
                    # Generated columns (PostGIS geom from lon/lat) are computed again, not copied.
                    columns = ", ".join(f'"{c}"' for c in conn.scalars(text(
                        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
                        "AND table_name = :t AND is_generated = 'NEVER' ORDER BY ordinal_position"), {"t": name_}))
                    conn.execute(text(f'CREATE TABLE "{snap}"."{name_}" AS SELECT {columns} FROM public."{name_}"'))
                    filled[name_] = columns
            sequences = conn.execute(text(
                "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'")).all()
        # Triggers and foreign keys off while it runs (session_replication_role): the audit trail's
        # append-only trigger would refuse the DELETE, and no order of deletes has to be found.
        self.scripts[name] = "; ".join(
            ["SET session_replication_role = replica"]
            + [f'DELETE FROM public."{t}"' for t in reversed(tables)]
            + [f'INSERT INTO public."{t}" ({cols}) SELECT {cols} FROM "{snap}"."{t}"' for t, cols in filled.items()]
            + [self._sequences_statement(sequences), f"TRUNCATE {self.WRITTEN}"]
            + ["SET session_replication_role = origin"])
        # Per table, what puts it back (the script above, table by table, for a test that wrote to few).
        self.table_scripts[name] = {
            t: f'DELETE FROM public."{t}"' + (f'; INSERT INTO public."{t}" ({filled[t]}) SELECT {filled[t]} '
                                              f'FROM "{snap}"."{t}"' if t in filled else "")
            for t in tables}
        self.sequence_scripts[name] = self._sequences_statement(sequences)
        with self.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {self.WRITTEN}"))  # what the database holds now is the template
        self.loaded = name

    WRITTEN = "gasflow_test_writes.written"

    def _track_writes(self, tables):
        """A statement trigger on every table notes, once per table, that a statement wrote to it. The
        restore runs as a replica (session_replication_role), so its own writes fire no trigger."""
        self.table_scripts, self.sequence_scripts, self.loaded = {}, {}, None
        with self.engine.begin() as conn:
            conn.execute(text("CREATE SCHEMA gasflow_test_writes"))
            # No unique key: two transactions noting the same tables would wait on each other's (and could
            # deadlock where the product does not); a name noted twice under concurrency costs nothing.
            conn.execute(text(f"CREATE UNLOGGED TABLE {self.WRITTEN} (name text NOT NULL)"))
            conn.execute(text(
                "CREATE FUNCTION gasflow_test_writes.note() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF NOT EXISTS (SELECT FROM {self.WRITTEN} WHERE name = TG_TABLE_NAME) THEN "
                f"INSERT INTO {self.WRITTEN} VALUES (TG_TABLE_NAME); END IF; RETURN NULL; END $$"))
            for t in tables:
                conn.execute(text(
                    f'CREATE TRIGGER gasflow_test_written AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE '
                    f'ON public."{t}" FOR EACH STATEMENT EXECUTE FUNCTION gasflow_test_writes.note()'))

    @staticmethod
    def _sequences_statement(sequences) -> str:
        # One statement for all of them: fifty SELECTs cost more than the calls.
        return "SELECT " + ", ".join(
            f"setval('public.\"{seq}\"', {value}, true)" if value is not None
            else f"setval('public.\"{seq}\"', 1, false)" for seq, value in sequences)

    def has_template(self, name: str) -> bool:
        return name in self.scripts if PG_URL else (self.folder / f"gasflow-template-{name}.db").exists()

    def restore(self, name: str = "seeded"):
        """The test database as the template ``name`` holds it."""
        if PG_URL:
            with self.engine.begin() as conn:
                if self.loaded != name:
                    conn.exec_driver_sql(self.scripts[name])
                    self.loaded = name
                    return
                written = set(conn.exec_driver_sql(f"DELETE FROM {self.WRITTEN} RETURNING name").scalars())
                if written:
                    conn.exec_driver_sql("; ".join(
                        ["SET session_replication_role = replica"]
                        + [self.table_scripts[name][t] for t in written]
                        + ["SET session_replication_role = origin"]))
                # Sequences are not tables: a rolled-back insert still took a number.
                conn.exec_driver_sql(self.sequence_scripts[name])
        else:
            self._copy(self.folder / f"gasflow-template-{name}.db", self.work)

    @staticmethod
    def _copy(source, target):
        # SQLite's online backup, not a file copy: an engine the test made itself (a CLI command's app,
        # a worker's) may still hold a connection to the file, and must see the new content, not a
        # file swapped under its write-ahead log.
        import sqlite3

        with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
            src.backup(dst)

    def drop(self):
        if PG_URL:
            self.engine.dispose()
            with self.admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.work_name}" WITH (FORCE)'))
            self.admin.dispose()


@pytest.fixture(scope="session")
def _databases(tmp_path_factory):
    found = _Databases(tmp_path_factory)
    yield found
    found.drop()


@pytest.fixture(scope="session")
def database_url(_databases):
    return _databases.url


@pytest.fixture(scope="session")
def _instance(tmp_path_factory):
    """One instance folder (key files, uploads) for the session: the template's encrypted data and
    TOTP secrets were written with its keys."""
    folder = tmp_path_factory.mktemp("instance")
    before = os.environ.get("GASFLOW_INSTANCE")
    os.environ["GASFLOW_INSTANCE"] = str(folder)
    yield folder
    if before is None:
        os.environ.pop("GASFLOW_INSTANCE", None)
    else:
        os.environ["GASFLOW_INSTANCE"] = before


@pytest.fixture(scope="session")
def _session_app(_databases, _instance):
    """The app, built once: migrated, models deployed and the demo seeded into the template."""
    from web.app import create_app
    from web.demo.seed import seed
    from web.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": _databases.url, **APP_CONFIG})
    with app.app_context():
        seed(db.session)
        _office_hours(db.session, enabled=False)
        from models import DecisionModel, ProcessModel

        models = (frozenset(db.session.scalars(select(ProcessModel.id))),
                  frozenset(db.session.scalars(select(DecisionModel.id))))
        db.session.remove()
        db.engine.dispose()
    _databases.keep_as_template()
    pristine = (dict(app.config), dict(app.extensions), models)
    yield app, pristine
    with app.app_context():
        db.engine.dispose()


def _office_hours(session, enabled: bool) -> None:
    """The off-hours audit rule on or off. The suite runs at any hour: with the rule on, every write after 18:00
    Beijing time or on a weekend raises an alert, with its notices and statements, which tests of other things
    count (they failed in the evening). The template has it off; its own tests switch it on (``working_hours``)."""
    from workflows.services import audit_rules

    rule = audit_rules.rules(session)[audit_rules.OFF_HOURS]
    rule.enabled = enabled
    audit_rules.save(session, rule, None, datetime.now(UTC))
    session.commit()


@pytest.fixture
def working_hours(app):
    """The off-hours rule as the platform ships it (Monday to Friday, 8:00 to 18:00), for the tests of it."""
    from web.extensions import db

    with app.app_context():
        _office_hours(db.session, enabled=True)
        db.session.remove()


@pytest.fixture
def app(request, _session_app, _databases, monkeypatch):
    """The session's app on a fresh copy of the seeded database, with its settings as built: a test may
    change ``app.config``; the next one does not see it."""
    from web.background.queueing import configure_documents
    from web.extensions import case_engine, db

    app, (config, extensions, models) = _session_app
    with app.app_context():
        db.session.remove()  # the pool stays: its connections see the restored rows
    _databases.restore()
    app.config.clear()
    app.config.update(config)
    app.extensions.clear()
    app.extensions.update(extensions)
    from workflows.engine import restricted

    restricted.configure(app.config["SCRIPT_CPU_SECONDS"], app.config["SCRIPT_MEMORY_MB"])
    # Deployed models are re-read from the database: a test that deployed one left its facts here,
    # under an id the next test's database may give to another model.
    case_engine(app).forget_models(*models)
    if request.node.get_closest_marker("documents"):
        app.config["DOCUMENTS_RENDER"] = "inline"
    configure_documents(app)
    _CURRENT_APP[0] = app  # for sign_in_page, whose signature has no app
    yield app
    with app.app_context():
        db.session.remove()


@pytest.fixture
def demo_cases(app, _databases):
    """The test's database with the demo's cases too (web/demo/cases.py: one in each lifecycle, as `gasflow
    demo` loads them). Making them goes through the engine case by case and costs seconds; the first test
    on a worker that asks makes them, and they are kept as a second template that the later ones copy, as
    the ``app`` fixture copies the first. tests/test_demo_data.py checks the making itself."""
    from models import Setting
    from web.demo.cases import MARK, seed_demo_cases
    from web.extensions import case_engine, db

    if _databases.has_template("demo_cases"):
        with app.app_context():
            db.session.remove()
        _databases.restore("demo_cases")
    else:
        with app.app_context():
            assert seed_demo_cases(case_engine(app), db.session) is True
            db.session.remove()
        _databases.keep_as_template("demo_cases")
    with app.app_context():
        assert db.session.get(Setting, MARK) is not None, "the demo cases are not in the test's database"
    return app


@pytest.fixture
def own_app(app):
    """An app of the test's own on the test's fresh database, for a test that adds routes or reads the
    environment at start-up (the session's app has served requests and cannot take new routes)."""
    from web.app import create_app
    from web.extensions import db

    made = []

    def build(**config):
        made.append(create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                                **APP_CONFIG, **config}, migrate=False))
        return made[-1]

    yield build
    for built in made:
        with built.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def redis():
    """A connection to the test Redis; the test is skipped where none answers."""
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisDown

    conn = Redis.from_url(REDIS_URL)
    try:
        conn.ping()
    except RedisDown:
        pytest.skip(f"no Redis at {REDIS_URL}")
    yield conn
    conn.close()


@pytest.fixture
def engine(app):
    from web.extensions import case_engine

    return case_engine(app)


class Api:
    """A caller of /api/v1 with a bearer token of one demo user."""

    def __init__(self, app, username):
        from sqlalchemy import select

        from models import User
        from web.common.security import new_token
        from web.extensions import db

        self.client = app.test_client()
        with app.app_context():
            self.user = db.session.scalar(select(User).where(User.username == username))
            self.user_id = self.user.id
            self.token = new_token(db.session, self.user, "test")
            db.session.commit()
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def get(self, path, **kw):
        return self.client.get("/api/v1" + path, headers=self.headers, **kw)

    def post(self, path, json=None, **kw):
        return self.client.post("/api/v1" + path, json=json, headers=self.headers, **kw)


@pytest.fixture
def api(app):
    made = {}

    def for_user(username):
        if username not in made:
            made[username] = Api(app, username)
        return made[username]

    return for_user


# Headless Chromium's flags for every browser test. RenderDocument off: with it Chromium builds a new
# frame host for every navigation, which cost a fifth of its CPU time on a walk from page to page
# (measured: 40 page loads, 3.6 s against 2.8 s); what a page does and shows is the same either way.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu",
                 "--disable-features=RenderDocument"]


@contextmanager
def statements(app, transactions: bool = False, parameters: bool = False):
    """The SQL statements the app's engine runs inside the block, whitespace folded: what a request costs
    in round trips, and which tables it touches. ``transactions``: with "BEGIN", "COMMIT" and "ROLLBACK"
    where SQLAlchemy begins and ends a transaction (on PostgreSQL each is a round trip of its own).
    ``parameters``: each statement as (text, its parameters), to be run again and its result seen."""
    from web.extensions import db

    with app.app_context():
        engine = db.engine
    seen: list = []

    def note(_conn, _cursor, statement, given, *_args):
        folded = " ".join(statement.split())
        seen.append((folded, given) if parameters else folded)

    marks = {name: (lambda word: lambda _conn: seen.append(word))(name.upper())
             for name in (("begin", "commit", "rollback") if transactions else ())}
    event.listen(engine, "before_cursor_execute", note)
    for name, mark in marks.items():
        event.listen(engine, name, mark)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)
        for name, mark in marks.items():
            event.remove(engine, name, mark)


def raw_sql(database_url, *statements_):
    """Statements run straight on the database, as someone with database access would (or a fault would)."""
    engine = create_engine(database_url)
    with engine.begin() as conn:
        for stmt in statements_:
            conn.execute(text(stmt))
    engine.dispose()


def keep_screenshot(page, name: str, full_page: bool = True):
    """A screenshot kept in $GASFLOW_SCREENSHOTS/<name>.jpg, where .ci/run keeps them for a person to look
    at; none is taken when it is not set (a developer's run: nobody would look, and they cost)."""
    where = os.environ.get("GASFLOW_SCREENSHOTS")
    if where:
        path = Path(where) / f"{name}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=full_page, type="jpeg", quality=60)


_CURRENT_APP = [None]


def totp_code(app, username, at=None) -> str:
    """The current second-factor code of an enrolled demo account, as its authenticator app would show.
    Tests sign in more often than once per 30-second code, so the last accepted step is forgotten here
    (the server's refusal of a replayed code is tested in test_totp.py)."""
    from sqlalchemy import select

    from models import User
    from web.common.dataflow import cipher
    from web.extensions import db
    from workflows.services import totp

    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        user.totp_last_step = None
        db.session.commit()
        return totp.current_code(user, cipher(), at or datetime.now(UTC))


def sign_in_form(client, username, password, at=None):
    """Sign a test client in through the form: the password, then the second factor when asked for
    (the code of the instant ``at`` when the test has moved the clock). Returns the last response."""
    page = client.get("/login")
    resp = client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_of(page.data)})
    if resp.status_code == 302 and resp.headers["Location"].endswith("/login/code"):
        page = client.get("/login/code")
        resp = client.post("/login/code", data={"code": totp_code(client.application, username, at),
                                                "csrf_token": csrf_of(page.data)})
    return resp


class Browser:
    """A signed-in browser session over the test client: real login form (and second factor), real CSRF."""

    def __init__(self, app, username, password):
        self.client = app.test_client()
        resp = sign_in_form(self.client, username, password)
        assert resp.status_code == 302, resp.data[:500]

    def form_post(self, path, data, page_path=None):
        page = self.client.get(page_path or path)
        return self.client.post(path, data={**data, "csrf_token": csrf_of(page.data)},
                                content_type="multipart/form-data")


def csrf_of(html: bytes) -> str:
    match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1).decode()


@pytest.fixture
def browser(app):
    from web.demo.seed import DEMO_PASSWORD

    return lambda username: Browser(app, username, DEMO_PASSWORD)


def sign_in_page(page, base_url, username, password=None):
    """Sign a Playwright page in through the form, with the second factor when the account has one."""
    from web.demo.seed import DEMO_PASSWORD

    page.goto(f"{base_url}/login")
    page.fill("#username", username)
    page.fill("#password", password or DEMO_PASSWORD)
    page.click("#submit")
    page.wait_for_load_state()
    if page.url.endswith("/login/code"):
        page.fill("#code", totp_code(_CURRENT_APP[0], username))
        page.click("#submit")
    page.wait_for_url(f"{base_url}/")


def enterprise_id(app, name="柯桥区瓶装液化气供应有限公司"):
    from sqlalchemy import select

    from models import Enterprise
    from web.extensions import db

    with app.app_context():
        return db.session.scalar(select(Enterprise.id).where(Enterprise.name == name))


def future(hours=48) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


BPMN_DIR = Path(__file__).resolve().parent / "bpmn"


@pytest.fixture
def live_server(app):
    """The app on a real loopback port, for the headless browser."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
