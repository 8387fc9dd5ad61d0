"""Tables of conversations (SQLAlchemy Core): the thread the server holds for one principal
and one agent, its turns, each a run, and what it keeps from turn to turn. Migration 0007
creates the first two, 0012 the entries, 0019 the index of held conversations, 0020 the
release a conversation started under."""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table, Text, text

metadata = MetaData()

conversations = Table(
    "conversations",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("principal_id", String(256), nullable=False),
    Column("agent", String(128), nullable=False),
    Column("domain", String(128), nullable=False),
    # how the principal was established: an end-user token, or an operator acting as it
    Column("principal_source", String(32), nullable=False),
    Column("asserted_by", String(256), nullable=False),
    Column("status", String(16), nullable=False),  # open | closed
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("turns", Integer, nullable=False),
    # the turn that holds the conversation (one at a time) and until when its claim lasts
    Column("busy_run", String(64), nullable=True),
    Column("busy_until", Float, nullable=True),
    # JSON: counters and the run waiting for a person; messages and evidence are entries
    Column("state", Text, nullable=False),
    Column("pending", Text, nullable=True),  # JSON: the pending action, if any
    Column("size", Integer, nullable=False),  # bytes of state and entries, for the size limit
    # the release in force when it started (see tether.release); none for older conversations
    Column("release_id", String(32), nullable=True),
    Index("ix_conversations_principal", "principal_id", "created_at"),
    Index("ix_conversations_updated", "updated_at"),
    # the conversations a turn holds (few of all): where a sweep looks for turns left unfolded
    Index(
        "ix_conversations_busy",
        "busy_run",
        sqlite_where=text("busy_run IS NOT NULL"),
        postgresql_where=text("busy_run IS NOT NULL"),
    ),
)

conversation_turns = Table(
    "conversation_turns",
    metadata,
    Column("conversation_id", String(40), primary_key=True),
    Column("turn", Integer, primary_key=True),
    Column("run_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # text | confirm | decline
    Column("created_at", Float, nullable=False),
    Index("ix_conversation_turns_run", "run_id"),
)

# what a conversation keeps: per turn, a row of the messages it added (kind "m", `seq` the index
# of the first) and one of the evidence it added (kind "e", JSON lists), appended instead of
# rewriting everything the conversation holds (see tether.conversations.entries)
conversation_entries = Table(
    "conversation_entries",
    metadata,
    Column("conversation_id", String(40), primary_key=True),
    Column("kind", String(1), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("body", Text, nullable=False),
)
