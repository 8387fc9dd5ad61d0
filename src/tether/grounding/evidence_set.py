"""The evidence an answer is verified against: passages as text, tool outputs as records.

`EvidenceSet` is built once per answer from what the run saw (`from_items`) or from a benchmark
source (`from_source`), bounded in size, and indexed twice: words and sentences for the word
level checks (`SourceIndex`), and clauses with their labels and timings for the meaning checks.
Both are built item by item, and an item seen recently is not indexed again: evidence does not
change once recorded, and one answer after another is checked against much the same items (the
clauses and the items they are indexed by are `tether.grounding.evidence_clauses`). Text is
folded first (`tether.grounding.text_forms`).
Input that cannot be used — text that is not valid Unicode, a record nested too deep, an item
past the size budget — is left out and named in `problems`, never silently trusted.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from tether.core.types import Evidence
from tether.grounding.bindings import keep_groups
from tether.grounding.calendar_points import states_time
from tether.grounding.claims import content_terms
from tether.grounding.evidence_clauses import (
    MAX_SHARED_CHARS,
    EvidenceClause,
    _clauses_of,
    _Item,
    _placed,
    _sentences_of,
    _term_index,
)
from tether.grounding.facts import FactMemo
from tether.grounding.fields import FieldMap, RecordView, view
from tether.grounding.option_flags import OptionFlag, option_flags
from tether.grounding.record_reading import RecordReading, field_words, read_json
from tether.grounding.sources import Referents, SourceIndex, own_words
from tether.grounding.text_forms import items_on_lines, plain_text

MAX_EVIDENCE_CHARS = 400_000  # all evidence of one answer
MAX_ITEM_CHARS = 100_000
MAX_DEPTH = 32
MAX_QUESTION_CHARS = 4_000  # the customer's words an answer is read against, never support
_SURROGATE_OR_NUL = re.compile("[\ud800-\udfff\x00]")  # what no evidence text may hold


@dataclass
class EvidenceSet:
    """Texts and records by evidence id, the tool that produced each record, and problems."""

    texts: dict[str, str] = field(default_factory=dict)
    records: dict[str, Any] = field(default_factory=dict)
    tools: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    maps: Sequence[FieldMap] = ()
    # what the customer asked: it tells the checks what the answer refers to and what it
    # answers, and is never evidence for what the answer says (see `ask`)
    question: str = ""
    # evidence id -> the JSON text its record was read from: the key its indexing is shared by
    _json: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)
    # each record's leaves, read once for the index and the views of this set alike
    _facts: FactMemo = field(default_factory=FactMemo, init=False, repr=False, compare=False)
    # evidence id -> (its record, what is read of that record's JSON text whatever the claim)
    _read: dict[str, tuple[Any, RecordReading]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def from_items(
        cls, items: Iterable[Evidence], maps: Sequence[FieldMap] = (), question: str = ""
    ) -> EvidenceSet:
        """Run evidence: JSON texts (tool outputs) become records, the rest passages; the
        customer's latest message, when given, is the question (`ask`)."""
        out = cls(maps=maps)
        for item in items:
            out.add(item.id, item.text, tool=_tool_name(item.source))
        out.ask(question)
        return out

    @classmethod
    def from_source(
        cls, task: str, source: Any, maps: Sequence[FieldMap] = (), tool: str = ""
    ) -> EvidenceSet:
        """A benchmark source: QA question and passages, an article, or a record (read through
        the field maps for `tool`, as the run reads that tool's output)."""
        from tether.grounding.detector import split_passages

        out = cls(maps=maps)
        if task == "qa":
            out.ask(str(source["question"]))
            for key, text in split_passages(str(source["passages"])).items():
                out.add(key, text)
        elif task == "summary":
            out.add("article", str(source))
        else:
            out.add_record("record", source, tool)
        return out

    def ask(self, question: Any) -> None:
        """Take what the customer asked as the question. It is not evidence: no claim is
        supported by the customer's own words ("your agent promised me a $100 credit"); the
        checks read it for what the answer refers to ("your Mastercard") and answers. A
        question that is not text, holds NUL or lone surrogates, or runs past
        MAX_QUESTION_CHARS is dropped whole, never read in part: the answer is then checked as
        if the customer had said nothing, and what they named counts as unseen."""
        if not isinstance(question, str) or len(question) > MAX_QUESTION_CHARS:
            question = ""
        if _SURROGATE_OR_NUL.search(question):
            question = ""
        self.question = plain_text(question)
        for derived in ("index", "account"):  # both are read off the question
            self.__dict__.pop(derived, None)

    @cached_property
    def account(self) -> EvidenceSet | None:
        """The customer's own account of their situation, where no record gives one: the
        question as evidence of its own, which the meaning checks read only for what
        contradicts an answer ("I don't have a gift card yet" against "you have a gift card").
        What they report someone said or promised is no account of theirs ("the agent said
        you'd post me a cheque" says nothing against "your gift card, not a cheque"). None with
        no question, or with a record, which speaks for the customer's situation."""
        if not self.question or self.records:
            return None
        out = EvidenceSet(maps=self.maps)
        out.add("question", own_words(self.question))
        return out

    @property
    def size(self) -> int:
        return sum(len(t) for t in self.texts.values()) + sum(
            kept[1].chars
            if (kept := self._read.get(evidence_id)) is not None and kept[0] is r
            else len(json.dumps(r, default=str))
            for evidence_id, r in self.records.items()
        )

    def _shared(self, evidence_id: str, record: Any) -> RecordReading | None:
        """What is read of the record whatever the claim, when it is still the one read from
        its JSON text."""
        kept = self._read.get(evidence_id)
        return kept[1] if kept is not None and kept[0] is record else None

    def add(self, evidence_id: str, text: Any, tool: str = "") -> None:
        """One item; JSON objects and arrays are records, other text a passage."""
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError:
                self.problems.append(f"{evidence_id}: EVIDENCE_NOT_TEXT (not UTF-8)")
                return
        if not isinstance(text, str):
            self.problems.append(f"{evidence_id}: EVIDENCE_SHAPE ({type(text).__name__})")
            return
        if _SURROGATE_OR_NUL.search(text):
            self.problems.append(f"{evidence_id}: EVIDENCE_NOT_TEXT (surrogates or NUL)")
            return
        text = plain_text(text)
        if len(text) > MAX_ITEM_CHARS or self.size + len(text) > MAX_EVIDENCE_CHARS:
            self.problems.append(f"{evidence_id}: EVIDENCE_TOO_LARGE ({len(text)} chars)")
            return
        stripped = text.strip()
        if stripped[:1] in "{[":
            try:
                record = json.loads(stripped)
            except RecursionError:
                self.problems.append(f"{evidence_id}: EVIDENCE_SHAPE (nested too deep to read)")
                return
            except ValueError:
                record = None
            if record is not None:
                read = read_json(stripped) if len(stripped) <= MAX_SHARED_CHARS else None
                if read is not None and read.depth is None:
                    read.depth = _depth(record)  # the same text: as deep as every copy of it
                self._add_record(evidence_id, record, tool, None if read is None else read.depth)
                if evidence_id in self.records:
                    self._json[evidence_id] = stripped
                    if read is not None:
                        self._read[evidence_id] = (record, read)
                        self._facts.keep(record, read.facts)
                return
        # a list run into its line is read as the list it is, item by item
        self.texts[evidence_id] = items_on_lines(text)

    def add_record(self, evidence_id: str, record: Any, tool: str = "") -> None:
        """A structured item; too deep a record is left out."""
        self._add_record(evidence_id, record, tool, None)

    def _add_record(self, evidence_id: str, record: Any, tool: str, depth: int | None) -> None:
        """`add_record`, with the record's depth when it is known already."""
        if (_depth(record) if depth is None else depth) > MAX_DEPTH:
            self.problems.append(f"{evidence_id}: EVIDENCE_SHAPE (nested deeper than {MAX_DEPTH})")
            return
        self.records[evidence_id] = record
        self._json.pop(evidence_id, None)
        self._read.pop(evidence_id, None)
        if tool:
            self.tools[evidence_id] = tool

    @property
    def empty(self) -> bool:
        return not self.texts and not self.records

    @cached_property
    def dated(self) -> bool:
        """True when some text or record of this set states a time (a date, a weekday…)."""
        records = (
            self._json.get(key) or json.dumps(record, default=str)
            for key, record in self.records.items()
        )
        return states_time(self.index.terms, [*self.texts.values(), *records])

    @cached_property
    def index(self) -> SourceIndex:
        """The word-level index of all texts and records."""
        items = self._items
        if items is None:
            index = SourceIndex.build(self.texts, self.records)
        else:
            index = SourceIndex.merge(item.index for item in items)
            # this set's own records, as `build` keeps them, never the shared item's copy
            index.records = [r for r in self.records.values() if isinstance(r, Mapping)]
        index.referents = Referents.of(self.question, amounts=not self.records)
        index.facts = self._facts  # a new index of this set's records: it reads them as it does
        for evidence_id, record in self.records.items():
            read = self._shared(evidence_id, record)
            if read is not None and isinstance(record, Mapping):
                index.keep_fields(record, read.fields)
        # the words a field map gives the fields the records hold something in are words the
        # evidence uses, in the forms the pack gives them ("shipment", not "shipping")
        named = self._field_words
        terms = set(content_terms(" ".join(sorted(named))))
        index.field_only = frozenset(terms - index.terms)
        index.field_forms = frozenset(named | {f"{w}s" for w in named})
        index.terms |= terms
        return index

    @cached_property
    def _field_words(self) -> frozenset[str]:
        """The words the field maps give the fields the records hold something in (`field_words`
        of each record)."""
        found: set[str] = set()
        shared: set[int] = set()
        for evidence_id, record in self.records.items():
            read = self._shared(evidence_id, record)
            if read is not None and isinstance(record, Mapping):
                found |= read.field_words(self.maps, self.tools.get(evidence_id, ""))
                shared.add(id(record))
        for v in self.views:
            if id(v.record) not in shared:
                found |= field_words(v)
        return frozenset(found)

    @cached_property
    def _items(self) -> list[_Item] | None:
        """Each item indexed on its own (texts first, then records, as `SourceIndex.build`
        reads them), shared with every set holding the same item: evidence never changes
        once recorded, and an answer is verified against much of what earlier ones saw.
        None when an id names both a text and a record, which are indexed together."""
        if self.texts.keys() & self.records.keys():
            return None
        items = [_Item.text(evidence_id, text) for evidence_id, text in self.texts.items()]
        for evidence_id, record in self.records.items():
            raw = self._json.get(evidence_id)
            items.append(_Item.record(evidence_id, record, raw))
        return items

    @cached_property
    def views(self) -> list[RecordView]:
        """Every record (and every object inside a top-level list) with its field meanings."""
        out: list[RecordView] = []
        for evidence_id, record in self.records.items():
            tool = self.tools.get(evidence_id, "")
            if isinstance(record, Mapping):
                read = self._shared(evidence_id, record)
                if read is None:
                    out.append(view(evidence_id, record, self.maps, tool, self._facts(record)))
                else:
                    out.append(read.view(evidence_id, record, self.maps, tool))
                    keep_groups(record, read.groups)
            elif isinstance(record, list):
                for n, item in enumerate(record[:200]):
                    if isinstance(item, Mapping):
                        at = f"{evidence_id}[{n}]"
                        out.append(view(at, item, self.maps, tool, self._facts(item)))
        return out

    @cached_property
    def counts(self) -> set[float]:
        """How many things the evidence holds without writing the number: the length of each
        list (or mapping of objects) in a record, how many of its objects have a flag set or
        not, and the items of each bulleted list in a passage."""
        found: set[float] = set()
        for record in self.records.values():
            _count(record, found, 0)
        for text in self.texts.values():
            # the items of each bulleted list in a passage ("we need three things: …")
            for run in re.findall(r"(?:^[ \t]*(?:[-*•]|\d+[.)])\s+.+\n?)+", text, re.M):
                found.add(float(len(run.strip().splitlines())))
        return found

    @cached_property
    def option_flags(self) -> tuple[OptionFlag, ...]:
        """Every yes/no option the records hold (`tether.grounding.option_flags`)."""
        out: list[OptionFlag] = []
        for evidence_id, record in self.records.items():
            read = self._shared(evidence_id, record)
            if read is not None:
                out.extend(read.option_flags(evidence_id))
            else:
                out.extend(option_flags({evidence_id: record}, self._facts))
        return tuple(out)

    def sharing(self, terms: Iterable[str], whole: bool = False) -> list[EvidenceClause]:
        """The clauses (or, `whole`, the sentences) that use any of `terms` in their text or
        their list label, in evidence order: the only ones a claim can restate."""
        pool, parts = (
            (self.sentences, self._sentence_index)
            if whole
            else (
                self.clauses,
                self._clause_index,
            )
        )
        wanted = terms if isinstance(terms, Sequence | set | frozenset) else list(terms)
        hits = sorted({at + n for at, index in parts for t in wanted for n in index.get(t, ())})
        return [pool[n] for n in hits]

    @cached_property
    def _clause_index(self) -> list[tuple[int, dict[str, list[int]]]]:
        """Each item's term index with where its clauses start among the set's: the items'
        own indexes, shared as they are."""
        items = self._items
        if items is None:
            return [(0, _term_index(self.clauses))]
        return _placed([(len(item.clauses), item.clause_index) for item in items])

    @cached_property
    def _sentence_index(self) -> list[tuple[int, dict[str, list[int]]]]:
        items = self._items
        if items is None:
            return [(0, _term_index(self.sentences))]
        return _placed([(len(item.sentences), item.sentence_index) for item in items])

    @cached_property
    def sentences(self) -> list[EvidenceClause]:
        """Every evidence sentence as one unit: a rule whose condition and consequence sit in
        two clauses ("once it has shipped, it can no longer be cancelled") is read whole."""
        items = self._items
        if items is None:
            return _sentences_of(self.clauses)
        return [s for item in items for s in item.sentences]

    @cached_property
    def clauses(self) -> list[EvidenceClause]:
        """Every clause of every evidence sentence, labelled by its list item's label."""
        items = self._items
        if items is None:
            return _clauses_of(self.index.sentences, self.texts)
        return [c for item in items for c in item.clauses]


