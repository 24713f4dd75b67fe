"""supervision measures: daily safety scores and quarterly credit grades

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 10:00:00
"""

import sqlalchemy as sa
from alembic import op

import models.types

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "safety_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("decision_version", sa.Integer(), nullable=False),
        sa.Column("computed_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprises.id"],
                                name=op.f("fk_safety_scores_enterprise_id_enterprises")),
        sa.ForeignKeyConstraint(["county_id"], ["regions.id"], name=op.f("fk_safety_scores_county_id_regions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_scores")),
        sa.UniqueConstraint("enterprise_id", "day", name="uq_safety_scores_enterprise_day"),
    )
    with op.batch_alter_table("safety_scores") as batch:
        batch.create_index(batch.f("ix_safety_scores_enterprise_id"), ["enterprise_id"], unique=False)
        batch.create_index(batch.f("ix_safety_scores_day"), ["day"], unique=False)
    op.create_table(
        "credit_grades",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.String(length=7), nullable=False),
        sa.Column("average_score", sa.Float(), nullable=False),
        sa.Column("grade", sa.String(length=1), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("computed_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprises.id"],
                                name=op.f("fk_credit_grades_enterprise_id_enterprises")),
        sa.ForeignKeyConstraint(["county_id"], ["regions.id"], name=op.f("fk_credit_grades_county_id_regions")),
        sa.ForeignKeyConstraint(["published_by_id"], ["users.id"], name=op.f("fk_credit_grades_published_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_grades")),
        sa.UniqueConstraint("enterprise_id", "quarter", name="uq_credit_grades_enterprise_quarter"),
    )
    with op.batch_alter_table("credit_grades") as batch:
        batch.create_index(batch.f("ix_credit_grades_enterprise_id"), ["enterprise_id"], unique=False)
        batch.create_index(batch.f("ix_credit_grades_quarter"), ["quarter"], unique=False)


def downgrade():
    op.drop_table("credit_grades")
    op.drop_table("safety_scores")
