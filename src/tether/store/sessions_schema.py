"""Tables of the dashboard's operator sessions (SQLAlchemy Core). Migration 0009 creates them.

A session row holds the SHA-256 of the session id, never the id itself: whoever reads the
database cannot take over a session."""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, MetaData, String, Table

metadata = MetaData()

operator_sessions = Table(
    "operator_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),  # SHA-256 hex of the cookie's session id
    Column("key_id", String(32), nullable=False),  # the operator API key that logged in
    Column("created_at", Float, nullable=False),
    Column("last_seen_at", Float, nullable=False),
    Index("ix_operator_sessions_key_id", "key_id"),
    Index("ix_operator_sessions_last_seen", "last_seen_at"),
)

dashboard_secrets = Table(
    "dashboard_secrets",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("secret", String(128), nullable=False),  # random, base64url
    Column("created_at", Float, nullable=False),
)
