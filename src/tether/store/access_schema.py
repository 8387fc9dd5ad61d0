"""Tables of the access layer (SQLAlchemy Core): signing keys, revoked tokens, operator API
keys, and the hash-chained audit log. Migration 0003 creates them."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

GENESIS_HASH = "0" * 64  # the `prev_hash` of the first audit event
HEAD_ID = 1  # the one row of `audit_head`

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("algorithm", String(16), nullable=False),
    Column("public_key", String(128), nullable=False),  # raw key, base64url
    Column("private_key", Text, nullable=True),  # NULL: private keys live outside (0008)
    Column("encrypted", Boolean, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("retired_at", Float, nullable=True),
)

revoked_tokens = Table(
    "revoked_tokens",
    metadata,
    Column("jti", String(64), primary_key=True),
    Column("revoked_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("reason", String(32), nullable=False),  # "revoked" | "used" (single-use tokens)
    Index("ix_revoked_tokens_expires_at", "expires_at"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("role", String(16), nullable=False),
    Column("secret_hash", String(64), nullable=False),  # SHA-256 hex of the secret part
    Column("created_at", Float, nullable=False),
    Column("created_by", String(256), nullable=False),
    Column("revoked_at", Float, nullable=True),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("ts", BigInteger, nullable=False),  # microseconds since the epoch
    Column("kind", String(64), nullable=False),
    Column("actor", String(256), nullable=False),
    Column("run_id", String(64), nullable=False),  # "" when the event belongs to no run
    Column("data", Text, nullable=False),  # canonical JSON
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_events_run_id", "run_id"),
)

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("updated_at", Float, nullable=False),
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("kid", String(64), nullable=False),
    Column("signature", String(128), nullable=False),  # base64url
)
