"""Grounding: knowledge-base documents, chunking with lineage, and ACL-filtered retrieval."""

from tether.grounding.bm25 import Bm25Retriever, Retriever
from tether.grounding.documents import (
    Chunk,
    Document,
    chunk_document,
    chunk_documents,
    load_markdown_dir,
    load_packaged_kb,
)

__all__ = [
    "Bm25Retriever",
    "Chunk",
    "Document",
    "Retriever",
    "chunk_document",
    "chunk_documents",
    "load_markdown_dir",
    "load_packaged_kb",
]
