"""documents rendered after the commit

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 08:00:00

Rendering a PDF took most of the time of the transition that issued it (bench: `python -m bench
engine`), so a document is now numbered in the transition and rendered after the commit, by a job,
from the fields fixed in the transition. ``rendered_at`` is empty while the PDF is due; the partial
index is what the sweeper reads.
"""

import sqlalchemy as sa
from alembic import op

import models.types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

PENDING = sa.text("rendered_at IS NULL")


def upgrade():
    op.add_column("issued_documents", sa.Column("fields", sa.JSON(), nullable=True))
    op.add_column("issued_documents", sa.Column("rendered_at", models.types.UTCDateTime(), nullable=True))
    # Documents of the previous release were rendered when they were issued.
    op.execute("UPDATE issued_documents SET rendered_at = issued_at WHERE attachment_id IS NOT NULL")
    op.create_index("ix_issued_documents_pending", "issued_documents", ["id"], unique=False,
                    sqlite_where=PENDING, postgresql_where=PENDING)


def downgrade():
    op.drop_index("ix_issued_documents_pending", table_name="issued_documents")
    with op.batch_alter_table("issued_documents", schema=None) as batch_op:
        batch_op.drop_column("rendered_at")
        batch_op.drop_column("fields")
