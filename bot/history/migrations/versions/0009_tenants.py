"""Tenants: every per-municipality row names its tenant, every console user the tenants they serve.

Rows made before are the configured municipality's (`BALIE_MUNICIPALITY`, passed in by
`History.open`); users made before serve the whole collaboration (`*`).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import context, op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES = ("messages", "handoffs", "cases", "subscriptions", "announcements", "polls", "votes",
          "answer_feedback", "broadcasts", "audit_log")


def upgrade() -> None:
    # A required column with a default: the default fills the rows there are in one ALTER (no
    # copy of the table, as SQLite would need to make a column required after a fill), and it
    # stays, so a row an older Balie writes during a rolling upgrade gets it too.
    tenant = str(context.config.attributes.get("tenant", ""))
    for table in TABLES:
        if not tenant and op.get_bind().execute(
                sa.text(f"SELECT 1 FROM {table} LIMIT 1")).first():
            raise RuntimeError(f"{table} has rows and no tenant was given to assign them to")
        op.add_column(table, sa.Column("tenant", sa.String(64), nullable=False,
                                       server_default=tenant))
        op.create_index(f"ix_{table}_tenant", table, ["tenant"])
    op.add_column("users", sa.Column("tenants", sa.Text(), nullable=False, server_default="*"))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("tenants")
    for table in TABLES:
        op.drop_index(f"ix_{table}_tenant", table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("tenant")
