"""api_key table (hashed bearer keys with scope and origins); avatar.owner_key_id for per-shopper access

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_key",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("origins", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )
    with op.batch_alter_table("avatar") as batch_op:
        batch_op.add_column(sa.Column("owner_key_id", sa.String(length=16), nullable=True))
        batch_op.create_index("ix_avatar_owner_key_id", ["owner_key_id"])
        batch_op.create_index("ix_avatar_created_at", ["created_at"])


def downgrade() -> None:
    with op.batch_alter_table("avatar") as batch_op:
        batch_op.drop_index("ix_avatar_created_at")
        batch_op.drop_index("ix_avatar_owner_key_id")
        batch_op.drop_column("owner_key_id")
    op.drop_table("api_key")
