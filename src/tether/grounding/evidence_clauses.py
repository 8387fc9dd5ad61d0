"""Evidence read clause by clause, for the meaning checks.

`EvidenceClause` is one clause of an evidence sentence with what the meaning checks compare: its
content terms, its polarity, the label of the list item it sits in, its subject and timings.
Each evidence item is indexed on its own (`_Item`): its clauses, its sentences read whole, and
term indexes over both. Items of a bounded size are kept by their text and shared with every
evidence set that holds the same item, since evidence never changes once recorded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from tether.grounding.claims import content_terms
from tether.grounding.meaning import clauses, label_of, negated
from tether.grounding.sources import SourceIndex, SourceSentence
from tether.grounding.timings import Timing, subject_terms, timings

SHARED_ITEMS = 128  # items whose index is kept for the next set that holds them
MAX_SHARED_CHARS = 20_000  # larger items are indexed for their own set only


@dataclass(frozen=True)
class EvidenceClause:
    """One clause of an evidence sentence, with what the meaning checks compare."""

    source: str
    sentence: str
    text: str
    terms: frozenset[str]
    negated: bool
    label: tuple[frozenset[str], ...]  # the list item's label, one word set per alternative
    subject: frozenset[str]
    timings: tuple[Timing, ...]
    span: tuple[int, int] = (0, 0)  # the sentence's place in its evidence item


class _Item:
    """One evidence item indexed on its own; only read once built, so it may be shared."""

    def __init__(self, index: SourceIndex, texts: Mapping[str, str]) -> None:
        self.index = index
        self._texts = texts  # the passage by its id (none for a record): where list items end

    @staticmethod
    def text(evidence_id: str, text: str) -> _Item:
        if len(text) <= MAX_SHARED_CHARS:
            return _text_item(evidence_id, text)
        return _Item(SourceIndex.build(texts={evidence_id: text}), {evidence_id: text})

    @staticmethod
    def record(evidence_id: str, record: Any, raw: str | None = None) -> _Item:
        """`raw`: the JSON text the record was read from, by which it is shared."""
        if raw is not None and len(raw) <= MAX_SHARED_CHARS:
            return _json_item(evidence_id, raw)
        return _Item(SourceIndex.build(records={evidence_id: record}), {})

    @cached_property
    def clauses(self) -> tuple[EvidenceClause, ...]:
        return tuple(_clauses_of(self.index.sentences, self._texts))

    @cached_property
    def sentences(self) -> tuple[EvidenceClause, ...]:
        return tuple(_sentences_of(self.clauses))

    @cached_property
    def clause_index(self) -> dict[str, list[int]]:
        return _term_index(self.clauses)

    @cached_property
    def sentence_index(self) -> dict[str, list[int]]:
        return _term_index(self.sentences)


def _placed(
    sized: Sequence[tuple[int, dict[str, list[int]]]],
) -> list[tuple[int, dict[str, list[int]]]]:
    """Each index with the offset of its first unit: the sizes of those before it."""
    out: list[tuple[int, dict[str, list[int]]]] = []
    at = 0
    for size, index in sized:
        if index:
            out.append((at, index))
        at += size
    return out


@lru_cache(maxsize=SHARED_ITEMS)
def _text_item(evidence_id: str, text: str) -> _Item:
    return _Item(SourceIndex.build(texts={evidence_id: text}), {evidence_id: text})


@lru_cache(maxsize=SHARED_ITEMS)
def _json_item(evidence_id: str, raw: str) -> _Item:
    return _Item(SourceIndex.build(records={evidence_id: json.loads(raw)}), {})


def _sentences_of(clauses: Iterable[EvidenceClause]) -> list[EvidenceClause]:
    out: list[EvidenceClause] = []
    seen: set[tuple[str, int]] = set()
    for c in clauses:
        key = (c.source, c.span[0])
        if key in seen:
            continue
        seen.add(key)
        terms, denied, subject, timed = _read_text(c.sentence)
        out.append(
            EvidenceClause(
                c.source, c.sentence, c.sentence, terms, denied, c.label, subject, timed, c.span
            )
        )
    return out


def _clauses_of(
    sentences: Iterable[SourceSentence], texts: Mapping[str, str]
) -> list[EvidenceClause]:
    out: list[EvidenceClause] = []
    label, last = "", None
    for sentence in sentences:
        own = label_of(sentence.text)
        text = texts.get(sentence.source, "")
        same_item = (
            last is not None
            and last.source == sentence.source
            and "\n" not in text[last.end : sentence.start]
        )
        # the later sentences of a list item keep its label ("processed: … It can no
        # longer be changed.")
        label = own or (label if same_item else "")
        last = sentence
        alternatives, label_terms = _label_words(label)
        for text, terms, denied, subject, timed in _read_clauses(sentence.text):
            out.append(
                EvidenceClause(
                    sentence.source,
                    sentence.text,
                    text,
                    terms,
                    denied,
                    alternatives,
                    subject | label_terms,
                    timed,
                    (sentence.start, sentence.end),
                )
            )
    return out


# What a clause or a sentence of evidence says, read once per text: records of different
# customers share most of their lines (a status, a product's name, an option), and the
# retrieved passages recur from run to run. Only short texts are kept (as `content_terms`).
# A text's reading is (terms, negated, subject, timings); a clause's is led by its own text.
_READ = tuple[frozenset[str], bool, frozenset[str], tuple[Timing, ...]]
_CLAUSE = tuple[str, frozenset[str], bool, frozenset[str], tuple[Timing, ...]]
_KEPT_CHARS = 400


def _read(text: str) -> _READ:
    return (
        frozenset(content_terms(text)),
        negated(text),
        frozenset(subject_terms(text)),
        tuple(timings(text)),
    )


_read_kept = lru_cache(maxsize=8192)(_read)


def _read_text(text: str) -> _READ:
    return _read_kept(text) if len(text) <= _KEPT_CHARS else _read(text)


def _clauses_read(sentence: str) -> tuple[_CLAUSE, ...]:
    return tuple((c.text, *_read_text(c.text)) for c in clauses(sentence))


_clauses_kept = lru_cache(maxsize=8192)(_clauses_read)


def _read_clauses(sentence: str) -> tuple[_CLAUSE, ...]:
    """Each clause of an evidence sentence with what it says (see `_read`)."""
    return _clauses_kept(sentence) if len(sentence) <= _KEPT_CHARS else _clauses_read(sentence)


@lru_cache(maxsize=1024)
def _label_words(label: str) -> tuple[tuple[frozenset[str], ...], frozenset[str]]:
    """A list item's label as one word set per alternative ("Credit card or PayPal"), and all
    of its words."""
    alternatives = tuple(
        frozenset(content_terms(part))
        for part in re.split(r",|\bor\b|\band\b|/", label)
        if content_terms(part)
    )
    return alternatives, frozenset().union(*alternatives) if alternatives else frozenset()


def _term_index(pool: Sequence[EvidenceClause]) -> dict[str, list[int]]:
    """Term → positions of the units that use it, labels included."""
    index: dict[str, list[int]] = {}
    for n, c in enumerate(pool):
        for term in c.terms.union(*c.label):
            index.setdefault(term, []).append(n)
    return index
