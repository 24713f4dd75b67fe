"""The ``gasflow`` command."""
import os
import sys
from datetime import UTC, datetime, timedelta

import click
from sqlalchemy import select


def _app(migrate=True):
    from .app import create_app

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
    from web.demo.cases import seed_demo_cases
    from web.demo.seed import DEMO_PASSWORD, demo_accounts, seed

    from .extensions import case_engine, db

    app = _app()
    with app.app_context():
        seed(db.session)
        seed_demo_cases(case_engine(app), db.session)
        from web.common.dataflow import cipher
        from workflows.services import totp

        click.echo(f"\nDemo accounts (password for all: {DEMO_PASSWORD}):")
        for username, role, display in demo_accounts():
            user = db.session.scalar(select(User).where(User.username == username))
            where = user.enterprise.name if user.enterprise else (user.county.name if user.county else "绍兴市")
            click.echo(f"  {username:<20} {role:<18} {where}  {display}")
            if totp.enrolled(user):
                click.echo(f"  {'':<20} authenticator key {totp.secret_of(user, cipher())}")
        if app.config["REQUIRE_TOTP"]:
            click.echo("Authority accounts also need a code: add the key to an authenticator app, or run "
                       "`gasflow user totp-code USERNAME` (for the demo and tests).")
    _serve(app, host, port)


@main.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
def serve(host, port):
    """Serve the web application (waitress)."""
    _serve(_app(), host, port)


def _serve(app, host, port):
    from waitress import serve as waitress_serve

    from web.background.schedule import InProcessScheduler

    if not app.config["REDIS_URL"] and app.config["INPROCESS_TICKER"]:
        InProcessScheduler(app).start(first_after=app.config["TIMER_INTERVAL_SECONDS"])
    click.echo(f"\ngasflow on http://{host}:{port}/  (Ctrl+C stops)")
    waitress_serve(app, host=host, port=port, threads=8)


@main.command()
@click.option("--burst", is_flag=True, help="Work off the queue and exit.")
def worker(burst):
    """Run an RQ worker (needs REDIS_URL); it also schedules the periodic jobs."""
    from redis import Redis

    from web.background.queueing import make_worker
    from web.background.schedule import start_redis_scheduler

    url = os.environ.get("REDIS_URL")
    if not url:
        click.echo("REDIS_URL is not set; the embedded default runs timers inside `gasflow serve`.", err=True)
        sys.exit(2)
    app = _app()  # migrations and model deployment before the first job
    conn = Redis.from_url(url)
    if not burst:
        start_redis_scheduler(app, url, app.config["QUEUE_NAME"])
    make_worker(conn, (app.config["QUEUE_NAME"],)).work(burst=burst)


@main.command()
def tick():
    """Run every periodic job once: timers due now, overdue notices, mail, data checks, documents."""
    from web.background.schedule import run_all

    done = run_all(_app())
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
    from web.common.security import hash_password
    from workflows.services import password_rules as passwords

    from .extensions import db as sqldb

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
        account = User(username=username, role=role, display_name=display_name or username, password_hash="",
                       county_id=(ent.county_id if ent else county_row.id if county_row else None),
                       enterprise_id=ent.id if ent else None)
        broken = passwords.broken_rules(password, username, role)
        if broken:
            raise click.UsageError("the password breaks the rules: " + ", ".join(broken))
        sqldb.session.add(account)
        # The person who chose it is not the account's owner: it must be changed at the first sign-in.
        passwords.set_password(sqldb.session, account, password, hash_password, datetime.now(UTC), must_change=True)
        sqldb.session.commit()
    click.echo(f"created {username} ({role}); the password must be changed at the first sign-in")


