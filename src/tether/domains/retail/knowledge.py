"""The retail store's knowledge base: its written policy as Markdown documents in `kb/`."""

from __future__ import annotations

from tether.grounding import Document, DocumentsSource, load_package_documents

KB_URI = "kb://retail/"


def load_packaged_kb() -> list[Document]:
    """The knowledge base shipped with the pack, with `kb://retail/` sources."""
    return load_package_documents("tether.domains.retail", "kb", KB_URI)


def packaged_kb_source() -> DocumentsSource:
    """The knowledge base as an ingestable source."""
    return DocumentsSource(KB_URI, load_packaged_kb())
