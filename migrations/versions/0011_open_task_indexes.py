"""open task indexes

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 04:45:00

The task queues read open tasks in due order (priority sort, the overdue count) within the caller's
scope; at a million cases (bench: `python -m bench queue`) these partial indexes let the database walk
the open tasks of one county or enterprise in that order and stop after a page, instead of sorting
every open task.
"""

import sqlalchemy as sa
from alembic import op

import models.types  # noqa: F401  (the style of every migration here)

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

OPEN_ONLY = sa.text("status = 'open'")
# role and assignee_id close each key so that the tab counts (mine, group, all, overdue) are answered
# from the index alone (an index-only scan), without visiting the rows of a million-case table.
INDEXES = {
    "ix_tasks_open_due": ["due_at", "id", "role", "assignee_id"],
    "ix_tasks_open_county": ["county_id", "due_at", "id", "role", "assignee_id"],
    "ix_tasks_open_enterprise": ["enterprise_id", "due_at", "id", "role", "assignee_id"],
}


def upgrade():
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        for name, columns in INDEXES.items():
            batch_op.create_index(name, columns, unique=False, sqlite_where=OPEN_ONLY, postgresql_where=OPEN_ONLY)


def downgrade():
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        for name in reversed(INDEXES):
            batch_op.drop_index(name)
