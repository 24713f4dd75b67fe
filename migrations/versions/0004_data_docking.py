"""data docking

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 23:00:53.581660
"""

import sqlalchemy as sa
from alembic import op

import models.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "data_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        sa.Column("submitted_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_data_batches_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprises.id"], name=op.f("fk_data_batches_enterprise_id_enterprises")
        ),
        sa.ForeignKeyConstraint(["submitted_by_id"], ["users.id"], name=op.f("fk_data_batches_submitted_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_batches")),
    )
    with op.batch_alter_table("data_batches", schema=None) as batch_op:
        batch_op.create_index("ix_data_batches_resend", ["enterprise_id", "kind", "checksum"], unique=False)

    op.create_table(
        "data_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("review_reason", sa.Text(), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], ["data_batches.id"], name=op.f("fk_data_records_batch_id_data_batches")),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprises.id"], name=op.f("fk_data_records_enterprise_id_enterprises")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_records")),
        sa.UniqueConstraint("kind", "enterprise_id", "external_id", "version", name="uq_data_records_version"),
    )
    with op.batch_alter_table("data_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_records_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index("ix_data_records_current", ["kind", "enterprise_id", "status"], unique=False)
        batch_op.create_index("ix_data_records_external", ["kind", "enterprise_id", "external_id"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        # O5: a record's location as PostGIS geography next to its attributes, kept in step with
        # lon/lat by the database itself, with a spatial index ("stations within 2 km").
        op.execute(
            "ALTER TABLE data_records ADD COLUMN geom geography(Point, 4326) GENERATED ALWAYS AS "
            "(CASE WHEN lon IS NOT NULL AND lat IS NOT NULL "
            "THEN ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography END) STORED"
        )
        op.execute("CREATE INDEX ix_data_records_geom ON data_records USING gist (geom)")

    op.create_table(
        "data_lookups",
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"], ["data_records.id"], name=op.f("fk_data_lookups_record_id_data_records")
        ),
        sa.PrimaryKeyConstraint("record_id", "field", name=op.f("pk_data_lookups")),
    )
    with op.batch_alter_table("data_lookups", schema=None) as batch_op:
        batch_op.create_index("ix_data_lookups_digest", ["field", "digest"], unique=False)


def downgrade():
    with op.batch_alter_table("data_lookups", schema=None) as batch_op:
        batch_op.drop_index("ix_data_lookups_digest")

    op.drop_table("data_lookups")
    with op.batch_alter_table("data_records", schema=None) as batch_op:
        batch_op.drop_index("ix_data_records_external")
        batch_op.drop_index("ix_data_records_current")
        batch_op.drop_index(batch_op.f("ix_data_records_batch_id"))

    op.drop_table("data_records")
    with op.batch_alter_table("data_batches", schema=None) as batch_op:
        batch_op.drop_index("ix_data_batches_resend")

    op.drop_table("data_batches")
