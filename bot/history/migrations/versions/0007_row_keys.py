"""Messages get a unique row key, so a queued batch written twice adds no duplicates.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows logged before have none (NULL): a unique index allows any number of those.
    op.add_column("messages", sa.Column("row_key", sa.String(24)))
    op.create_index("ix_messages_row_key", "messages", ["row_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_messages_row_key", "messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("row_key")
