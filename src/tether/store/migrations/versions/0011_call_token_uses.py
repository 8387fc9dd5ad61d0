"""The one use of each approved call's single-use token (never purged).

Revision ID: 0011
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_token_uses",
        sa.Column("token_id", sa.String(64), primary_key=True),
        sa.Column("approval_id", sa.String(64), nullable=False, unique=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("call_id", sa.String(128), nullable=False),
        sa.Column("tool", sa.String(128), nullable=False),
        sa.Column("argument_hash", sa.String(80), nullable=False),
        sa.Column("used_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("call_token_uses")
