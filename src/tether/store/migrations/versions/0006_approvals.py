"""Durable approvals: approval requests of escalated calls and the webhook notice outbox.

Revision ID: 0006
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "approvals",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("step_seq", sa.Integer, nullable=False),
        sa.Column("call_id", sa.String(128), nullable=False),
        sa.Column("tool", sa.String(128), nullable=False),
        sa.Column("arguments", sa.Text, nullable=False),
        sa.Column("argument_hash", sa.String(80), nullable=False),
        sa.Column("principal_id", sa.String(256), nullable=False),
        sa.Column("requested_by", sa.String(256), nullable=False),
        sa.Column("agent", sa.String(128), nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("policies", sa.Text, nullable=False),
        sa.Column("approver_role", sa.String(64), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("risk", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("decided_at", sa.Float, nullable=True),
        sa.Column("decided_by", sa.String(256), nullable=True),
        sa.Column("note", sa.Text, nullable=True),
    )
    op.create_index("ix_approvals_status_created", "approvals", ["status", "created_at"])
    op.create_index("ix_approvals_run_id", "approvals", ["run_id"])
    op.create_table(
        "escalation_notices",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("approval_id", sa.String(40), nullable=True),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.Float, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("delivered_at", sa.Float, nullable=True),
    )
    op.create_index("ix_escalation_notices_due", "escalation_notices", ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_escalation_notices_due", "escalation_notices")
    op.drop_table("escalation_notices")
    op.drop_index("ix_approvals_run_id", "approvals")
    op.drop_index("ix_approvals_status_created", "approvals")
    op.drop_table("approvals")
