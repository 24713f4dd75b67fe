"""calendar years entered: one settings row a year ("calendar_year_entered:2027") in place of one row listing them
("calendar_years_entered": "2027,2028"), so that two confirmations at once each keep theirs

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07 12:30:00
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

OLD, PREFIX = "calendar_years_entered", "calendar_year_entered:"
settings = sa.table("settings", sa.column("key", sa.String), sa.column("value", sa.Text))


def upgrade():
    conn = op.get_bind()
    value = conn.scalar(sa.select(settings.c.value).where(settings.c.key == OLD))
    if value is None:
        return
    years = sorted({int(part) for part in value.split(",") if part.strip().isdigit()})
    now = datetime.now(UTC).isoformat()
    if years:
        op.bulk_insert(settings, [{"key": f"{PREFIX}{year}", "value": now} for year in years])
    conn.execute(settings.delete().where(settings.c.key == OLD))


def downgrade():
    conn = op.get_bind()
    keys = conn.scalars(sa.select(settings.c.key).where(settings.c.key.startswith(PREFIX))).all()
    years = sorted(int(key[len(PREFIX):]) for key in keys if key[len(PREFIX):].isdigit())
    conn.execute(settings.delete().where(settings.c.key.startswith(PREFIX)))
    if years:
        op.bulk_insert(settings, [{"key": OLD, "value": ",".join(map(str, years))}])
