"""The system of record's tables (SQLAlchemy Core). Alembic migrations create them."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("agent", String(128), nullable=False),
    Column("principal_id", String(256), nullable=False),
    Column("tenant", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("decision_kind", String(16), nullable=True),
    Column("decision_code", String(64), nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("trace_id", String(64), nullable=False),
    Column("step_count", Integer, nullable=False),
    Column("input", Text, nullable=False),
    Column("decision", Text, nullable=True),
    # The loop state after the latest step: enough to resume the run without the model.
    Column("checkpoint", Text, nullable=False),
    # Who executes the run and until when (see tether.runtime.leases); none once it ends or
    # waits for a person. A RUNNING run whose lease expired is recovered by any worker.
    Column("lease_owner", String(128), nullable=True),
    Column("lease_expires_at", Float, nullable=True),
    # who asked to cancel the run; its holder ends it (RUN_CANCELLED) before its next turn
    Column("cancel_requested", String(256), nullable=True),
    # the operator key that asked for the run over HTTP (its quota counts from here); none for
    # runs started from Python, the CLI or the demo
    Column("operator", String(256), nullable=True),
    # the release the run executed under (tether.release); NULL for runs recorded before
    Column("release_id", String(32), nullable=True),
    Index("ix_runs_created_at", "created_at"),
    Index("ix_runs_principal", "principal_id"),
    Index("ix_runs_decision_kind", "decision_kind"),
    Index("ix_runs_status_lease", "status", "lease_expires_at"),
    Index("ix_runs_operator_status", "operator", "status"),
    Index("ix_runs_release_id", "release_id"),
)

steps = Table(
    "steps",
    metadata,
    Column("run_id", String(64), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("name", String(128), nullable=False),
    Column("started_at", Float, nullable=False),
    Column("ended_at", Float, nullable=False),
    Column("data", Text, nullable=False),
)
