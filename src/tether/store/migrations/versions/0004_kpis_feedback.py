"""KPI rollups per minute, agent and release; feedback on runs.

Revision ID: 0004
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None

COUNTERS = (
    "runs",
    "answers",
    "actions",
    "escalations",
    "refusals",
    "answers_checked",
    "answers_ungrounded",
    "claims",
    "claims_unsupported",
    "tool_calls",
    "tool_errors",
    "feedback",
    "resolved",
    "csat_count",
)
SUMS = ("latency_ms_sum", "csat_sum")


def _key() -> list[sa.Column[object]]:
    return [
        sa.Column("minute", sa.BigInteger, primary_key=True),
        sa.Column("agent", sa.String(128), primary_key=True),
        sa.Column("release", sa.String(64), primary_key=True),
    ]


def upgrade() -> None:
    op.create_table(
        "kpi_minutes",
        *_key(),
        *(sa.Column(n, sa.BigInteger, nullable=False, server_default="0") for n in COUNTERS),
        *(sa.Column(n, sa.Float, nullable=False, server_default="0") for n in SUMS),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "kpi_latency",
        *_key(),
        sa.Column("bucket", sa.Integer, primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "kpi_counts",
        *_key(),
        sa.Column("metric", sa.String(32), primary_key=True),
        sa.Column("subject", sa.String(128), primary_key=True),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "run_feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "run_id",
            sa.String(64),
            sa.ForeignKey("runs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("resolved", sa.Boolean, nullable=False),
        sa.Column("csat", sa.Integer, nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("given_by", sa.String(256), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ix_run_feedback_run_id", "run_feedback", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_run_feedback_run_id", "run_feedback")
    op.drop_table("run_feedback")
    op.drop_table("kpi_counts")
    op.drop_table("kpi_latency")
    op.drop_table("kpi_minutes")
