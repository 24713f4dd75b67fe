"""The ``gasflow`` command."""
import os
import sys
from datetime import UTC, datetime, timedelta

import click
from sqlalchemy import select


def _app(migrate=True):
    from . import create_app

    return create_app(migrate=migrate)


@click.group()
def main():
    """gasflow: city gas supervision case platform."""


@main.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
def demo(host, port):
    """Create the database, load demo data, print the demo accounts and serve."""
    from models import User

    from . import case_engine
    from .demo_cases import seed_demo_cases
    from .extensions import db
    from .seed import DEMO_PASSWORD, demo_accounts, seed

    app = _app()
    with app.app_context():
        seed(db.session)
        seed_demo_cases(case_engine(app), db.session)
        click.echo(f"\nDemo accounts (password for all: {DEMO_PASSWORD}):")
        for username, role, display in demo_accounts():
            user = db.session.scalar(select(User).where(User.username == username))
            where = user.enterprise.name if user.enterprise else (user.county.name if user.county else "绍兴市")
            click.echo(f"  {username:<20} {role:<18} {where}  {display}")
    _serve(app, host, port)


@main.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
def serve(host, port):
    """Serve the web application (waitress)."""
    _serve(_app(), host, port)


def _serve(app, host, port):
    from waitress import serve as waitress_serve

    from .jobs import start_inprocess_ticker

    interval = app.config["TIMER_INTERVAL_SECONDS"]
    if not app.config["REDIS_URL"] and app.config["INPROCESS_TICKER"]:
        start_inprocess_ticker(app, interval)
    click.echo(f"\ngasflow on http://{host}:{port}/  (Ctrl+C stops)")
    waitress_serve(app, host=host, port=port, threads=8)


@main.command()
@click.option("--burst", is_flag=True, help="Work off the queue and exit.")
def worker(burst):
    """Run an RQ worker (needs REDIS_URL); it also schedules the timer job."""
    from redis import Redis
    from rq import Queue, Worker

    from .jobs import start_redis_ticker

    url = os.environ.get("REDIS_URL")
    if not url:
        click.echo("REDIS_URL is not set; the embedded default runs timers inside `gasflow serve`.", err=True)
        sys.exit(2)
    app = _app()  # migrations and model deployment before the first job
    conn = Redis.from_url(url)
    if not burst:
        start_redis_ticker(url, app.config["TIMER_INTERVAL_SECONDS"])
    Worker([Queue("gasflow", connection=conn)], connection=conn).work(burst=burst)


@main.command()
def tick():
    """Fire the timers due now, note overdue tasks and mail notifications (what the periodic job does)."""
    from .jobs import periodic

    done = periodic(_app())
    click.echo(f"timers fired on {done['timers']} cases")
    if done["overdue"] or done["mailed"]:  # the first line stays as scripts read it
        click.echo(f"overdue tasks notified: {done['overdue']}, e-mails sent: {done['mailed']}")


@main.group()
def db():
    """Database schema."""


@db.command("upgrade")
def db_upgrade():
    """Apply the Alembic migrations."""
    from .config import load_config
    from .database import upgrade

    upgrade(load_config()["SQLALCHEMY_DATABASE_URI"])
    click.echo("database is at the latest schema")


@main.group()
def user():
    """User accounts."""


@user.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(
    ["city_admin", "county_supervisor", "inspector", "enterprise_admin", "enterprise_staff"]))
@click.option("--name", "display_name", default="")
@click.option("--county", help="county region code, e.g. 330603")
@click.option("--enterprise", help="enterprise unified social credit code")
@click.password_option()
def user_create(username, role, display_name, county, enterprise, password):
    """Create a user bound to a county or an enterprise."""
    from models import Enterprise, Region, User

    from .extensions import db as sqldb
    from .security import hash_password

    app = _app()
    with app.app_context():
        if sqldb.session.scalar(select(User).where(User.username == username)):
            raise click.UsageError(f"user {username} exists")
        county_row = sqldb.session.scalar(select(Region).where(Region.code == county)) if county else None
        ent = sqldb.session.scalar(select(Enterprise).where(Enterprise.uscc == enterprise)) if enterprise else None
        if county and county_row is None:
            raise click.UsageError(f"no county {county}")
        if enterprise and ent is None:
            raise click.UsageError(f"no enterprise {enterprise}")
        if role in ("county_supervisor", "inspector") and county_row is None:
            raise click.UsageError("county roles need --county")
        if role.startswith("enterprise") and ent is None:
            raise click.UsageError("enterprise roles need --enterprise")
        sqldb.session.add(User(username=username, role=role, display_name=display_name or username,
                               password_hash=hash_password(password),
                               county_id=(ent.county_id if ent else county_row.id if county_row else None),
                               enterprise_id=ent.id if ent else None))
        sqldb.session.commit()
    click.echo(f"created {username} ({role})")


@main.group()
def token():
    """API tokens."""


@token.command("create")
@click.argument("username")
@click.option("--name", default="cli")
@click.option("--days", default=365, type=int, help="days until it expires")
def token_create(username, name, days):
    """Create a bearer token for USERNAME; it is printed once."""
    from models import User

    from .extensions import db as sqldb
    from .security import new_token

    app = _app()
    with app.app_context():
        u = sqldb.session.scalar(select(User).where(User.username == username))
        if u is None:
            raise click.UsageError(f"no user {username}")
        raw = new_token(sqldb.session, u, name, datetime.now(UTC) + timedelta(days=days))
        sqldb.session.commit()
    click.echo(raw)


@main.group("audit")
def audit_group():
    """The security audit trail."""


@audit_group.command("verify")
def audit_verify():
    """Check the audit chain; print the first bad entry and exit 1 if it is broken."""
    from workflows import audit

    from .extensions import db as sqldb

    app = _app()
    with app.app_context():
        verdict = audit.verify(sqldb.session)
    if not verdict.ok:
        click.echo(f"audit chain BROKEN at entry {verdict.bad_id}: {verdict.reason} "
                   f"({verdict.checked} entries verified before it)", err=True)
        sys.exit(1)
    click.echo(f"audit chain OK: {verdict.checked} entries")


@audit_group.command("purge")
@click.option("--before", "before", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="remove entries older than this date (UTC); at least 180 days ago")
def audit_purge(before):
    """Remove audit entries older than DATE, leaving an anchor so the rest of the chain verifies.

    The purge is recorded in the trail itself. On PostgreSQL it is the only deletion the
    append-only trigger lets through."""
    from workflows import audit

    from .extensions import db as sqldb

    app = _app()
    with app.app_context():
        try:
            removed = audit.purge(sqldb.session, before.replace(tzinfo=UTC), datetime.now(UTC),
                                  actor=f"cli:{os.environ.get('USER', '')}"[:64])
        except audit.PurgeRefused as exc:
            raise click.UsageError(str(exc)) from None
        sqldb.session.commit()
    click.echo(f"removed {removed} audit entries older than {before.date()}")
