"""Console users get a display name: what citizens see on their chat messages.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Users made before have none (NULL): citizens see their login name with a capital.
    op.add_column("users", sa.Column("display_name", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("display_name")
