"""issued documents of a repeatable kind: a case may hold several (a hearing postponed twice has two notices of
postponement, each served and numbered), told apart by ``occurrence`` (0 for a kind a case holds once, re-issued
under its number; 1, 2, ... for a repeatable kind); the unique key of a case's document becomes (case, kind,
occurrence)

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-07 13:05:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

OLD, NEW = "uq_issued_documents_case_kind", "uq_issued_documents_case_kind_occurrence"


def upgrade():
    # A table nothing points at: SQLite rebuilds it (batch) to change its unique key, PostgreSQL alters it.
    with op.batch_alter_table("issued_documents") as batch:
        batch.add_column(sa.Column("occurrence", sa.Integer(), nullable=False, server_default="0"))
        batch.drop_constraint(OLD, type_="unique")
        batch.create_unique_constraint(NEW, ["case_id", "kind", "occurrence"])


def downgrade():
    # A case's second document of a kind has no place under the old key, and a served notice is not thrown away.
    if op.get_bind().scalar(sa.text("SELECT count(*) FROM issued_documents WHERE occurrence > 1")):
        raise RuntimeError("Cases hold several documents of one kind (notices of a postponed hearing): the old "
                           "schema keeps one per case and kind, so this database cannot go below revision 0034.")
    with op.batch_alter_table("issued_documents") as batch:
        batch.drop_constraint(NEW, type_="unique")
        batch.create_unique_constraint(OLD, ["case_id", "kind"])
        batch.drop_column("occurrence")
