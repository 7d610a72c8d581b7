"""order_line (item_id, size, size_num) index for offered-size lookups

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_order_line_item_size", "order_line", ["item_id", "size", "size_num"])


def downgrade() -> None:
    op.drop_index("ix_order_line_item_size", table_name="order_line")
