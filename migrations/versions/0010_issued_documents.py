"""issued documents and their number counters

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 04:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

import models.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "document_counters",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "year", name=op.f("pk_document_counters")),
    )
    op.create_table(
        "issued_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("attachment_id", sa.Integer(), nullable=True),
        sa.Column("issued_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["attachment_id"], ["attachments.id"],
                                name=op.f("fk_issued_documents_attachment_id_attachments")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_issued_documents_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issued_documents")),
        sa.UniqueConstraint("case_id", "kind", name="uq_issued_documents_case_kind"),
        sa.UniqueConstraint("kind", "year", "serial", name="uq_issued_documents_number"),
    )
    with op.batch_alter_table("issued_documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_issued_documents_case_id"), ["case_id"], unique=False)


def downgrade():
    with op.batch_alter_table("issued_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_issued_documents_case_id"))
    op.drop_table("issued_documents")
    op.drop_table("document_counters")
