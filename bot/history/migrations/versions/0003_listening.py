"""Announcements, subscriptions, broadcasts, polls, votes and answer feedback.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "announcements",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("topic", sa.String(32)),
        sa.Column("text_nl", sa.Text(), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=False),
        sa.Column("valid_from", WHEN, nullable=False),
        sa.Column("valid_until", WHEN, nullable=False),
        sa.Column("inline", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
    )
    op.create_table(
        "subscriptions",
        sa.Column("chat_id", sa.String(80), primary_key=True),
        sa.Column("topic", sa.String(32), primary_key=True),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
    )
    op.create_index("ix_subscriptions_topic", "subscriptions", ["topic"])
    op.create_table(
        "broadcasts",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("announcement_id", sa.BigInteger()),
        sa.Column("poll_id", sa.BigInteger()),
        sa.Column("topic", sa.String(32)),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("finished_at", WHEN),
    )
    op.create_table(
        "deliveries",
        sa.Column("broadcast_id", sa.BigInteger(), primary_key=True),
        sa.Column("chat_id", sa.String(80), primary_key=True),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", WHEN),
    )
    op.create_index("ix_deliveries_status", "deliveries", ["broadcast_id", "status"])
    op.create_table(
        "polls",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("question_nl", sa.Text(), nullable=False),
        sa.Column("question_en", sa.Text(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("free_text", sa.Boolean(), nullable=False),
        sa.Column("topic", sa.String(32)),
        sa.Column("after_intent", sa.String(64)),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
    )
    op.create_table(
        "votes",
        sa.Column("poll_id", sa.BigInteger(), primary_key=True),
        sa.Column("chat_id", sa.String(80), primary_key=True),
        sa.Column("choice", sa.Integer(), nullable=False),
        sa.Column("intent", sa.String(64)),
        sa.Column("comment", sa.Text()),
        sa.Column("created_at", WHEN, nullable=False),
    )
    op.create_table(
        "answer_feedback",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("chat_id", sa.String(80), nullable=False),
        sa.Column("intent", sa.String(64), nullable=False),
        sa.Column("useful", sa.Boolean(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
    )
    op.create_index("ix_answer_feedback_intent", "answer_feedback", ["intent"])


def downgrade() -> None:
    for table in ("answer_feedback", "votes", "polls", "deliveries", "broadcasts",
                  "subscriptions", "announcements"):
        op.drop_table(table)
