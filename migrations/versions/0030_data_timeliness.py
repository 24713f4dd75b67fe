"""data timeliness: the reporting periods of periodic data kinds found missing or late

Revision ID: 0030
Revises: 0027
Create Date: 2026-12-06 12:00:00
"""

import sqlalchemy as sa
from alembic import op

import models.types

revision = "0030"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "report_periods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("due_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("warning_id", sa.Integer(), nullable=True),
        sa.Column("detected_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprises.id"],
                                name=op.f("fk_report_periods_enterprise_id_enterprises")),
        sa.ForeignKeyConstraint(["county_id"], ["regions.id"], name=op.f("fk_report_periods_county_id_regions")),
        sa.ForeignKeyConstraint(["warning_id"], ["warnings.id"], name=op.f("fk_report_periods_warning_id_warnings")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_periods")),
        sa.UniqueConstraint("enterprise_id", "kind", "period", name="uq_report_periods_period"),
    )
    op.create_index("ix_report_periods_enterprise", "report_periods", ["enterprise_id", "due_at"], unique=False)


def downgrade():
    op.drop_index("ix_report_periods_enterprise", table_name="report_periods")
    op.drop_table("report_periods")
