"""linked cases, candidates, decisions, notifications, registry

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 22:22:08.223959
"""

import sqlalchemy as sa
from alembic import op

import models.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "checklist_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklist_templates")),
        sa.UniqueConstraint("kind", "version", name="uq_checklist_templates_kind_version"),
    )
    op.create_table(
        "decision_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("dmn_xml", sa.Text(), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_decision_models_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_models")),
        sa.UniqueConstraint("key", "checksum", name="uq_decision_models_key_checksum"),
        sa.UniqueConstraint("key", "version", name="uq_decision_models_key_version"),
    )
    with op.batch_alter_table("decision_models", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decision_models_key"), ["key"], unique=False)

    op.create_table(
        "certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_certificates_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprises.id"], name=op.f("fk_certificates_enterprise_id_enterprises")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificates")),
        sa.UniqueConstraint("kind", "number", name="uq_certificates_kind_number"),
    )
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_certificates_enterprise_id"), ["enterprise_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_certificates_expires_on"), ["expires_on"], unique=False)

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.String(length=512), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("emailed_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_notifications_case_id_cases")),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name=op.f("fk_notifications_task_id_tasks")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_notifications_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index("ix_notifications_mail", ["emailed_at"], unique=False)
        batch_op.create_index("ix_notifications_user", ["user_id", "read_at"], unique=False)

    op.create_table(
        "task_candidates",
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name=op.f("fk_task_candidates_task_id_tasks")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_task_candidates_user_id_users")),
        sa.PrimaryKeyConstraint("task_id", "user_id", name=op.f("pk_task_candidates")),
    )
    with op.batch_alter_table("task_candidates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_task_candidates_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_cases_parent_id"), ["parent_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_cases_parent_id_cases"), "cases", ["parent_id"], ["id"])

    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("follow_up_at", models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("overdue_notified_at", models.types.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_column("overdue_notified_at")
        batch_op.drop_column("follow_up_at")

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_cases_parent_id_cases"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_cases_parent_id"))
        batch_op.drop_column("parent_id")

    with op.batch_alter_table("task_candidates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_candidates_user_id"))

    op.drop_table("task_candidates")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_user")
        batch_op.drop_index("ix_notifications_mail")

    op.drop_table("notifications")
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificates_expires_on"))
        batch_op.drop_index(batch_op.f("ix_certificates_enterprise_id"))

    op.drop_table("certificates")
    with op.batch_alter_table("decision_models", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decision_models_key"))

    op.drop_table("decision_models")
    op.drop_table("checklist_templates")
