"""Dashboard sessions of operators (only a hash of each session id is kept), and the secret
that signs the login form's anti-forgery token.

Revision ID: 0009
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operator_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("last_seen_at", sa.Float, nullable=False),
    )
    op.create_index("ix_operator_sessions_key_id", "operator_sessions", ["key_id"])
    op.create_index("ix_operator_sessions_last_seen", "operator_sessions", ["last_seen_at"])
    op.create_table(
        "dashboard_secrets",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dashboard_secrets")
    op.drop_table("operator_sessions")
