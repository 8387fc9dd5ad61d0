"""Grounding: documents and chunking with lineage, ACL-filtered hybrid retrieval, the knowledge
graph, and verification of answers and actions."""

from tether.grounding.bm25 import Bm25Retriever, Retriever
from tether.grounding.documents import (
    Chunk,
    Document,
    chunk_document,
    chunk_documents,
    load_markdown_dir,
    load_packaged_kb,
)
from tether.grounding.embeddings import (
    Embedder,
    HashEmbedder,
    OpenAIEmbedder,
    SentenceTransformerEmbedder,
    embedder_from_env,
)
from tether.grounding.graph import Entity, EntityGraph, GraphExpander, Relation, StoredGraph
from tether.grounding.hybrid import HybridRetriever, StoreRetriever, reciprocal_rank_fusion

__all__ = [
    "Bm25Retriever",
    "Chunk",
    "Document",
    "Embedder",
    "Entity",
    "EntityGraph",
    "GraphExpander",
    "HashEmbedder",
    "HybridRetriever",
    "OpenAIEmbedder",
    "Relation",
    "Retriever",
    "SentenceTransformerEmbedder",
    "StoreRetriever",
    "StoredGraph",
    "chunk_document",
    "chunk_documents",
    "embedder_from_env",
    "load_markdown_dir",
    "load_packaged_kb",
    "reciprocal_rank_fusion",
]
