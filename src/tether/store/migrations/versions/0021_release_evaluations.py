"""Release evaluations: the result of running a release's evaluation again, when drift fires
or a new knowledge or policy version is seen.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "release_evaluations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("release_id", sa.String(32), nullable=False),
        sa.Column("suite", sa.String(32), nullable=False),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("triggers", sa.Text, nullable=False),
        sa.Column("knowledge", sa.String(64), nullable=False),
        sa.Column("policies", sa.String(64), nullable=False),
        sa.Column("results", sa.Text, nullable=False),
    )
    op.create_index(
        "ix_release_evaluations_release_at", "release_evaluations", ["release_id", "at"]
    )


def downgrade() -> None:
    op.drop_index("ix_release_evaluations_release_at", table_name="release_evaluations")
    op.drop_table("release_evaluations")
