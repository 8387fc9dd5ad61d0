"""Held conversations: an index of the conversations a turn holds (by its run's id), so a
recovery sweep finds a turn whose run ended but was never folded in without reading them all.

Revision ID: 0019
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0007"
branch_labels = None
depends_on = None

HELD = sa.text("busy_run IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_conversations_busy",
        "conversations",
        ["busy_run"],
        sqlite_where=HELD,
        postgresql_where=HELD,
    )


def downgrade() -> None:
    op.drop_index("ix_conversations_busy", table_name="conversations")
