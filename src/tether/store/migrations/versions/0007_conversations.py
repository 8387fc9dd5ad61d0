"""Conversations held by the server, and their turns.

Revision ID: 0007
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("principal_id", sa.String(256), nullable=False),
        sa.Column("agent", sa.String(128), nullable=False),
        sa.Column("domain", sa.String(128), nullable=False),
        sa.Column("principal_source", sa.String(32), nullable=False),
        sa.Column("asserted_by", sa.String(256), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("turns", sa.Integer, nullable=False),
        sa.Column("busy_run", sa.String(64), nullable=True),
        sa.Column("busy_until", sa.Float, nullable=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("pending", sa.Text, nullable=True),
        sa.Column("size", sa.Integer, nullable=False),
    )
    op.create_index("ix_conversations_principal", "conversations", ["principal_id", "created_at"])
    op.create_index("ix_conversations_updated", "conversations", ["updated_at"])
    op.create_table(
        "conversation_turns",
        sa.Column("conversation_id", sa.String(40), primary_key=True),
        sa.Column("turn", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ix_conversation_turns_run", "conversation_turns", ["run_id"])


def downgrade() -> None:
    op.drop_table("conversation_turns")
    op.drop_table("conversations")
