"""Grounding: documents and chunking with lineage, ACL-filtered hybrid retrieval, the knowledge
graph, and verification of answers and actions.

A domain pack uses `load_package_documents` and `DocumentsSource` for its knowledge base,
`EntityIds` / `EntityPattern` to say how its ids appear in text, `Entity` / `Relation` /
`EntityGraph` for its live graph, and `SourceDocument` / `record_text` for a source that
ingests its records.
"""

from typing import TYPE_CHECKING

from tether.core.exports import lazy_exports

if TYPE_CHECKING:
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

# each name is imported from its module when first used (see `tether.core.exports`)
__getattr__ = lazy_exports(
    __name__,
    {
        "Bm25Retriever": "tether.grounding.bm25",
        "Chunk": "tether.grounding.documents",
        "CitationCheck": "tether.grounding.citations",
        "ClaimCheck": "tether.grounding.verify",
        "Connector": "tether.grounding.connectors",
        "DirectorySource": "tether.grounding.connectors",
        "Document": "tether.grounding.documents",
        "DocumentsSource": "tether.grounding.connectors",
        "Embedder": "tether.grounding.embeddings",
        "Entity": "tether.grounding.graph",
        "EntityGraph": "tether.grounding.graph",
        "EntityIds": "tether.grounding.graph",
        "EntityPattern": "tether.grounding.graph",
        "FieldMap": "tether.grounding.fields",
        "FieldSpec": "tether.grounding.fields",
        "GraphExpander": "tether.grounding.graph",
        "GroundingPack": "tether.grounding.verifier",
        "HARD_KINDS": "tether.grounding.verifier",
        "HashEmbedder": "tether.grounding.embeddings",
        "HybridRetriever": "tether.grounding.hybrid",
        "IngestReport": "tether.grounding.ingest",
        "Ingestor": "tether.grounding.ingest",
        "NO_ENTITY_IDS": "tether.grounding.graph",
        "OpenAIEmbedder": "tether.grounding.embeddings",
        "PUBLIC_LABEL": "tether.grounding.graph",
        "Relation": "tether.grounding.graph",
        "Retriever": "tether.grounding.bm25",
        "SentenceTransformerEmbedder": "tether.grounding.embeddings",
        "SourceDocument": "tether.grounding.connectors",
        "StoreRetriever": "tether.grounding.hybrid",
        "StoredGraph": "tether.grounding.graph",
        "Verification": "tether.grounding.verifier",
        "Verifier": "tether.grounding.verifier",
        "VerifierConfig": "tether.grounding.verifier",
        "chunk_document": "tether.grounding.documents",
        "chunk_documents": "tether.grounding.documents",
        "content_version": "tether.grounding.documents",
        "embedder_from_env": "tether.grounding.embeddings",
        "ensure_ingested": "tether.grounding.ingest",
        "fields_from_schema": "tether.grounding.fields",
        "load_markdown_dir": "tether.grounding.documents",
        "load_package_documents": "tether.grounding.documents",
        "open_source": "tether.grounding.connectors",
        "principal_label": "tether.grounding.graph",
        "principal_labels": "tether.grounding.graph",
        "reciprocal_rank_fusion": "tether.grounding.hybrid",
        "record_text": "tether.grounding.connectors",
        "slug": "tether.grounding.formats",
    },
)