@user.command("totp-code")
@click.argument("username")
def user_totp_code(username):
    """Print USERNAME's current second-factor code (for the demo and for testing only: it reads the
    stored key, which only the operator of the installation can)."""
    from models import User
    from web.common.dataflow import cipher
    from workflows.services import totp

    from .extensions import db as sqldb

    app = _app()
    with app.app_context():
        u = sqldb.session.scalar(select(User).where(User.username == username))
        if u is None:
            raise click.UsageError(f"no user {username}")
        if not totp.enrolled(u):
            raise click.UsageError(f"{username} has no enrolled second factor")
        click.echo(totp.current_code(u, cipher(), datetime.now(UTC)))


@main.group()
def token():
    """API tokens."""


@token.command("create")
@click.argument("username")
@click.option("--name", default="cli")
@click.option("--days", default=365, type=click.IntRange(1, 365), help="days until it expires (at most 365)")
@click.option("--scope", "scopes", multiple=True, help="a scope (repeatable): read, tasks:write, cases:write, "
              "data:submit, readings:write, ...; default: every scope the user's rights allow")
def token_create(username, name, days, scopes):
    """Create a bearer token for USERNAME; it is printed once."""
    from models import User
    from web.common.security import TokenError, new_token

    from .extensions import db as sqldb

    app = _app()
    with app.app_context():
        u = sqldb.session.scalar(select(User).where(User.username == username))
        if u is None:
            raise click.UsageError(f"no user {username}")
        try:
            raw = new_token(sqldb.session, u, name, datetime.now(UTC) + timedelta(days=days),
                            scopes=list(scopes) or None)
        except TokenError as exc:
            raise click.UsageError(f"--{'scope' if exc.field == 'scopes' else exc.field}: {exc.message}") from None
        sqldb.session.commit()
    click.echo(raw)


@main.command("backup")
@click.argument("path", type=click.Path(file_okay=False))
def backup_cmd(path):
    """Back up the database (attachments included) into the new directory PATH, with a manifest.

    The data keys are not in the backup: keep DATA_KEYS / DATA_LOOKUP_KEY (or instance/data_keys.json)
    in the secret store, apart from the backups."""
    from workflows.services.backup import BackupError, backup

    from .config import load_config

    cfg = load_config()
    try:
        manifest = backup(cfg["SQLALCHEMY_DATABASE_URI"], path, cfg["DATA_KEYS"], cfg["DATA_LOOKUP_KEY"])
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    rows = sum(manifest["tables"].values())
    click.echo(f"backed up schema {manifest['schema_revision']}: {len(manifest['tables'])} tables, {rows} rows, "
               f"{manifest['size']} bytes (sha256 {manifest['sha256']}) into {path}")


@main.command("restore")
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@click.option("--no-upgrade", is_flag=True, help="leave the schema at the backup's revision")
def restore_cmd(path, no_upgrade):
    """Restore the backup at PATH into the empty database DATABASE_URL names, then upgrade its schema."""
    from workflows.services.backup import BackupError, restore

    from .config import load_config
    from .database import known_revisions, upgrade

    cfg = load_config()
    url = cfg["SQLALCHEMY_DATABASE_URI"]
    try:
        manifest = restore(url, path, known_revisions(), cfg["DATA_KEYS"], cfg["DATA_LOOKUP_KEY"])
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"restored {sum(manifest['tables'].values())} rows in {len(manifest['tables'])} tables "
               f"(backup of {manifest['created_at']}, schema {manifest['schema_revision']}); counts verified")
    if not no_upgrade:
        upgrade(url)
        click.echo("database is at the latest schema")


# Containment (docs/incident-response.md): from a shell, when the web admin itself may not be trusted.
@user.command("lock")
@click.argument("username")
def user_lock(username):
    """Deactivate USERNAME: its sessions and API tokens stop working on their next request."""
    _set_active(username, False)
    click.echo(f"locked {username}")


@user.command("unlock")
@click.argument("username")
def user_unlock(username):
    """Reactivate USERNAME (after its password was reset and its tokens reviewed)."""
    _set_active(username, True)
    click.echo(f"unlocked {username}")


