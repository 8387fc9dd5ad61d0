"""KPI rollups are spread over shards: concurrent runs ending in the same minute add to one of
several rows of that minute instead of all waiting on one row's lock until their commit.

Each table is rebuilt with `shard` in its primary key; existing rows become shard 0. Readers
sum over shards as they already sum over minutes.

Revision ID: 0023
Revises: 0004
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0004"
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


def _key(shard: bool) -> list[sa.Column[Any]]:
    key: list[sa.Column[Any]] = [
        sa.Column("minute", sa.BigInteger, primary_key=True),
        sa.Column("agent", sa.String(128), primary_key=True),
        sa.Column("release", sa.String(64), primary_key=True),
    ]
    return [*key, sa.Column("shard", sa.SmallInteger, primary_key=True)] if shard else key


def _tables(shard: bool) -> dict[str, list[sa.Column[Any]]]:
    shard_col = [sa.Column("shard", sa.SmallInteger, primary_key=True)] if shard else []
    return {
        "kpi_minutes": [
            *_key(shard),
            *(sa.Column(c, sa.BigInteger, nullable=False, server_default="0") for c in COUNTERS),
            *(sa.Column(c, sa.Float, nullable=False, server_default="0") for c in SUMS),
            sa.Column("updated_at", sa.Float, nullable=False),
        ],
        "kpi_latency": [
            *_key(False),
            sa.Column("bucket", sa.Integer, primary_key=True),
            *shard_col,
            sa.Column("count", sa.BigInteger, nullable=False),
        ],
        "kpi_counts": [
            *_key(False),
            sa.Column("metric", sa.String(32), primary_key=True),
            sa.Column("subject", sa.String(128), primary_key=True),
            sa.Column("key", sa.String(64), primary_key=True),
            *shard_col,
            sa.Column("count", sa.BigInteger, nullable=False),
        ],
    }


def _rebuild(shard: bool) -> None:
    for name, columns in _tables(shard).items():
        kept = ", ".join(f'"{c.name}"' for c in columns if c.name != "shard")
        op.create_table(f"{name}_next", *columns)
        if shard:
            op.execute(f"INSERT INTO {name}_next ({kept}, shard) SELECT {kept}, 0 FROM {name}")
        else:  # folding the shards back into one row per key
            sums = ", ".join(
                f'SUM("{c.name}")'
                if not c.primary_key and c.name != "updated_at"
                else (f'MAX("{c.name}")' if c.name == "updated_at" else f'"{c.name}"')
                for c in columns
            )
            group = ", ".join(f'"{c.name}"' for c in columns if c.primary_key)
            op.execute(
                f"INSERT INTO {name}_next ({kept}) SELECT {sums} FROM {name} GROUP BY {group}"
            )
        op.drop_table(name)
        op.rename_table(f"{name}_next", name)


def upgrade() -> None:
    _rebuild(shard=True)


def downgrade() -> None:
    _rebuild(shard=False)
