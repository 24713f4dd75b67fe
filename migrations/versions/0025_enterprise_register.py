"""enterprise register: active flag, licences, change history

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 09:30:00

Enterprises existed only in the demo seed. The register lets the city admin (and a county supervisor
for the county) create, edit and deactivate them, with the history of every change.
"""

import sqlalchemy as sa
from alembic import op

import models.types

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("enterprises", sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.add_column("enterprises", sa.Column("licences", sa.JSON(), nullable=True))
    op.add_column("enterprises", sa.Column("updated_at", models.types.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        "enterprise_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprises.id"],
                                name=op.f("fk_enterprise_changes_enterprise_id_enterprises"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_enterprise_changes_actor_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enterprise_changes")),
    )
    with op.batch_alter_table("enterprise_changes") as batch:
        batch.create_index(batch.f("ix_enterprise_changes_enterprise_id"), ["enterprise_id"], unique=False)


def downgrade():
    with op.batch_alter_table("enterprise_changes") as batch:
        batch.drop_index(batch.f("ix_enterprise_changes_enterprise_id"))
    op.drop_table("enterprise_changes")
    with op.batch_alter_table("enterprises") as batch:
        batch.drop_column("updated_at")
        batch.drop_column("licences")
        batch.drop_column("active")
