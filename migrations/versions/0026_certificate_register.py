"""certificate register: change history, revocation, the authority's expiry notices

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06 10:00:00
"""

import sqlalchemy as sa
from alembic import op

import models.types

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("certificates", sa.Column("notified_days", sa.Integer(), nullable=True))
    op.create_table(
        "certificate_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("certificate_id", sa.Integer(), nullable=False),
        sa.Column("at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(length=2000), nullable=False),
        sa.ForeignKeyConstraint(["certificate_id"], ["certificates.id"],
                                name=op.f("fk_certificate_changes_certificate_id_certificates"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_certificate_changes_actor_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_changes")),
    )
    with op.batch_alter_table("certificate_changes") as batch:
        batch.create_index(batch.f("ix_certificate_changes_certificate_id"), ["certificate_id"], unique=False)


def downgrade():
    with op.batch_alter_table("certificate_changes") as batch:
        batch.drop_index(batch.f("ix_certificate_changes_certificate_id"))
    op.drop_table("certificate_changes")
    with op.batch_alter_table("certificates") as batch:
        batch.drop_column("notified_days")
