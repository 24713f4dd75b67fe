"""per-operator rights; API keys with scopes, required expiry and last-used address

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 04:30:00.000000
"""
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

import models.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# The scopes each role's default rights allowed when scopes were introduced: tokens made before then
# get these, so they keep working exactly as they did (written out, not imported, so this migration
# means the same thing whatever the catalogue becomes later).
ROLE_SCOPES = {
    "city_admin": "read notifications:write cases:write tasks:write readings:write models:write thresholds:write",
    "county_supervisor": "read notifications:write cases:write tasks:write readings:write",
    "inspector": "read notifications:write cases:write tasks:write readings:write",
    "enterprise_admin": "read notifications:write cases:write tasks:write data:submit readings:write",
    "enterprise_staff": "read notifications:write cases:write tasks:write data:submit readings:write",
}
MAX_DAYS = 365


def upgrade():
    op.create_table(
        "user_rights",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("right", sa.String(length=48), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.Column("changed_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_rights_user_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["changed_by_id"], ["users.id"], name=op.f("fk_user_rights_changed_by_id_users")),
        sa.PrimaryKeyConstraint("user_id", "right", name=op.f("pk_user_rights")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_used_address", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("scopes", sa.String(length=256), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("revoked_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f("fk_api_tokens_revoked_by_id_users"), "users", ["revoked_by_id"], ["id"])

    tokens = sa.table("api_tokens", sa.column("user_id", sa.Integer), sa.column("scopes", sa.String),
                      sa.column("expires_at", models.types.UTCDateTime(timezone=True)))
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("role", sa.String))
    for role, scopes in ROLE_SCOPES.items():
        op.execute(tokens.update().where(tokens.c.user_id.in_(sa.select(users.c.id).where(users.c.role == role)))
                   .values(scopes=scopes))
    # Every key expires now; one made without an expiry keeps working for the longest a new key may live.
    op.execute(tokens.update().where(tokens.c.expires_at.is_(None))
               .values(expires_at=datetime.now(UTC) + timedelta(days=MAX_DAYS)))


def downgrade():
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_api_tokens_revoked_by_id_users"), type_="foreignkey")
        batch_op.drop_column("revoked_by_id")
        batch_op.drop_column("scopes")
        batch_op.drop_column("last_used_address")
    op.drop_table("user_rights")
