"""industry information, training and publicity records

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 04:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

import models.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "info_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("doc_number", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("view_count", sa.Integer(), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_info_items_author_id_users")),
        sa.ForeignKeyConstraint(["county_id"], ["regions.id"], name=op.f("fk_info_items_county_id_regions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_info_items")),
    )
    with op.batch_alter_table("info_items", schema=None) as batch_op:
        batch_op.create_index("ix_info_items_public", ["status", "category", "published_at"], unique=False)

    op.create_table(
        "info_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=256), nullable=False),
        sa.Column("content_type", sa.String(length=128), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["info_items.id"], name=op.f("fk_info_attachments_item_id_info_items")),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["users.id"],
                                name=op.f("fk_info_attachments_uploaded_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_info_attachments")),
    )
    with op.batch_alter_table("info_attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_info_attachments_item_id"), ["item_id"], unique=False)

    op.create_table(
        "training_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("topic", sa.String(length=256), nullable=False),
        sa.Column("trainer", sa.String(length=64), nullable=False),
        sa.Column("assessment", sa.String(length=256), nullable=False),
        sa.Column("trainee_count", sa.Integer(), nullable=False),
        sa.Column("qualified_count", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["county_id"], ["regions.id"], name=op.f("fk_training_sessions_county_id_regions")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"],
                                name=op.f("fk_training_sessions_created_by_id_users")),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprises.id"],
                                name=op.f("fk_training_sessions_enterprise_id_enterprises")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_sessions")),
    )
    with op.batch_alter_table("training_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_training_sessions_scope", ["county_id", "enterprise_id", "held_on"], unique=False)

    op.create_table(
        "training_trainees",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("position", sa.String(length=64), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["training_sessions.id"],
                                name=op.f("fk_training_trainees_session_id_training_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_trainees")),
    )
    with op.batch_alter_table("training_trainees", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_training_trainees_session_id"), ["session_id"], unique=False)

    op.create_table(
        "publicity_activities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=False),
        sa.Column("activity", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("audience", sa.String(length=256), nullable=False),
        sa.Column("audience_count", sa.Integer(), nullable=True),
        sa.Column("materials", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["county_id"], ["regions.id"],
                                name=op.f("fk_publicity_activities_county_id_regions")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"],
                                name=op.f("fk_publicity_activities_created_by_id_users")),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprises.id"],
                                name=op.f("fk_publicity_activities_enterprise_id_enterprises")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publicity_activities")),
    )
    with op.batch_alter_table("publicity_activities", schema=None) as batch_op:
        batch_op.create_index("ix_publicity_activities_scope", ["county_id", "enterprise_id", "held_on"],
                              unique=False)


def downgrade():
    with op.batch_alter_table("publicity_activities", schema=None) as batch_op:
        batch_op.drop_index("ix_publicity_activities_scope")
    op.drop_table("publicity_activities")
    with op.batch_alter_table("training_trainees", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_trainees_session_id"))
    op.drop_table("training_trainees")
    with op.batch_alter_table("training_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_training_sessions_scope")
    op.drop_table("training_sessions")
    with op.batch_alter_table("info_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_info_attachments_item_id"))
    op.drop_table("info_attachments")
    with op.batch_alter_table("info_items", schema=None) as batch_op:
        batch_op.drop_index("ix_info_items_public")
    op.drop_table("info_items")
