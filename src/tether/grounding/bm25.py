"""First-stage retrieval: BM25 over knowledge-base chunks, filtered by ACL before ranking."""

from __future__ import annotations

import re
import struct
import threading
from collections import Counter, OrderedDict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol, runtime_checkable

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Evidence
from tether.grounding.documents import Chunk, Document, chunk_documents

MAX_QUERY_CHARS = 2000
# views of up to this many chunks are scored and ranked in Python: at that size numpy's cost per
# call is most of the work, and a run's one search pays it cold (their postings, kept as Python
# numbers, take some 40 bytes each)
SMALL_VIEW = 256

_VOWELS = frozenset("aeiouy")
# Suffix rules applied in order, each at most once: (suffix, replacement, shortest stem kept).
_INFLECTIONS = (("ied", "y", 2), ("ed", "", 3), ("ing", "", 3))
_DERIVATIONS = (
    ("ly", "", 4),
    ("ment", "", 3),
    ("ification", "ify", 3),
    ("ation", "", 3),
    ("ate", "", 4),
    ("ery", "er", 3),
)


@runtime_checkable
class Retriever(Protocol):
    """Finds the evidence a principal with `labels` may see that best matches `query`."""

    def search(self, query: str, k: int, labels: Collection[str]) -> list[Evidence]:
        """At most `k` passages, best first; only chunks whose ACL meets `labels`."""
        ...


@lru_cache(maxsize=1 << 16)  # a pure function of the word, asked of the same words all day
def stem(word: str) -> str:
    """A light English stemmer, so that "refunds", "refunded" and "refund" match.

    No stemming library ships with the runtime; these few suffix rules conflate the forms
    that support questions use (plurals, -ed, -ing, -ation, -ment, -ly) and nothing more.
    """
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix, replacement, shortest in _INFLECTIONS:
        root = word[: -len(suffix)]
        if word.endswith(suffix) and len(root) >= shortest and _VOWELS & set(root):
            # "authenticated" -> "authenticat" -> "authenticate", to meet the bare verb below
            word = root + replacement + ("e" if root.endswith("at") else "")
            break
    for suffix, replacement, shortest in _DERIVATIONS:
        root = word[: -len(suffix)]
        if word.endswith(suffix) and len(root) >= shortest and _VOWELS & set(root):
            word = root + replacement
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    if len(word) >= 5 and word[-1] == word[-2] and word[-1] not in _VOWELS and word[-1] != "s":
        word = word[:-1]
    return word


