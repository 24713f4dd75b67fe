"""calendar adjustments

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 08:40:00

Rectification periods are counted in working days on China's official calendar (holidays and
make-up working days, from the chinese-calendar package); the city admin may lay local
adjustments over it: one row per day, a working day or a day off.
"""

import sqlalchemy as sa
from alembic import op

import models.types

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "calendar_adjustments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("working", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"],
                                name=op.f("fk_calendar_adjustments_created_by_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_adjustments")),
        sa.UniqueConstraint("day", name=op.f("uq_calendar_adjustments_day")),
    )


def downgrade():
    op.drop_table("calendar_adjustments")
