"""data record files: attachments of a reported record's version, and the files a version keeps

Revision ID: 0031
Revises: 0027
Create Date: 2026-12-06 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMNs: a batch would copy and drop "attachments", which documents reference.
    if op.get_bind().dialect.name == "sqlite":  # SQLite adds a column's reference only inline
        op.execute("ALTER TABLE attachments ADD COLUMN data_record_id INTEGER REFERENCES data_records (id)")
    else:
        op.add_column("attachments", sa.Column("data_record_id", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f("fk_attachments_data_record_id_data_records"), "attachments", "data_records",
                              ["data_record_id"], ["id"])
    op.create_index(op.f("ix_attachments_data_record_id"), "attachments", ["data_record_id"], unique=False)
    op.add_column("attachments", sa.Column("file_kind", sa.String(length=32), nullable=True))
    op.add_column("data_records", sa.Column("kept_files", sa.JSON(), nullable=True))


def downgrade():
    op.drop_column("data_records", "kept_files")
    op.drop_column("attachments", "file_kind")
    op.drop_index(op.f("ix_attachments_data_record_id"), table_name="attachments")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("fk_attachments_data_record_id_data_records"), "attachments", type_="foreignkey")
    op.drop_column("attachments", "data_record_id")
