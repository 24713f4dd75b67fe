"""What the benchmarks share: a throw-away platform (SQLite file or a fresh PostgreSQL database),
demo users, and percentiles."""
import os
import platform
import statistics
import tempfile
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Where latest.json and the query plans go; the smoke test points it elsewhere.
RESULTS = Path(os.environ.get("BENCH_RESULTS_DIR") or ROOT / "bench" / "results")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    return f"{platform.node()} · {os.cpu_count()} cores · {cpu} · Python {platform.python_version()}"


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary_ms(seconds: list[float]) -> dict:
    ms = [s * 1000 for s in seconds]
    return {"p50_ms": round(percentile(ms, 50), 2), "p95_ms": round(percentile(ms, 95), 2),
            "p99_ms": round(percentile(ms, 99), 2), "mean_ms": round(statistics.fmean(ms), 2) if ms else None}


def pg_base() -> str:
    return os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@contextmanager
def fresh_database(backend: str = "sqlite"):
    """A URL of an empty database: a SQLite file in a temp folder, or a new PostgreSQL database that is
    dropped afterwards (as tests/conftest.py does). Also points GASFLOW_INSTANCE at a temp folder."""
    instance = tempfile.mkdtemp(prefix="gasflow-bench-")
    os.environ["GASFLOW_INSTANCE"] = instance
    if backend == "sqlite":
        yield f"sqlite:///{instance}/bench.db"
        return
    from web.database import scratch_database

    with scratch_database(pg_base(), "gasflow_bench") as url:
        yield url


@contextmanager
def platform_app(backend: str = "sqlite"):
    """A fresh app with demo data on SQLite (a temp file) or on a new PostgreSQL database."""
    with fresh_database(backend) as url, seeded_app(url) as app:
        yield app


@contextmanager
def seeded_app(url: str):
    """The app on ``url``, migrated, with the demo data."""
    from web.app import create_app
    from web.demo.seed import seed
    from web.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INPROCESS_TICKER": False})
    with app.app_context():
        seed(db.session)
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def user(app, username):
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from models import User
    from web.extensions import db

    with app.app_context():
        # Used detached from this session: the per-user rights the engine checks come with it.
        found = db.session.scalar(select(User).where(User.username == username)
                                  .options(selectinload(User.right_overrides)))
        db.session.expunge(found)
        return found
