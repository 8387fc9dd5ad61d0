"""Hybrid retrieval: reciprocal rank fusion, the dense index's ACL filter, graph expansion, and
the store-backed retriever that rebuilds itself when an ingest job changes the corpus."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Evidence
from tether.domains.retail.db import RetailDB
from tether.domains.retail.graph import RETAIL_IDS, RetailGraph
from tether.grounding.connectors import DirectorySource
from tether.grounding.documents import Chunk
from tether.grounding.embeddings import HashEmbedder, Vectors
from tether.grounding.graph import principal_label
from tether.grounding.hybrid import (
    DenseIndex,
    HybridRetriever,
    StoreRetriever,
    reciprocal_rank_fusion,
)
from tether.grounding.ingest import Ingestor
from tether.store.runs import RunStore


def chunk(doc: str, text: str, acl: tuple[str, ...] = ("public",)) -> Chunk:
    return Chunk(doc, 0, text, doc, acl, f"kb://t/{doc}.md", "v" * 64)


CHUNKS = [
    chunk("refunds", "Refunds to a credit card take 5 to 7 business days."),
    chunk("cancel", "A pending order can be cancelled; the money goes back to the card."),
    chunk("staff", "Staff may issue goodwill refunds up to 50 dollars.", ("staff",)),
    chunk("grill", "Our charcoal grill ships with a side burner."),
]


def ev(ident: str) -> Evidence:
    return Evidence(ident, "s", "")


def test_reciprocal_rank_fusion_sums_reciprocal_ranks() -> None:
    fused = reciprocal_rank_fusion([[ev("a"), ev("b"), ev("c")], [ev("c"), ev("a")]], 3)
    assert [e.id for e in fused] == ["a", "c", "b"]
    assert fused[0].score == pytest.approx(1 / 61 + 1 / 62)
    assert fused[1].score == pytest.approx(1 / 63 + 1 / 61)
    tie = reciprocal_rank_fusion([[ev("y")], [ev("x")]], 2)
    assert [e.id for e in tie] == ["x", "y"]  # equal scores: by id


class StubVectors:
    """Chosen unit vectors, so the ranking is known exactly."""

    @staticmethod
    def matrix() -> Vectors:
        return np.asarray([[1, 0, 0], [0.8, 0.6, 0], [1, 0, 0], [0, 0, 1]], dtype=np.float32)


def test_the_dense_index_ranks_only_what_the_labels_admit() -> None:
    index = DenseIndex(CHUNKS, StubVectors.matrix())
    public = index.search([1, 0, 0], 3, {"public"})
    assert [e.id for e in public] == ["kb:refunds#0", "kb:cancel#0"]  # the grill scores 0
    assert public[0].score == pytest.approx(1.0)
    staff = index.search([1, 0, 0], 1, {"staff"})
    assert [e.id for e in staff] == ["kb:staff#0"]
    assert index.search([1, 0, 0], 3, {"nobody"}) == []
    with pytest.raises(TetherError) as caught:
        index.search([1, 0], 3, {"public"})
    assert caught.value.code is ErrorCode.CONFIG_INVALID


def test_hybrid_search_fuses_lexical_and_dense_and_keeps_the_acl() -> None:
    retriever = HybridRetriever(CHUNKS, embedder=HashEmbedder(64))
    found = retriever.search("credit card refunds", 2, {"public"})
    assert found[0].id == "kb:refunds#0" and all("staff" not in e.acl for e in found)
    assert all(e.id != "kb:staff#0" for e in retriever.search("goodwill refunds", 4, {"public"}))
    lexical_only = HybridRetriever(CHUNKS)
    assert [e.id for e in lexical_only.search("charcoal grill", 3, {"public"})] == ["kb:grill#0"]
    with pytest.raises(TetherError):
        lexical_only.search("x", 3, "public")


def test_hybrid_search_adds_the_entities_the_query_names() -> None:
    retriever = HybridRetriever(
        CHUNKS, graph=RetailGraph(RetailDB.fresh_copy()), entity_ids=RETAIL_IDS
    )
    labels = {"public", principal_label("raj_sanchez_2970")}
    found = retriever.search("can I cancel order #W4566809 for a refund?", 2, labels)
    ids = [e.id for e in found]
    assert ids[:2] == ["kb:cancel#0", "kb:refunds#0"] or ids[:2] == ["kb:refunds#0", "kb:cancel#0"]
    assert "graph:order:#W4566809" in ids and "graph:user:raj_sanchez_2970" in ids
    stranger = retriever.search("cancel order #W4566809", 2, {"public"})
    assert not any(e.id.startswith("graph:order") for e in stranger)


class CountingEmbedder:
    def __init__(self) -> None:
        self.inner = HashEmbedder(32)
        self.calls: list[int] = []

    @property
    def name(self) -> str:
        return "counting-hash"

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.calls.append(len(texts))
        return self.inner.embed(texts)


def test_the_store_retriever_follows_ingest_jobs(store_url: str, tmp_path: Path) -> None:
    store = RunStore.open(store_url)
    (tmp_path / "a.md").write_text("# Returns\n\nReturns are accepted within 30 days.")
    ingest = Ingestor(store.engine)
    ingest.run(DirectorySource(tmp_path), ["public"])
    embedder = CountingEmbedder()
    retriever = StoreRetriever(store.engine, embedder=embedder, refresh_s=3600)
    assert [e.id for e in retriever.search("returns", 3, {"public"})] == ["kb:a#0"]
    assert embedder.calls[0] == 1  # the one chunk; then one call per query
    (tmp_path / "b.md").write_text("# Gift cards\n\nGift card refunds are immediate.")
    ingest.run(DirectorySource(tmp_path), ["public"])
    assert retriever.search("gift card", 3, {"public"}) == []  # not refreshed yet
    assert retriever.refresh() is True and retriever.refresh() is False
    assert retriever.search("gift card refunds", 1, {"public"})[0].id == "kb:b#0"
    # a replica building from the same store embeds nothing it has not seen
    before = list(embedder.calls)
    replica = StoreRetriever(store.engine, embedder=embedder)
    assert embedder.calls == before and replica.current.dense is not None
    store.close()
