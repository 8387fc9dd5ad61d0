"""Run operators: the operator key that asked for a run over HTTP, so that key's runs in flight
are counted from the store (its quota holds across replicas) on an index of their own.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("operator", sa.String(256), nullable=True))
    op.create_index("ix_runs_operator_status", "runs", ["operator", "status"])


def downgrade() -> None:
    op.drop_index("ix_runs_operator_status", table_name="runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("operator")
