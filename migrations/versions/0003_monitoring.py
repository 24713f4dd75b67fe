"""monitoring: readings, threshold rules, warnings

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 22:59:40.313940
"""

import sqlalchemy as sa
from alembic import op

import models.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

OPEN_ONLY = sa.text("status = 'open'")


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "readings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("site_kind", sa.String(length=32), nullable=True),
        sa.Column("sensor", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprises.id"], name=op.f("fk_readings_enterprise_id_enterprises")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_readings")),
    )
    with op.batch_alter_table("readings", schema=None) as batch_op:
        if postgresql:
            # BRIN: readings arrive nearly in time order, so block ranges map to time ranges and the
            # index stays a few pages however large the table grows.
            batch_op.create_index("ix_readings_at", ["at"], unique=False, postgresql_using="brin")
        else:
            batch_op.create_index("ix_readings_at", ["at"], unique=False)
        batch_op.create_index("ix_readings_series", ["enterprise_id", "site", "sensor", "at"], unique=False)

    op.create_table(
        "threshold_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.String(length=32), nullable=False),
        sa.Column("site_kind", sa.String(length=32), nullable=True),
        sa.Column("comparison", sa.String(length=1), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_threshold_rules_updated_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_threshold_rules")),
    )
    op.create_table(
        "warnings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=True),
        sa.Column("sensor", sa.String(length=64), nullable=True),
        sa.Column("quantity", sa.String(length=32), nullable=True),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=512), nullable=False),
        sa.Column("started_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("peak_value", sa.Float(), nullable=True),
        sa.Column("reading_count", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_warnings_case_id_cases")),
        sa.ForeignKeyConstraint(["county_id"], ["regions.id"], name=op.f("fk_warnings_county_id_regions")),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprises.id"], name=op.f("fk_warnings_enterprise_id_enterprises")
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["threshold_rules.id"], name=op.f("fk_warnings_rule_id_threshold_rules")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warnings")),
    )
    with op.batch_alter_table("warnings", schema=None) as batch_op:
        batch_op.create_index("ix_warnings_county_open", ["status", "county_id", "level"], unique=False)
        batch_op.create_index("ix_warnings_enterprise", ["enterprise_id", "status"], unique=False)
        # Partial unique index (SQLite and PostgreSQL both have them): one open warning per key.
        batch_op.create_index("uq_warnings_open_key", ["enterprise_id", "category", "key"], unique=True,
                              sqlite_where=OPEN_ONLY, postgresql_where=OPEN_ONLY)


def downgrade():
    with op.batch_alter_table("warnings", schema=None) as batch_op:
        batch_op.drop_index("uq_warnings_open_key")
        batch_op.drop_index("ix_warnings_enterprise")
        batch_op.drop_index("ix_warnings_county_open")

    op.drop_table("warnings")
    op.drop_table("threshold_rules")
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.drop_index("ix_readings_series")
        batch_op.drop_index("ix_readings_at")

    op.drop_table("readings")
