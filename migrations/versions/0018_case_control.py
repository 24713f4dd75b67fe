"""control of running cases

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 08:45:00

Running cases can be suspended (the instant is kept, so resuming restores the remaining time of
their timers), their tasks delegated (the delegator keeps sight of them), and the diagram shows the
path taken (the task tree itself is pruned after each transition).
"""

import sqlalchemy as sa
from alembic import op

import models.types

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMNs: a batch would copy and drop "cases" and "tasks", which rows of other tables
    # reference (SQLite refuses the DROP with foreign keys on).
    op.add_column("cases", sa.Column("suspended_at", models.types.UTCDateTime(timezone=True), nullable=True))
    op.add_column("cases", sa.Column("path", sa.JSON(), nullable=True))
    if op.get_bind().dialect.name == "sqlite":  # SQLite adds a column's reference only inline
        op.execute("ALTER TABLE tasks ADD COLUMN delegated_by_id INTEGER REFERENCES users (id)")
    else:
        op.add_column("tasks", sa.Column("delegated_by_id", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f("fk_tasks_delegated_by_id_users"), "tasks", "users", ["delegated_by_id"], ["id"])
    op.create_index(op.f("ix_tasks_delegated_by_id"), "tasks", ["delegated_by_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_tasks_delegated_by_id"), table_name="tasks")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("fk_tasks_delegated_by_id_users"), "tasks", type_="foreignkey")
    op.drop_column("tasks", "delegated_by_id")
    op.drop_column("cases", "path")
    op.drop_column("cases", "suspended_at")
