"""cylinder notices: the inspection-due notice sent once per cylinder and due date

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06 12:00:00
"""

import sqlalchemy as sa
from alembic import op

import models.types

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "cylinder_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("notified_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprises.id"],
                                name=op.f("fk_cylinder_notices_enterprise_id_enterprises")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cylinder_notices")),
        sa.UniqueConstraint("enterprise_id", "code", "due_on", name="uq_cylinder_notices_due"),
    )


def downgrade():
    op.drop_table("cylinder_notices")
