"""Tables of grounding (SQLAlchemy Core): ingest jobs, document versions, chunks with lineage,
the knowledge graph and cached embeddings. Migration 0005 creates them.

A document version is keyed by its source URI and content hash; re-ingesting an unchanged
document writes nothing, and a changed one adds a version and marks the old one superseded,
so every chunk a run ever cited can still be traced to the job and time that stored it.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

ingest_jobs = Table(
    "ingest_jobs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("source", String(1024), nullable=False),  # the root URI the job read
    Column("status", String(16), nullable=False),  # succeeded | failed
    Column("started_at", Float, nullable=False),
    Column("finished_at", Float, nullable=False),
    Column("acl", Text, nullable=False),  # JSON list of the labels given to the job
    Column("stats", Text, nullable=False),  # JSON counts: added, changed, unchanged, removed...
    Column("error", Text, nullable=True),  # JSON {code, message, details} of a failed job
    Index("ix_ingest_jobs_started_at", "started_at"),
)

documents = Table(
    "grounding_documents",
    metadata,
    Column("uri", String(1024), primary_key=True),
    Column("version", String(64), primary_key=True),  # sha256 of metadata and body
    Column("source", String(1024), nullable=False),  # the root URI of the job's connector
    Column("doc_id", String(256), nullable=False),
    Column("title", String(512), nullable=False),
    Column("media_type", String(64), nullable=False),
    Column("acl", Text, nullable=False),  # JSON list of labels
    Column("size", Integer, nullable=False),  # bytes read
    Column("chunks", Integer, nullable=False),
    Column("job_id", String(64), nullable=False),
    Column("ingested_at", Float, nullable=False),
    Column("superseded_at", Float, nullable=True),  # NULL while this version is current
    Column("superseded_by", String(64), nullable=True),  # the job that replaced or removed it
    Index("ix_grounding_documents_current", "source", "superseded_at"),
    Index("ix_grounding_documents_doc_id", "doc_id"),
)

chunks = Table(
    "grounding_chunks",
    metadata,
    Column("uri", String(1024), primary_key=True),
    Column("version", String(64), primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("evidence_id", String(300), nullable=False),
    Column("doc_id", String(256), nullable=False),
    Column("title", String(512), nullable=False),
    Column("heading", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("acl", Text, nullable=False),
    Column("job_id", String(64), nullable=False),
    Column("ingested_at", Float, nullable=False),
    Index("ix_grounding_chunks_evidence", "evidence_id"),
)

entities = Table(
    "graph_entities",
    metadata,
    Column("id", String(300), primary_key=True),  # kind:key, e.g. order:#W4566809
    Column("kind", String(32), nullable=False),
    Column("label", String(512), nullable=False),
    Column("owner", String(256), nullable=True),  # the principal it belongs to; NULL: public
    Column("attributes", Text, nullable=False),  # JSON
    Column("summary", Text, nullable=True),  # JSON: what evidence shows, when not everything
    Column("source", String(1024), nullable=False),
    Column("version", String(64), nullable=False),  # sha256 of kind, label, owner, attributes
    Column("job_id", String(64), nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("ix_graph_entities_owner", "owner"),
    Index("ix_graph_entities_source", "source"),
)

relations = Table(
    "graph_relations",
    metadata,
    Column("src", String(300), primary_key=True),
    Column("relation", String(64), primary_key=True),
    Column("dst", String(300), primary_key=True),
    Column("source", String(1024), nullable=False),  # what stated it: a record or a document
    Column("job_id", String(64), nullable=False),
    Index("ix_graph_relations_dst", "dst"),
    Index("ix_graph_relations_source", "source"),
)

embeddings = Table(
    "chunk_embeddings",
    metadata,
    Column("embedder", String(256), primary_key=True),
    Column("text_hash", String(64), primary_key=True),  # sha256 of the embedded text
    Column("dims", Integer, nullable=False),
    Column("vector", LargeBinary, nullable=False),  # little-endian float32
)