# bm25s's tokenizer, as the index is built with it: scikit-learn's word pattern on lower-cased
# text, its English stop words dropped, then each word stemmed
_WORD = re.compile(r"(?u)\b\w\w+\b")


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    # bm25s (and numpy and scipy with it) load on first use, not with this module: a process
    # that never searches, as most commands, does not pay for them
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased word tokens without English stop words, stemmed; the same for docs and queries.

    The tokens bm25s.tokenize gives with `stopwords="en"` and this module's stemmer, without its
    per-call vocabulary: a query is tokenised on every search.
    """
    stop_words = _stop_words()
    return [
        [stem(word) for word in _WORD.findall(text.lower()) if word not in stop_words]
        for text in texts
    ]


@dataclass(frozen=True)
class _View:
    """A BM25 index over exactly the chunks one set of labels may see."""

    positions: tuple[int, ...]  # positions into the retriever's chunk list
    model: Any  # bm25s.BM25 (untyped library)
    vocab: dict[str, int]
    rows: Any = None  # the positions as a numpy array, for vectorised ranking
    # a small view's index as Python numbers (see `_Postings`), and each chunk's rank in
    # evidence-id order
    postings: _Postings | None = None
    ranks: tuple[int, ...] = ()


_FLOAT32 = struct.Struct("<f")


def _float32(value: float) -> float:
    """`value` rounded to the nearest float32. The double sum of two float32 numbers, rounded
    so, is their float32 sum exactly (53 bits >= 2 * 24 + 2: rounding twice changes nothing)."""
    rounded: float = _FLOAT32.unpack(_FLOAT32.pack(value))[0]
    return rounded


@dataclass(frozen=True)
class _Postings:
    """A view's scores by term, as Python numbers: term `t`'s chunks (positions in the view)
    are `docs[bounds[t]:bounds[t + 1]]`, with their scores at the same places in `scores`."""

    docs: list[int]
    scores: list[float]
    bounds: list[int]

    @staticmethod
    def of(model: Any) -> _Postings | None:
        """The model's, when a query's scores are the float32 sums of them (Lucene's BM25 adds
        nothing for the terms a document lacks); None otherwise."""
        import numpy as np

        if model.nonoccurrence_array is not None or np.dtype(model.dtype) != np.float32:
            return None
        found = model.scores
        return _Postings(
            found["indices"].tolist(), found["data"].tolist(), found["indptr"].tolist()
        )


class Bm25Retriever:
    """BM25 (bm25s, Lucene scoring) over chunks, with ACL filtering before ranking.

    ACL design: one index per *visible set* of chunks, built only from the chunks the
    caller's labels admit. A weight mask over a single shared index would hide restricted
    chunks from the results, but their words would still shape every score through the
    corpus statistics (document frequencies, average length), which both changes the
    ranking of what is returned and leaks, through scores, what restricted text contains.
    Per-view indexes make a restricted chunk invisible in every respect. The KB is small, so
    a view costs a few milliseconds to build once; single-label views are built up front and
    combinations on first use, kept in a bounded LRU cache.
    """

    def __init__(
        self, chunks: Iterable[Chunk], *, max_views: int = 64, small_view: int = SMALL_VIEW
    ) -> None:
        import numpy as np

        self._chunks: tuple[Chunk, ...] = tuple(chunks)
        self._small_view = small_view
        self._ids = tuple(c.evidence_id for c in self._chunks)
        duplicates = sorted(i for i, n in Counter(self._ids).items() if n > 1)
        if duplicates:
            raise TetherError(
                ErrorCode.CONFIG_INVALID,
                f"duplicate evidence ids in the corpus: {', '.join(duplicates[:5])}",
                {"duplicates": duplicates},
            )
        order = sorted(range(len(self._ids)), key=self._ids.__getitem__)
        self._id_rank = np.empty(len(self._ids), dtype=np.int64)
        self._id_rank[order] = np.arange(len(self._ids))
        self._tokens = tokenize([c.text for c in self._chunks]) if self._chunks else []
        by_label: dict[str, set[int]] = {}
        for position, chunk in enumerate(self._chunks):
            for label in chunk.acl:
                by_label.setdefault(label, set()).add(position)
        self._by_label = {label: frozenset(p) for label, p in by_label.items()}
        self._max_views = max(max_views, len(self._by_label))
        self._views: OrderedDict[frozenset[str], _View | None] = OrderedDict()
        self._lock = threading.Lock()
        for label in sorted(self._by_label):
            self._view(frozenset({label}))

    @classmethod
    def from_documents(cls, docs: Sequence[Document], max_chars: int = 700) -> Bm25Retriever:
        """Chunk `docs` and index the chunks."""
        return cls(chunk_documents(list(docs), max_chars))

    @property
    def chunks(self) -> tuple[Chunk, ...]:
        """Every indexed chunk, whatever its ACL (for lineage look-ups, not for answers)."""
        return self._chunks

    def _view(self, key: frozenset[str]) -> _View | None:
        import bm25s
        import numpy as np

        with self._lock:
            if key in self._views:
                self._views.move_to_end(key)
                return self._views[key]
            positions = tuple(sorted(set().union(*(self._by_label[label] for label in key))))
            view: _View | None = None
            if positions:
                model = bm25s.BM25(method="lucene")
                model.index([self._tokens[p] for p in positions], show_progress=False)
                rows = np.asarray(positions, dtype=np.int64)
                small = len(positions) <= self._small_view
                postings = _Postings.of(model) if small else None
                ranks = tuple(int(self._id_rank[p]) for p in positions) if small else ()
                view = _View(positions, model, dict(model.vocab_dict), rows, postings, ranks)
            self._views[key] = view
            if len(self._views) > self._max_views:
                self._views.popitem(last=False)
            return view

    def search(self, query: str, k: int, labels: Collection[str]) -> list[Evidence]:
        """The `k` best chunks for `query` among those whose ACL intersects `labels`.

        Chunks scoring 0 (no query word in common) are dropped; equal scores are ordered by
        evidence id. An empty query, `k <= 0` or no matching label gives an empty list.
        Queries longer than MAX_QUERY_CHARS are cut at a word boundary before tokenising.
        """
        if isinstance(labels, str):
            raise TetherError(
                ErrorCode.BAD_REQUEST, "labels must be a collection of labels, not one string"
            )
        if k <= 0 or not query or not query.strip():
            return []
        key = frozenset(labels).intersection(self._by_label)
        if not key:
            return []
        view = self._view(key)
        if view is None:
            return []
        if len(query) > MAX_QUERY_CHARS:
            head = query[:MAX_QUERY_CHARS]
            if not head[-1].isspace() and not query[MAX_QUERY_CHARS].isspace():
                # the limit fell inside a word: drop that fragment rather than search for it
                head = head.rsplit(None, 1)[0] if len(head.split()) > 1 else ""
            query = head
        term_ids = [view.vocab[t] for t in tokenize([query])[0] if t and t in view.vocab]
        if not term_ids:
            return []
        if view.postings is not None:
            return self._ranked_in_python(view, term_ids, k)
        import numpy as np

        scores = np.asarray(view.model.get_scores_from_ids(term_ids), dtype=np.float64)
        candidates = np.flatnonzero(scores > 0)
        if len(candidates) > k:
            # only scores at or above the k-th best can place; keeping all of them keeps ties
            kth = np.partition(scores[candidates], len(candidates) - k)[len(candidates) - k]
            candidates = candidates[scores[candidates] >= kth]
        chunk_at = view.rows[candidates]
        # best score first, equal scores in evidence-id order (ranks precomputed as integers)
        best = candidates[np.lexsort((self._id_rank[chunk_at], -scores[candidates]))[:k]]
        return [self._chunks[view.positions[i]].to_evidence(float(scores[i])) for i in best]

    def _ranked_in_python(self, view: _View, term_ids: list[int], k: int) -> list[Evidence]:
        """What the numpy ranking gives, to the bit: each chunk's float32 score summed term by
        term in query order (as bm25s does), best first, equal scores in evidence-id order."""
        postings = view.postings
        assert postings is not None
        sums: dict[int, float] = {}
        for term in term_ids:
            start, end = postings.bounds[term], postings.bounds[term + 1]
            for doc, score in zip(
                postings.docs[start:end], postings.scores[start:end], strict=True
            ):
                before = sums.get(doc)
                sums[doc] = score if before is None else _float32(before + score)
        found = [doc for doc, total in sums.items() if total > 0]
        found.sort(key=lambda doc: (-sums[doc], view.ranks[doc]))
        return [self._chunks[view.positions[doc]].to_evidence(sums[doc]) for doc in found[:k]]
