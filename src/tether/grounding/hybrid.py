"""Hybrid retrieval: BM25 and optional dense vectors fused by reciprocal rank, plus knowledge
graph expansion; and `StoreRetriever`, which builds all of it from the ingested corpus.

Both rankings filter by ACL before they rank: BM25 through per-view indexes (see `bm25`), the
dense index by ranking only the rows the labels admit (a dense score depends on one chunk alone,
so no hidden chunk shapes a visible one's score).
"""

from __future__ import annotations

import copy
import dataclasses
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Evidence
from tether.grounding.bm25 import Bm25Retriever
from tether.grounding.corpus import current_corpus, fingerprint, under
from tether.grounding.documents import Chunk
from tether.grounding.embeddings import Embedder, EmbeddingCache, normalise_rows
from tether.grounding.graph import NO_ENTITY_IDS, EntityGraph, EntityIds, GraphExpander

if TYPE_CHECKING:
    from tether.grounding.embeddings import Vectors

RRF_K = 60  # the usual constant: damps the weight of the very top ranks


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[Evidence]], k: int, constant: int = RRF_K
) -> list[Evidence]:
    """The `k` best of several rankings by summed 1 / (constant + rank); ties by id.

    Each returned evidence carries its fused score.
    """
    scores: dict[str, float] = {}
    first: dict[str, Evidence] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item.id] = scores.get(item.id, 0.0) + 1.0 / (constant + rank)
            first.setdefault(item.id, item)
    ordered = sorted(scores, key=lambda i: (-scores[i], i))[:k]
    return [dataclasses.replace(first[i], score=scores[i]) for i in ordered]


class DenseIndex:
    """Unit vectors of chunks; cosine ranking among the chunks a set of labels admits."""

    def __init__(self, chunks: Sequence[Chunk], vectors: Vectors, *, max_views: int = 64) -> None:
        import numpy as np  # imported by the index that uses it, as in `embeddings`

        if len(chunks) != len(vectors):
            raise TetherError(
                ErrorCode.CONFIG_INVALID, f"{len(chunks)} chunks but {len(vectors)} vectors"
            )
        self.chunks = tuple(chunks)
        self.matrix = normalise_rows(vectors) if len(vectors) else np.zeros((0, 1), np.float32)
        by_label: dict[str, list[int]] = {}
        for position, chunk in enumerate(self.chunks):
            for label in chunk.acl:
                by_label.setdefault(label, []).append(position)
        self._by_label = {k: np.asarray(v, dtype=np.int64) for k, v in by_label.items()}
        self._views: OrderedDict[frozenset[str], Any] = OrderedDict()
        self._max_views = max_views
        self._lock = threading.Lock()

    def _rows(self, key: frozenset[str]) -> Any:
        import numpy as np

        with self._lock:
            if key not in self._views:
                parts = [self._by_label[label] for label in key]
                rows = np.unique(np.concatenate(parts)) if len(parts) > 1 else parts[0]
                self._views[key] = rows
                if len(self._views) > self._max_views:
                    self._views.popitem(last=False)
            self._views.move_to_end(key)
            return self._views[key]

    def search(self, vector: Any, k: int, labels: Collection[str]) -> list[Evidence]:
        """The `k` chunks nearest `vector` among those whose ACL meets `labels`."""
        import numpy as np

        key = frozenset(labels).intersection(self._by_label)
        if k <= 0 or not key:
            return []
        rows = self._rows(key)
        query = normalise_rows(np.asarray(vector, dtype=np.float32).reshape(1, -1))[0]
        if query.shape[0] != self.matrix.shape[1]:
            raise TetherError(
                ErrorCode.CONFIG_INVALID,
                f"query vector has {query.shape[0]} dimensions, the index {self.matrix.shape[1]}",
            )
        # one pass over every row beats gathering the admitted rows first (a copy per query);
        # a hidden row's score is computed and dropped, never ranked
        scores = self.matrix @ query
        if len(rows) < len(self.chunks):
            scores = scores[rows]
        top = min(k, len(scores))
        best = np.argpartition(-scores, top - 1)[:top]
        best = best[np.lexsort((best, -scores[best]))]
        positions = rows[best] if len(rows) < len(self.chunks) else best
        return [
            self.chunks[int(p)].to_evidence(float(s))
            for p, s in zip(positions, scores[best], strict=True)
            if s > 0
        ]


