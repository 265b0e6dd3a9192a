"""Handoffs to staff and their transitions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "handoffs",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("chat_id", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("reason", sa.String(64)),
        sa.Column("note", sa.Text()),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True)),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("agent_id", sa.String(64)),
        sa.Column("agent_name", sa.String(128)),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("waited_seconds", sa.Float()),
        sa.Column("handled_seconds", sa.Float()),
        sa.Column("rating", sa.Integer()),
        sa.Column("comment", sa.Text()),
    )
    op.create_index("ix_handoffs_chat_id", "handoffs", ["chat_id"])
    op.create_index("ix_handoffs_queued_at", "handoffs", ["queued_at"])
    op.create_table(
        "handoff_events",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("handoff_id", sa.BigInteger(), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("detail", sa.Text()),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_handoff_events_handoff_id", "handoff_events", ["handoff_id"])


def downgrade() -> None:
    op.drop_table("handoff_events")
    op.drop_table("handoffs")
