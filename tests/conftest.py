"""Test fixtures: a real database (SQLite file, or PostgreSQL when GASFLOW_TEST_DATABASE_URL is set),
migrated with the project's Alembic migrations, and the app driven through HTTP."""
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from models import Base

PG_URL = os.environ.get("GASFLOW_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("GASFLOW_TEST_REDIS_URL") or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    from web.database import scratch_database, upgrade

    if not PG_URL:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'gasflow-test.db'}"
        upgrade(url)
        yield url
        return
    with scratch_database(PG_URL, "gasflow_test") as url:
        upgrade(url)
        yield url


def _wipe(url: str) -> None:
    engine = create_engine(url)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))
    engine.dispose()


@pytest.fixture
def app(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("GASFLOW_INSTANCE", str(tmp_path / "instance"))
    _wipe(database_url)
    from web import create_app
    from web.extensions import db
    from web.seed import seed

    # Documents render right after the commit, so a step's reply already carries its PDF; the queued
    # rendering (REDIS_URL) is driven by test_documents with a real RQ worker.
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, "INPROCESS_TICKER": False,
                      "DOCUMENTS_RENDER": "inline"})
    with app.app_context():
        seed(db.session)
    _CURRENT_APP[0] = app  # for sign_in_page, whose signature has no app
    yield app
    with app.app_context():
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
    from web import case_engine

    return case_engine(app)


class Api:
    """A caller of /api/v1 with a bearer token of one demo user."""

    def __init__(self, app, username):
        from sqlalchemy import select

        from models import User
        from web.extensions import db
        from web.security import new_token

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


_CURRENT_APP = [None]


def totp_code(app, username, at=None) -> str:
    """The current second-factor code of an enrolled demo account, as its authenticator app would show.
    Tests sign in more often than once per 30-second code, so the last accepted step is forgotten here
    (the server's refusal of a replayed code is tested in test_totp.py)."""
    from sqlalchemy import select

    from models import User
    from web.dataflow import cipher
    from web.extensions import db
    from workflows import totp

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
    from web.seed import DEMO_PASSWORD

    return lambda username: Browser(app, username, DEMO_PASSWORD)


def sign_in_page(page, base_url, username, password=None):
    """Sign a Playwright page in through the form, with the second factor when the account has one."""
    from web.seed import DEMO_PASSWORD

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