class HybridRetriever:
    """BM25, plus dense vectors when an embedder is given, fused by reciprocal rank; then the
    entities the query names (and their neighbours) from the graph, when one is given."""

    def __init__(
        self,
        chunks: Sequence[Chunk],
        *,
        embedder: Embedder | None = None,
        vectors: Vectors | None = None,
        graph: EntityGraph | None = None,
        candidates: int = 20,
        expand_limit: int = 12,
        entity_ids: EntityIds = NO_ENTITY_IDS,
    ) -> None:
        self.chunks = tuple(chunks)
        self.entity_ids = entity_ids
        self.lexical = Bm25Retriever(self.chunks)
        self.embedder = embedder
        self.dense: DenseIndex | None = None
        if embedder is not None:
            if vectors is None:
                vectors = embedder.embed([c.text for c in self.chunks])
            self.dense = DenseIndex(self.chunks, vectors)
        self.expander = self._expander(graph, expand_limit)
        self.candidates = candidates

    def _expander(self, graph: EntityGraph | None, limit: int) -> GraphExpander | None:
        if graph is None:
            return None
        return GraphExpander(graph, limit=limit, ids=self.entity_ids)

    def with_graph(
        self,
        graph: EntityGraph | None,
        expand_limit: int = 12,
        entity_ids: EntityIds | None = None,
    ) -> HybridRetriever:
        """The same indexes with another graph (indexes are shared, not rebuilt)."""
        other = copy.copy(self)
        if entity_ids is not None:
            other.entity_ids = entity_ids
        other.expander = other._expander(graph, expand_limit)
        return other

    def search(self, query: str, k: int, labels: Collection[str]) -> list[Evidence]:
        """At most `k` passages (fused), then the graph's evidence for entities in `query`."""
        if isinstance(labels, str):
            raise TetherError(ErrorCode.BAD_REQUEST, "labels must be a collection, not a string")
        if k <= 0 or not query.strip():
            return []
        pool = max(k, self.candidates) if self.dense is not None else k
        passages = self.lexical.search(query, pool, labels)
        if self.dense is not None and self.embedder is not None:
            vector = self.embedder.embed([query])[0]
            passages = reciprocal_rank_fusion(
                [passages, self.dense.search(vector, pool, labels)], k
            )
        found = list(passages[:k])
        if self.expander is not None:
            seen = {e.id for e in found}
            found += [e for e in self.expander.expand(query, labels) if e.id not in seen]
        return found


_SHARED: OrderedDict[tuple[str, str, str], HybridRetriever] = OrderedDict()
_SHARED_LOCK = threading.Lock()


def _indexes(engine: Engine, embedder: Embedder | None, sources: Sequence[str] | None) -> Any:
    """Indexes over the current corpus, shared per process by corpus fingerprint.

    The cheap fingerprint alone finds a cached index; one is built and cached under the
    fingerprint read with its chunks in one statement, never under the one read before it,
    which a job committing in between would make another corpus's."""
    mark = fingerprint(engine, sources)
    tail = (embedder.name if embedder else "", "|".join(sources or ()))
    with _SHARED_LOCK:
        if (mark, *tail) in _SHARED:
            _SHARED.move_to_end((mark, *tail))
            return mark, _SHARED[(mark, *tail)]
    mark, found = current_corpus(engine, sources)
    key = (mark, *tail)
    vectors = None
    if embedder is not None:
        vectors = EmbeddingCache(engine).embed(embedder, [c.text for c in found])
    built = HybridRetriever(found, embedder=embedder, vectors=vectors)
    with _SHARED_LOCK:
        _SHARED[key] = built
        while len(_SHARED) > 8:
            _SHARED.popitem(last=False)
    return mark, built