def _set_active(username, active):
    from models import User
    from workflows.services import sign_ins

    from .extensions import db as sqldb

    app = _app(migrate=False)
    with app.app_context():
        u = sqldb.session.scalar(select(User).where(User.username == username))
        if u is None:
            raise click.UsageError(f"no user {username}")
        u.active = active
        if not active:
            sign_ins.end_all(sqldb.session, u.id)
        sqldb.session.commit()


def _one_user_or_all(username, everyone, stmt, user_column) -> int:
    """Run ``stmt`` on USERNAME's rows (``user_column`` names the user), or on everyone's with --all;
    returns how many rows it changed."""
    from models import User

    from .extensions import db as sqldb

    if bool(username) == everyone:
        raise click.UsageError("name a user, or give --all")
    app = _app(migrate=False)
    with app.app_context():
        if username:
            user_id = sqldb.session.scalar(select(User.id).where(User.username == username))
            if user_id is None:
                raise click.UsageError(f"no user {username}")
            stmt = stmt.where(user_column == user_id)
        n = sqldb.session.execute(stmt).rowcount
        sqldb.session.commit()
    return n


@user.command("sign-out")
@click.argument("username", required=False)
@click.option("--all", "everyone", is_flag=True, help="sign every user out")
def user_sign_out(username, everyone):
    """End every web session of USERNAME (or of everyone with --all) from its next request; the account
    stays usable, so it signs in again (API tokens are untouched: see `token revoke`)."""
    from sqlalchemy import delete

    from models import UserSession

    n = _one_user_or_all(username, everyone, delete(UserSession), UserSession.user_id)
    click.echo(f"ended {n} sessions")


@token.command("revoke")
@click.argument("username", required=False)
@click.option("--all", "everyone", is_flag=True, help="revoke every user's tokens")
def token_revoke(username, everyone):
    """Revoke every API token of USERNAME (or of everyone with --all); clients need new ones."""
    from sqlalchemy import update

    from models import ApiToken

    stmt = update(ApiToken).where(ApiToken.revoked_at.is_(None)).values(revoked_at=datetime.now(UTC))
    n = _one_user_or_all(username, everyone, stmt, ApiToken.user_id)
    click.echo(f"revoked {n} tokens")


@main.group()
def data():
    """Reported enterprise data."""


@data.command("rekey")
@click.option("--batch-size", default=500, type=int)
def data_rekey(batch_size):
    """Re-encrypt personal data and second-factor keys under the first of DATA_KEYS (after a new key was
    put first); afterwards the old key can be dropped."""
    from web.common.dataflow import cipher
    from workflows.services import datadock

    from .extensions import db as sqldb

    app = _app()
    with app.app_context():
        records = datadock.rekey(sqldb.session, cipher(), batch_size)
        secrets = _rekey_totp_secrets(sqldb.session, cipher())
    click.echo(f"re-encrypted {records} data records and {secrets} second-factor keys under the first key")


def _rekey_totp_secrets(session, cipher) -> int:
    from models import User
    from models.crypto import PREFIX

    done = 0
    for u in session.scalars(select(User).where(User.totp_secret.is_not(None))):
        if u.totp_secret.startswith(PREFIX):
            u.totp_secret = cipher.rotate(u.totp_secret)
            done += 1
    session.commit()
    return done


@main.group("audit")
def audit_group():
    """The security audit trail."""


@audit_group.command("verify")
def audit_verify():
    """Check the audit chain; print the first bad entry and exit 1 if it is broken."""
    from workflows.services import audit_chain

    from .extensions import db as sqldb

    app = _app()
    with app.app_context():
        verdict = audit_chain.verify(sqldb.session)
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
    from workflows.services import audit_chain

    from .extensions import db as sqldb

    app = _app()
    with app.app_context():
        try:
            removed = audit_chain.purge(sqldb.session, before.replace(tzinfo=UTC), datetime.now(UTC),
                                  actor=f"cli:{os.environ.get('USER', '')}"[:64])
        except audit_chain.PurgeRefused as exc:
            raise click.UsageError(str(exc)) from None
        sqldb.session.commit()
    click.echo(f"removed {removed} audit entries older than {before.date()}")
