"""control of running cases

Revision ID: 0018
Revises: 0015
Create Date: 2026-12-06 08:45:00

Running cases can be suspended (the instant is kept, so resuming restores the remaining time of
their timers), their tasks delegated (the delegator keeps sight of them), and the diagram shows the
path taken (the task tree itself is pruned after each transition).
"""

import sqlalchemy as sa
from alembic import op

import models.types

revision = "0018"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("suspended_at", models.types.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("path", sa.JSON(), nullable=True))
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("delegated_by_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_tasks_delegated_by_id_users"), "users", ["delegated_by_id"], ["id"])
        batch.create_index(op.f("ix_tasks_delegated_by_id"), ["delegated_by_id"], unique=False)


def downgrade():
    with op.batch_alter_table("tasks") as batch:
        batch.drop_index(op.f("ix_tasks_delegated_by_id"))
        batch.drop_constraint(op.f("fk_tasks_delegated_by_id_users"), type_="foreignkey")
        batch.drop_column("delegated_by_id")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("path")
        batch.drop_column("suspended_at")
