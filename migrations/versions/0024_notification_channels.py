"""notification channels: group robots, SMS, the delivery outbox, users' choices

Revision ID: 0024
Revises: 0020
Create Date: 2026-12-06 09:00:00

Notifications reached only the site and mail. Deliveries to WeCom and DingTalk group robots and by
SMS are outbox rows written with the notification, sent and retried by a periodic job.
"""

import sqlalchemy as sa
from alembic import op

import models.types

revision = "0024"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "notification_robots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=True),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["region_id"], ["regions.id"], name=op.f("fk_notification_robots_region_id_regions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_robots")),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("robot_id", sa.Integer(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.String(length=512), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=512), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_deliveries_user_id_users"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["robot_id"], ["notification_robots.id"], name=op.f("fk_deliveries_robot_id_notification_robots"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_deliveries_case_id_cases")),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name=op.f("fk_deliveries_task_id_tasks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
    )
    op.create_index("ix_deliveries_due", "deliveries", ["status", "next_attempt_at"])
    op.add_column("users", sa.Column("mobile", sa.Text(), nullable=True))
    op.add_column("users", sa.Column("notify_channels", sa.JSON(), nullable=True))
    op.add_column("notifications", sa.Column("mail", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade():
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("mail")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("notify_channels")
        batch.drop_column("mobile")
    op.drop_index("ix_deliveries_due", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_table("notification_robots")