@dataclass
class _Scope:
    """The retriever built for one set of sources, and the corpus fingerprint it was built from."""

    mark: str = ""
    checked: float = 0.0
    current: HybridRetriever | None = None


def narrowed(outer: tuple[str, ...] | None, inner: Sequence[str] | None) -> tuple[str, ...] | None:
    """The sources under both `outer` and `inner` (URI prefixes; None: every source)."""
    if not inner:
        return outer
    asked = tuple(sorted(set(inner)))
    if outer is None:
        return asked
    # a prefix under another is the narrower of the two; prefixes apart share nothing
    kept = {a for a in asked if any(under(a, o) for o in outer)}
    kept |= {o for o in outer if any(under(o, a) for a in asked)}
    return tuple(sorted(kept))


class StoreRetriever:
    """The hybrid retriever over whatever is ingested in the store, kept current.

    Every `refresh_s` seconds (and on `refresh()`) it compares the corpus fingerprint with
    the one it was built from and rebuilds when a job changed something, so every replica
    serves the same corpus without being told. Nothing is read until the first search, so a
    store that is down when the process starts is an error of that search, not of start-up;
    `setup` (e.g. ingesting a packaged corpus) runs once, just before the first build.
    `sources` (URI prefixes) bounds what it ever ranks; a search may narrow it further (an
    agent's `grounding_sources`), each set of sources with an index of its own.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        embedder: Embedder | None = None,
        graph: EntityGraph | None = None,
        sources: Sequence[str] | None = None,
        refresh_s: float = 30.0,
        setup: Callable[[], object] | None = None,
        entity_ids: EntityIds = NO_ENTITY_IDS,
    ) -> None:
        self.engine = engine
        self.embedder = embedder
        self.graph = graph
        self.entity_ids = entity_ids
        self.sources = tuple(sources) if sources else None
        self.refresh_s = refresh_s
        self._setup = setup
        self._lock = threading.Lock()
        self._scopes: OrderedDict[tuple[str, ...] | None, _Scope] = OrderedDict()

    @property
    def current(self) -> HybridRetriever:
        """The retriever in use over `sources` (built now if no search has built it yet)."""
        return self._current(self.sources)

    def _current(self, scope: tuple[str, ...] | None) -> HybridRetriever:
        found = self._scopes.get(scope)
        if found is None or found.current is None:
            self._refresh(scope)
            found = self._scopes[scope]
        assert found.current is not None
        return found.current

    def refresh(self) -> bool:
        """Rebuild if the corpus changed since the last build; True if it did."""
        scopes = list(self._scopes) or [self.sources]
        return any([self._refresh(scope) for scope in scopes])

    def _refresh(self, scope: tuple[str, ...] | None) -> bool:
        with self._lock:
            if self._setup is not None:
                self._setup()
                self._setup = None
            mark, built = _indexes(self.engine, self.embedder, scope)
            held = self._scopes.setdefault(scope, _Scope())
            self._scopes.move_to_end(scope)
            while len(self._scopes) > 8:  # an agent per scope: a handful per desk
                self._scopes.popitem(last=False)
            held.checked = time.monotonic()
            if mark == held.mark and held.current is not None:
                return False
            held.mark = mark
            held.current = built.with_graph(self.graph, entity_ids=self.entity_ids)
            return True

    def search(
        self,
        query: str,
        k: int,
        labels: Collection[str],
        sources: Sequence[str] | None = None,
    ) -> list[Evidence]:
        """As `HybridRetriever.search`, on the current corpus; with `sources` (URI prefixes),
        only passages of documents under them are ranked (the graph's evidence is the
        desk's own and is not narrowed)."""
        scope = narrowed(self.sources, sources)
        if scope == ():  # sources apart from this retriever's: nothing it holds may be read
            return []
        held = self._scopes.get(scope)
        if held is None or held.current is None or time.monotonic() - held.checked > self.refresh_s:
            self._refresh(scope)
        return self._current(scope).search(query, k, labels)
