"""Releases: content-addressed bundles of an agent's configuration, labels that point at them,
and the release each run executed under.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "releases",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("bundle", sa.Text, nullable=False),
    )
    op.create_index("ix_releases_created_at", "releases", ["created_at"])
    op.create_table(
        "release_labels",
        sa.Column("label", sa.String(64), primary_key=True),
        sa.Column("release_id", sa.String(32), nullable=False),
        sa.Column("moved_at", sa.Float, nullable=False),
        sa.Column("moved_by", sa.String(256), nullable=False),
    )
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("release_id", sa.String(32), nullable=True))
    op.create_index("ix_runs_release_id", "runs", ["release_id"])


def downgrade() -> None:
    op.drop_index("ix_runs_release_id", table_name="runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("release_id")
    op.drop_table("release_labels")
    op.drop_table("releases")
