"""Tables of releases (SQLAlchemy Core). Migration 0018 creates them, 0021 their evaluations,
0022 their staged rollouts.

A release row never changes once written: its id is derived from its bundle. A label is a
movable name (production, candidate, ...) for one release; every move is an audit event.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, Index, Integer, MetaData, String, Table, Text

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

# a release's evaluation, run again when drift fires or new knowledge or policies are seen
release_evaluations = Table(
    "release_evaluations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("release_id", String(32), nullable=False),
    Column("suite", String(32), nullable=False),  # what ran: "scenarios" (the domain's)
    Column("passed", Boolean, nullable=False),
    Column("at", Float, nullable=False),
    Column("triggers", Text, nullable=False),  # JSON list: why it ran
    Column("knowledge", String(64), nullable=False),  # digest of the release's knowledge part
    Column("policies", String(64), nullable=False),  # digest of its policy set
    Column("results", Text, nullable=False),  # JSON: counts and what failed
    Index("ix_release_evaluations_release_at", "release_id", "at"),
)

# a staged rollout of a candidate release against the one labelled production
rollouts = Table(
    "rollouts",
    metadata,
    Column("id", String(32), primary_key=True),  # ro_ + 16 hex
    Column("candidate", String(32), nullable=False),
    Column("baseline", String(32), nullable=False),
    Column("state", String(16), nullable=False),  # running | promoted | rolled_back
    Column("steps", Text, nullable=False),  # JSON list of traffic percentages, ending in 100
    Column("step", Integer, nullable=False),  # 1-based index into steps
    Column("min_runs", Integer, nullable=False),  # concluded conversations per arm and look
    Column("looks", Integer, nullable=False),  # at most this many looks per step
    Column("look", Integer, nullable=False),  # looks taken in the current step
    Column("alpha", Float, nullable=False),
    Column("guards", Text, nullable=False),  # JSON list of guard expressions
    Column("started_at", Float, nullable=False),
    Column("started_by", String(256), nullable=False),
    Column("updated_at", Float, nullable=False),
    # when the current step began: its looks count the conversations pinned since
    Column("step_started_at", Float, nullable=False),
    Column("reason", Text, nullable=False),
    Column("evaluation", Text, nullable=False),  # JSON: both arms' KPIs and the guards' tests
    Index("ix_rollouts_started_at", "started_at"),
)
