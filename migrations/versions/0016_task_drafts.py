"""task drafts

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 08:40:00

An inspector's half-filled checklist is kept on the server as a draft (one per task and user), so it
survives a lost connection on a phone; it is read back into the form when the task is opened again.
"""

import sqlalchemy as sa
from alembic import op

import models.types

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "task_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("saved_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name=op.f("fk_task_drafts_task_id_tasks"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_task_drafts_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_drafts")),
        sa.UniqueConstraint("task_id", "user_id", name="uq_task_drafts_task_user"),
    )


def downgrade():
    op.drop_table("task_drafts")
