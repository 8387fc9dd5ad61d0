"""Grounding: documents and chunking with lineage, ACL-filtered hybrid retrieval, the knowledge
graph, and verification of answers and actions.

A domain pack uses `load_package_documents` and `DocumentsSource` for its knowledge base,
`EntityIds` / `EntityPattern` to say how its ids appear in text, `Entity` / `Relation` /
`EntityGraph` for its live graph, and `SourceDocument` / `record_text` for a source that
ingests its records.
"""

from tether.grounding.bm25 import Bm25Retriever, Retriever
from tether.grounding.citations import CitationCheck
from tether.grounding.connectors import (
    Connector,
    DirectorySource,
    DocumentsSource,
    SourceDocument,
    open_source,
    record_text,
)
from tether.grounding.documents import (
    Chunk,
    Document,
    chunk_document,
    chunk_documents,
    content_version,
    load_markdown_dir,
    load_package_documents,
)
from tether.grounding.embeddings import (
    Embedder,
    HashEmbedder,
    OpenAIEmbedder,
    SentenceTransformerEmbedder,
    embedder_from_env,
)
from tether.grounding.fields import FieldMap, FieldSpec, fields_from_schema
from tether.grounding.formats import slug
from tether.grounding.graph import (
    NO_ENTITY_IDS,
    PUBLIC_LABEL,
    Entity,
    EntityGraph,
    EntityIds,
    EntityPattern,
    GraphExpander,
    Relation,
    StoredGraph,
    principal_label,
    principal_labels,
)
from tether.grounding.hybrid import HybridRetriever, StoreRetriever, reciprocal_rank_fusion
from tether.grounding.ingest import Ingestor, IngestReport, ensure_ingested
from tether.grounding.verifier import (
    HARD_KINDS,
    GroundingPack,
    Verification,
    Verifier,
    VerifierConfig,
)
from tether.grounding.verify import ClaimCheck

__all__ = [
    "HARD_KINDS",
    "NO_ENTITY_IDS",
    "PUBLIC_LABEL",
    "Bm25Retriever",
    "Chunk",
    "CitationCheck",
    "ClaimCheck",
    "Connector",
    "DirectorySource",
    "Document",
    "DocumentsSource",
    "Embedder",
    "Entity",
    "EntityGraph",
    "EntityIds",
    "EntityPattern",
    "FieldMap",
    "FieldSpec",
    "GraphExpander",
    "GroundingPack",
    "HashEmbedder",
    "HybridRetriever",
    "IngestReport",
    "Ingestor",
    "OpenAIEmbedder",
    "Relation",
    "Retriever",
    "SentenceTransformerEmbedder",
    "SourceDocument",
    "StoreRetriever",
    "StoredGraph",
    "Verification",
    "Verifier",
    "VerifierConfig",
    "chunk_document",
    "chunk_documents",
    "content_version",
    "embedder_from_env",
    "ensure_ingested",
    "fields_from_schema",
    "load_markdown_dir",
    "load_package_documents",
    "open_source",
    "principal_label",
    "principal_labels",
    "reciprocal_rank_fusion",
    "record_text",
    "slug",
]
