"""Rollouts: a candidate release against production, step by step, with the guards' tests.

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rollouts",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("candidate", sa.String(32), nullable=False),
        sa.Column("baseline", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("steps", sa.Text, nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("min_runs", sa.Integer, nullable=False),
        sa.Column("looks", sa.Integer, nullable=False),
        sa.Column("look", sa.Integer, nullable=False),
        sa.Column("alpha", sa.Float, nullable=False),
        sa.Column("guards", sa.Text, nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("started_by", sa.String(256), nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("step_started_at", sa.Float, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("evaluation", sa.Text, nullable=False),
    )
    op.create_index("ix_rollouts_started_at", "rollouts", ["started_at"])


def downgrade() -> None:
    op.drop_index("ix_rollouts_started_at", table_name="rollouts")
    op.drop_table("rollouts")