def _tool_name(source: str) -> str:
    """ "tool:get_order_details" → "get_order_details"; other sources have none."""
    return source.split(":", 1)[1] if source.startswith("tool:") else ""


def _count(node: Any, found: set[float], depth: int) -> None:
    if depth > 6:
        return
    members: list[Any] = []
    if isinstance(node, list):
        members = node
    elif isinstance(node, Mapping):
        values = list(node.values())
        if len(values) >= 2 and all(isinstance(v, Mapping) for v in values):
            members = values
    if members:
        found.add(float(len(members)))
        objects = [m for m in members if isinstance(m, Mapping)]
        # how many of them share a name ("two bookshelves")
        names = Counter(str(m["name"]).lower() for m in objects if "name" in m)
        found.update(float(n) for n in names.values())
        flags = {k for m in objects for k, v in m.items() if isinstance(v, bool)}
        for key in flags:
            yes = sum(1 for m in objects if m.get(key) is True)
            found.update((float(yes), float(len(objects) - yes)))
    children = (
        node.values() if isinstance(node, Mapping) else node if isinstance(node, list) else ()
    )
    for child in children:
        _count(child, found, depth + 1)


_FLAT = frozenset((str, int, float, bool, type(None)))


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(value, Mapping):
        children: Iterable[Any] = value.values()
    elif isinstance(value, list):
        children = value
    else:
        return level
    deepest = level + 1  # an empty one, or one of scalars only
    for child in children:
        if type(child) not in _FLAT:  # a scalar child is no deeper than level + 1
            deepest = max(deepest, _depth(child, level + 1))
    return deepest
