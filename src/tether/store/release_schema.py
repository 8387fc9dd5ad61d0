"""Tables of releases (SQLAlchemy Core). Migration 0018 creates them.

A release row never changes once written: its id is derived from its bundle. A label is a
movable name (production, candidate, ...) for one release; every move is an audit event.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, MetaData, String, Table, Text

metadata = MetaData()

releases = Table(
    "releases",
    metadata,
    Column("id", String(32), primary_key=True),  # rel_ + the first 16 hex of `digest`
    Column("digest", String(64), nullable=False),  # sha256 of the bundle's canonical JSON
    Column("created_at", Float, nullable=False),
    Column("created_by", String(256), nullable=False),
    Column("note", Text, nullable=False),
    Column("bundle", Text, nullable=False),  # canonical JSON
    Index("ix_releases_created_at", "created_at"),
)

release_labels = Table(
    "release_labels",
    metadata,
    Column("label", String(64), primary_key=True),
    Column("release_id", String(32), nullable=False),
    Column("moved_at", Float, nullable=False),
    Column("moved_by", String(256), nullable=False),
)
