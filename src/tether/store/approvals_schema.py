"""Tables of durable approvals (SQLAlchemy Core): approval requests of escalated calls, and the
outbox of notices sent to escalation queues' webhooks. Migration 0006 creates them."""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

approvals = Table(
    "approvals",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("run_id", String(64), nullable=False),
    Column("step_seq", Integer, nullable=False),  # the step that suspended the run
    Column("call_id", String(128), nullable=False),
    Column("tool", String(128), nullable=False),
    Column("arguments", Text, nullable=False),  # canonical JSON of the exact arguments
    Column("argument_hash", String(80), nullable=False),
    Column("principal_id", String(256), nullable=False),
    Column("requested_by", String(256), nullable=False),  # may not decide (separation of duties)
    Column("agent", String(128), nullable=False),
    Column("reasons", Text, nullable=False),  # JSON list of strings
    Column("policies", Text, nullable=False),  # JSON list of policy ids
    Column("approver_role", String(64), nullable=False),
    Column("queue", String(64), nullable=False),
    Column("risk", String(16), nullable=False),
    # pending → approved | rejected | expired, each change a conditional UPDATE from pending
    Column("status", String(16), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("decided_at", Float, nullable=True),
    Column("decided_by", String(256), nullable=True),
    Column("note", Text, nullable=True),
    Index("ix_approvals_status_created", "status", "created_at"),
    Index("ix_approvals_run_id", "run_id"),
)

escalation_notices = Table(
    "escalation_notices",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("event", String(64), nullable=False),  # approval.requested | approval.decided | ...
    Column("queue", String(64), nullable=False),
    Column("url", Text, nullable=False),
    Column("run_id", String(64), nullable=False),
    Column("approval_id", String(40), nullable=True),
    Column("payload", Text, nullable=False),  # the exact JSON body every attempt sends
    Column("state", String(16), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False),
    # when the next attempt is due; while an attempt runs, the end of its lease
    Column("next_attempt_at", Float, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("delivered_at", Float, nullable=True),
    Index("ix_escalation_notices_due", "state", "next_attempt_at"),
)
