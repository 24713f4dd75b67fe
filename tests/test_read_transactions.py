"""PostgreSQL: a transaction that only read ends with COMMIT, so psycopg keeps the statements it prepared
(web/database.py, keep_prepared_statements); one that wrote anything is still rolled back."""
from datetime import UTC, datetime

import pytest
from flows import open_order
from sqlalchemy import func, select, text

pytestmark = pytest.mark.postgresql


def _prepared(conn, fragment: str) -> int:
    return conn.scalar(text("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE :f"),
                       {"f": f"%{fragment}%"})


def test_a_case_read_again_and_again_is_planned_once_not_each_time(app, api):
    from web.extensions import db

    case = open_order(api, app)
    reader = api("keqiao_inspector")
    # Each read ends its transaction after the reply is built: it used to be rolled back, and psycopg
    # then dropped what it had prepared, so the history's statement was parsed and planned every time.
    for _ in range(12):
        assert reader.get(f"/cases/{case['id']}").status_code == 200
    with app.app_context(), db.engine.connect() as conn:  # the pool hands back the connection just used
        assert _prepared(conn, "FROM case_events") >= 1


def test_a_copy_on_the_raw_connection_is_rolled_back_with_its_transaction(app):
    from models import Enterprise, Reading
    from web.extensions import db

    with app.app_context():
        ent = db.session.scalar(select(Enterprise.id).order_by(Enterprise.id).limit(1))
        before = db.session.scalar(select(func.count()).select_from(Reading))
        db.session.execute(select(Reading.id).limit(1))  # only reads so far, through SQLAlchemy
        raw = db.session.connection().connection.driver_connection
        with raw.cursor() as cur, cur.copy("COPY readings (enterprise_id, site, site_kind, sensor, quantity, "
                                           "value, at, received_at) FROM STDIN") as copy:
            now = datetime.now(UTC)
            copy.write_row((ent, "站", "station", "s1", "pressure", 1.0, now, now))
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Reading)) == before


def test_a_write_through_the_session_is_rolled_back_and_a_read_lock_is_released(app):
    from models import Enterprise
    from web.extensions import db

    with app.app_context():
        ent = db.session.scalar(select(Enterprise).order_by(Enterprise.id).limit(1))
        name = ent.name
        ent.name = "改了又撤回"
        db.session.flush()
        db.session.rollback()
        assert db.session.scalar(select(Enterprise.name).where(Enterprise.id == ent.id)) == name
        # A transaction that only read, but locked a row, gives the lock back when it ends.
        db.session.execute(select(Enterprise.id).where(Enterprise.id == ent.id).with_for_update())
        db.session.rollback()
        with db.engine.connect() as other:
            other.execute(text("SET lock_timeout = '2s'"))
            assert other.scalar(text("SELECT id FROM enterprises WHERE id = :i FOR UPDATE NOWAIT"),
                                {"i": ent.id}) == ent.id
            other.rollback()
