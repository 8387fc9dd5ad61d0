"""Tables of KPI rollups and run feedback (SQLAlchemy Core). Migration 0004 creates them.

Rollups are per minute, agent and release, and hold only additive values (counts, sums and a
fixed log-bucket latency histogram), so concurrent writers and replicas merge by addition and
percentiles survive restarts. Each key is spread over `KPI_SHARDS` rows (migration 0023): a
writer adds to one shard, readers sum them.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
)

metadata = MetaData()

KPI_SHARDS = 16  # rows per key, so that runs ending together do not queue on one row's lock
NO_RELEASE = ""  # the release key of runs recorded before releases exist (a key can't be NULL)

# the additive counters of one minute; each run and each feedback adds to them
KPI_COUNTERS = (
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
KPI_SUMS = ("latency_ms_sum", "csat_sum")

kpi_minutes = Table(
    "kpi_minutes",
    metadata,
    Column("minute", BigInteger, primary_key=True),  # epoch seconds at the minute's start
    Column("agent", String(128), primary_key=True),
    Column("release", String(64), primary_key=True),
    Column("shard", SmallInteger, primary_key=True),
    *(Column(name, BigInteger, nullable=False, server_default="0") for name in KPI_COUNTERS),
    *(Column(name, Float, nullable=False, server_default="0") for name in KPI_SUMS),
    Column("updated_at", Float, nullable=False),
)

kpi_latency = Table(
    "kpi_latency",
    metadata,
    Column("minute", BigInteger, primary_key=True),
    Column("agent", String(128), primary_key=True),
    Column("release", String(64), primary_key=True),
    Column("bucket", Integer, primary_key=True),  # see tether.observe.kpi.latency_bucket
    Column("shard", SmallInteger, primary_key=True),
    Column("count", BigInteger, nullable=False),
)

# counts by a subject and a key: tool errors by tool and code, policy hits by policy and effect
kpi_counts = Table(
    "kpi_counts",
    metadata,
    Column("minute", BigInteger, primary_key=True),
    Column("agent", String(128), primary_key=True),
    Column("release", String(64), primary_key=True),
    Column("metric", String(32), primary_key=True),
    Column("subject", String(128), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("shard", SmallInteger, primary_key=True),
    Column("count", BigInteger, nullable=False),
)

run_feedback = Table(
    "run_feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False),
    Column("resolved", Boolean, nullable=False),
    Column("csat", Integer, nullable=True),
    Column("note", Text, nullable=True),
    Column("given_by", String(256), nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_run_feedback_run_id", "run_id"),
)
