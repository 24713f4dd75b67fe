"""warning case level

Revision ID: 0020
Revises: 0018
Create Date: 2026-12-06 09:00:00

Every warning level now opens a case (the response ladder: level 1 acknowledged and escalated,
level 2 disposed of, level 3 acknowledged). A warning whose episode grows worse opens a case of the
new level, so the warning keeps the level of the case it has. Cases opened before were level 1.
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("warnings") as batch:
        batch.add_column(sa.Column("case_level", sa.Integer(), nullable=True))
    op.execute("UPDATE warnings SET case_level = 1 WHERE case_id IS NOT NULL")


def downgrade():
    with op.batch_alter_table("warnings") as batch:
        batch.drop_column("case_level")
