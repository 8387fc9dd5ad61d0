"""Grounding: ingest jobs, document versions and chunks with lineage, the knowledge graph, and
cached chunk embeddings.

Revision ID: 0005
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ingest_jobs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(1024), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float, nullable=False),
        sa.Column("acl", sa.Text, nullable=False),
        sa.Column("stats", sa.Text, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
    )
    op.create_index("ix_ingest_jobs_started_at", "ingest_jobs", ["started_at"])
    op.create_table(
        "grounding_documents",
        sa.Column("uri", sa.String(1024), primary_key=True),
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(1024), nullable=False),
        sa.Column("doc_id", sa.String(256), nullable=False),
        sa.Column("title", sa.String(512), nullable=False),
        sa.Column("media_type", sa.String(64), nullable=False),
        sa.Column("acl", sa.Text, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("chunks", sa.Integer, nullable=False),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("ingested_at", sa.Float, nullable=False),
        sa.Column("superseded_at", sa.Float, nullable=True),
        sa.Column("superseded_by", sa.String(64), nullable=True),
    )
    op.create_index(
        "ix_grounding_documents_current", "grounding_documents", ["source", "superseded_at"]
    )
    op.create_index("ix_grounding_documents_doc_id", "grounding_documents", ["doc_id"])
    op.create_table(
        "grounding_chunks",
        sa.Column("uri", sa.String(1024), primary_key=True),
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("idx", sa.Integer, primary_key=True),
        sa.Column("evidence_id", sa.String(300), nullable=False),
        sa.Column("doc_id", sa.String(256), nullable=False),
        sa.Column("title", sa.String(512), nullable=False),
        sa.Column("heading", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("acl", sa.Text, nullable=False),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("ingested_at", sa.Float, nullable=False),
    )
    op.create_index("ix_grounding_chunks_evidence", "grounding_chunks", ["evidence_id"])
    op.create_table(
        "graph_entities",
        sa.Column("id", sa.String(300), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("label", sa.String(512), nullable=False),
        sa.Column("owner", sa.String(256), nullable=True),
        sa.Column("attributes", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=True),
        sa.Column("source", sa.String(1024), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("ix_graph_entities_owner", "graph_entities", ["owner"])
    op.create_index("ix_graph_entities_source", "graph_entities", ["source"])
    op.create_table(
        "graph_relations",
        sa.Column("src", sa.String(300), primary_key=True),
        sa.Column("relation", sa.String(64), primary_key=True),
        sa.Column("dst", sa.String(300), primary_key=True),
        sa.Column("source", sa.String(1024), nullable=False),
        sa.Column("job_id", sa.String(64), nullable=False),
    )
    op.create_index("ix_graph_relations_dst", "graph_relations", ["dst"])
    op.create_index("ix_graph_relations_source", "graph_relations", ["source"])
    op.create_table(
        "chunk_embeddings",
        sa.Column("embedder", sa.String(256), primary_key=True),
        sa.Column("text_hash", sa.String(64), primary_key=True),
        sa.Column("dims", sa.Integer, nullable=False),
        sa.Column("vector", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("chunk_embeddings")
    op.drop_index("ix_graph_relations_source", "graph_relations")
    op.drop_index("ix_graph_relations_dst", "graph_relations")
    op.drop_table("graph_relations")
    op.drop_index("ix_graph_entities_source", "graph_entities")
    op.drop_index("ix_graph_entities_owner", "graph_entities")
    op.drop_table("graph_entities")
    op.drop_index("ix_grounding_chunks_evidence", "grounding_chunks")
    op.drop_table("grounding_chunks")
    op.drop_index("ix_grounding_documents_doc_id", "grounding_documents")
    op.drop_index("ix_grounding_documents_current", "grounding_documents")
    op.drop_table("grounding_documents")
    op.drop_index("ix_ingest_jobs_started_at", "ingest_jobs")
    op.drop_table("ingest_jobs")
