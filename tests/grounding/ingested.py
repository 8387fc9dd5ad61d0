"""What `tether ingest` leaves in a store, as the tests of ingestion read it back: a folder of
documents ingested by the real command, the indexed text, and what a customer's search finds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.processes import tether
from tether.core.types import Evidence, Principal
from tether.grounding.corpus import current_chunks
from tether.grounding.graph import principal_labels
from tether.grounding.hybrid import StoreRetriever
from tether.store.runs import RunStore


def ingest_files(
    url: str, tmp_path: Path, files: dict[str, str], *acl: str
) -> tuple[int, dict[str, Any]]:
    """Write `files` (name -> text) into a new docs folder and ingest it with `--acl` each of
    `acl`: the command's exit code and its JSON report."""
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in files.items():
        (docs / name).write_text(text, encoding="utf-8")
    labels = [arg for label in acl for arg in ("--acl", label)]
    return tether(url, tmp_path / "home", "ingest", str(docs), *labels)


def indexed_text(url: str) -> str:
    """The text of every current chunk of the store."""
    store = RunStore.open(url)
    try:
        return "\n".join(c.text for c in current_chunks(store.engine))
    finally:
        store.close()


def customer_finds(url: str, query: str, customer: str = "noah_brown_6181") -> list[Evidence]:
    """What a customer's search of the store's knowledge finds."""
    store = RunStore.open(url)
    try:
        labels = principal_labels(Principal(customer))
        return StoreRetriever(store.engine).search(query, 5, labels)
    finally:
        store.close()
