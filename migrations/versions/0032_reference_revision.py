"""reference revision: one row whose token changes with every write to the calendar's adjustments or the
decision tables, so that each process may keep them and check one row per transition instead of reading them

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-07 00:10:00
"""
import uuid

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        "reference_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_revision")),
    )
    op.bulk_insert(table, [{"id": 1, "token": uuid.uuid4().hex}])


def downgrade():
    op.drop_table("reference_revision")
