"""Idempotency keys record when their current claim was taken, apart from when the key's life
began: a retry that takes over the claim of a process that died keeps the key's life (and so
finds the run the first attempt stored), while the claim's own age decides its lapse.

Existing rows get `claimed_at = created_at`, which is what decided their lapse until now.

Revision ID: 0024
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("request_keys", sa.Column("claimed_at", sa.Float, nullable=True))
    op.execute("UPDATE request_keys SET claimed_at = created_at")
    with op.batch_alter_table("request_keys") as batch:  # SQLite rebuilds the table for this
        batch.alter_column("claimed_at", existing_type=sa.Float, nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("request_keys") as batch:
        batch.drop_column("claimed_at")
