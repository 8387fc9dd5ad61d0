"""Runs and their steps.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("agent", sa.String(128), nullable=False),
        sa.Column("principal_id", sa.String(256), nullable=False),
        sa.Column("tenant", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decision_kind", sa.String(16), nullable=True),
        sa.Column("decision_code", sa.String(64), nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("trace_id", sa.String(64), nullable=False),
        sa.Column("step_count", sa.Integer, nullable=False),
        sa.Column("input", sa.Text, nullable=False),
        sa.Column("decision", sa.Text, nullable=True),
        sa.Column("checkpoint", sa.Text, nullable=False),
    )
    op.create_index("ix_runs_created_at", "runs", ["created_at"])
    op.create_index("ix_runs_principal", "runs", ["principal_id"])
    op.create_index("ix_runs_decision_kind", "runs", ["decision_kind"])
    op.create_table(
        "steps",
        sa.Column(
            "run_id",
            sa.String(64),
            sa.ForeignKey("runs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("ended_at", sa.Float, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("steps")
    op.drop_index("ix_runs_decision_kind", "runs")
    op.drop_index("ix_runs_principal", "runs")
    op.drop_index("ix_runs_created_at", "runs")
    op.drop_table("runs")
