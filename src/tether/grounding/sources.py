"""Evidence as something claims can be checked against: its words, numbers, names and records.

A `SourceIndex` is built once per set of evidence (passages, tool outputs, records) and read by
every claim of an answer: which content words, word pairs, quantities, clock times and names
the evidence states, its sentences for alignment, and its structured records for attribute and
schedule checks.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import combinations, pairwise
from typing import Any

from tether.grounding.arithmetic import money, sentence_results
from tether.grounding.claims import (
    clock_times,
    content_terms,
    is_negated,
    joined_letters,
    names,
    norm,
    number_matches,
    numbers,
    split_claims,
    words,
)
from tether.grounding.facts import (
    Fact,
    FactMemo,
    ValueFields,
    key_words,
    leaves,
    value_fields,
)
from tether.grounding.places import state_name
from tether.grounding.schedule import Schedule, find_schedule


@dataclass(frozen=True)
class SourceSentence:
    """One sentence of the evidence, where it came from, and its content words."""

    source: str  # the evidence id
    start: int
    end: int
    text: str
    terms: frozenset[str]

    @cached_property
    def negated(self) -> bool:
        """Whether the sentence holds a negation: read once, however many claims it aligns
        with (a long evidence text without a sentence break is one sentence)."""
        return is_negated(self.text)


@dataclass
class SourceIndex:
    """What a set of evidence states, in the forms claims are compared in."""

    texts: dict[str, str] = field(default_factory=dict)
    records: list[Mapping[str, Any]] = field(default_factory=list)
    terms: set[str] = field(default_factory=set)
    pairs: set[tuple[str, str]] = field(default_factory=set)
    quantities: set[float] = field(default_factory=set)
    # sums and differences of the amounts one sentence states, which an answer may work out
    results: set[float] = field(default_factory=set)
    # how many members the evidence's lists hold: a record's lists, a passage's bullet runs
    # ("the three items", "three things")
    counts: set[float] = field(default_factory=set)
    times: set[int] = field(default_factory=set)
    proper: set[str] = field(default_factory=set)
    # what the customer's question names and the amounts it states: never support
    referents: Referents = field(default_factory=lambda: Referents())
    lowered: set[str] = field(default_factory=set)  # every word, lower case, unstemmed
    # the terms only a domain's field words give ("ship" of "shipment"), and those words as
    # written, with their plurals: a term of them is the evidence's in those forms alone
    field_only: frozenset[str] = frozenset()
    field_forms: frozenset[str] = frozenset()
    # the number an id made of words ends in, with those words ("gift card" of
    # "gift_card_9105630"): how the id is read out
    id_numbers: dict[float, set[str]] = field(default_factory=dict)
    by_source: dict[str, set[str]] = field(default_factory=dict)  # content words per evidence id
    sentences: list[SourceSentence] = field(default_factory=list)
    schedule: Schedule | bool | None = False
    record_text: str = ""
    # each record's leaves, read once; an evidence set shares its own with its index
    facts: FactMemo = field(default_factory=FactMemo, repr=False, compare=False)
    # id(record) -> (record, what `check_values` reads of it): every claim reads the same
    _fields: dict[int, tuple[Any, ValueFields]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def value_fields(self, record: Mapping[str, Any]) -> ValueFields:
        """What `check_values` reads of one of the records, worked out once per index."""
        kept = self._fields.get(id(record))
        if kept is None or kept[0] is not record:
            kept = (record, value_fields(self.facts(record)))
            self._fields[id(record)] = kept
        return kept[1]

    def keep_fields(self, record: Mapping[str, Any], fields: ValueFields) -> None:
        """Take `fields` as the record's `value_fields`: read already off a record equal to it."""
        self._fields[id(record)] = (record, fields)

    @classmethod
    def build(
        cls, texts: Mapping[str, str] | None = None, records: Mapping[str, Any] | None = None
    ) -> SourceIndex:
        """Index free texts and structured records, each keyed by its evidence id.

        A record's string values count as its text (a review, a name, an address); its keys
        and other values are judged by the attribute and schedule checks, not by word overlap.
        """
        index = cls()
        for source_id, text in (texts or {}).items():
            index._add_text(source_id, text)
        for source_id, record in (records or {}).items():
            index._add_record(source_id, record)
        return index

    @classmethod
    def merge(cls, parts: Iterable[SourceIndex]) -> SourceIndex:
        """One index of several, as `build` makes it of their evidence together (the parts in
        order, each of other evidence ids). The parts are only read, so one may be shared."""
        index = cls()
        for part in parts:
            index.texts.update(part.texts)
            index.records.extend(part.records)
            index.terms |= part.terms
            index.pairs |= part.pairs
            index.quantities |= part.quantities
            index.results |= part.results
            index.counts |= part.counts
            index.times |= part.times
            index.proper |= part.proper
            index.lowered |= part.lowered
            for number, heads in part.id_numbers.items():
                index.id_numbers.setdefault(number, set()).update(heads)
            for source_id, terms in part.by_source.items():
                index.by_source.setdefault(source_id, set()).update(terms)
            index.sentences.extend(part.sentences)
            if index.schedule is False:
                index.schedule = part.schedule
            index.record_text += part.record_text
        return index

    def _add_text(self, source_id: str, text: str) -> None:
        self.texts[source_id] = text
        self.counts.update(
            float(len(run.group(0).strip().splitlines())) for run in BULLET_RUNS.finditer(text)
        )
        terms = content_terms(text)
        self.terms.update(terms)
        self.by_source.setdefault(source_id, set()).update(terms)
        self.pairs.update(pairwise(terms))
        self.quantities.update(numbers(text))
        self.times.update(clock_times(text))
        self.proper.update(names(text))
        self.proper.update(terms)
        self.lowered.update(w.lower() for w in words(text))
        for claim in split_claims(text):
            self.results |= sentence_results(claim.text)
            self.sentences.append(
                SourceSentence(
                    source_id,
                    claim.start,
                    claim.end,
                    claim.text,
                    frozenset(content_terms(claim.text)),
                )
            )

    def _add_record(self, source_id: str, record: Any) -> None:
        if isinstance(record, Mapping):
            self.records.append(record)
            if self.schedule is False:
                self.schedule = find_schedule(record)
        values: list[str] = []
        keys: set[str] = set()
        facts = leaves(record)  # read once: the values, the keys and the clock spans
        for fact in facts:
            keys.update(k for k in fact.path if not k.isdigit())
            if isinstance(fact.value, str):
                values.append(fact.value)
                # a state's code is read out as its name: "NC" is North Carolina
                if (named := state_name(fact.path[-1], fact.value)) is not None:
                    values.append(named)
            elif isinstance(fact.value, int | float) and not isinstance(fact.value, bool):
                self.quantities.add(float(fact.value))
        text = "\n".join(values)
        self.record_text += text + "\n"
        self._add_text(source_id, text)
        # every word of a value is one the record names, a line's first ("M" of a size) too
        self.proper.update(norm(w) for value in values for w in words(value))
        # key words ("OutdoorSeating" → outdoor, seating) are known words, not known facts
        spelled = " ".join(" ".join([*key_words(k), k.lower()]) for k in sorted(keys))
        key_terms = content_terms(spelled)
        self.terms.update(key_terms)
        self.proper.update(key_terms)
        self.by_source[source_id].update(key_terms)
        self.times.update(_span_edges(facts))
        dumped = json.dumps(record, default=str)
        self.quantities.update(numbers(dumped))
        # an id is read out as its words and its number, in a key or a value alike
        for head, digits in _ID_DIGITS.findall(dumped):
            self.id_numbers.setdefault(float(digits), set()).add(head.replace("_", " ").lower())
        self.counts.update(list_counts(record))

    def ids_read_out(self, text: str) -> set[float]:
        """The numbers of the evidence's ids that `text` reads out as each id is: its words, or
        the last of them, then its number ("gift card 9105630", "card 9105630" of
        "gift_card_9105630"). Read once per text, however many numbers it states."""
        lowered = " ".join(text.lower().split())
        out: set[float] = set()
        for value, heads in self.id_numbers.items():
            number = f"{value:.0f}"
            if number not in lowered:
                continue
            forms = {f for h in heads for f in (h, h.rsplit(" ", 1)[-1])}
            if any(
                re.search(rf"\b{re.escape(f)}\s*(?:#|no\.?|number)?\s*{number}\b", lowered)
                for f in forms
            ):
                out.add(value)
        return out

    def knows_count(self, value: float) -> bool:
        """True when `value` is how many members one of the evidence's lists holds (a small
        whole number). How many of them hold a value is not: a wrong count of those is caught
        by nothing else."""
        return value.is_integer() and 0 < value <= _MOST_COUNTED and value in self.counts

    def knows_number(self, value: float) -> bool:
        """True when the evidence states this quantity (allowing rounding)."""
        return number_matches(value, self.quantities)

    def align(self, terms: Iterable[str], limit: int = 1) -> list[tuple[float, SourceSentence]]:
        """The evidence sentences sharing most of `terms`, best first, scored by coverage."""
        wanted = set(terms)
        if not wanted:
            return []
        scored = [
            (len(wanted & s.terms) / len(wanted), s) for s in self.sentences if wanted & s.terms
        ]
        scored.sort(key=lambda pair: -pair[0])
        return scored[:limit]


# an id made of words and a number joined by "_" ("gift_card_9105630"): its words, its number
_ID_DIGITS = re.compile(r"\"([A-Za-z]+(?:_[A-Za-z]+)*)_(\d{3,})\"")
# a run of list items, one per line ("- the order id", "2. the items")
BULLET_RUNS = re.compile(r"(?:^[ \t]*(?:[-*\u2022]|\d+[.)])\s+.+\n?)+", re.MULTILINE)
_MOST_COUNTED = 50  # counts above this are amounts, not members counted in words


def list_counts(record: Any) -> set[float]:
    """How many members each list of a record holds, and each object of like objects (a
    product's variants, an account's payment methods): "the three items", "the two cards"."""
    out: set[float] = set()
    stack = [record]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            members: list[Any] = node
        elif isinstance(node, Mapping):
            members = list(node.values())
        else:
            continue
        stack.extend(members)
        if isinstance(node, list) or (members and all(isinstance(m, Mapping) for m in members)):
            out.add(float(len(members)))
    return out


def _span_edges(facts: Iterable[Fact]) -> set[int]:
    """Clock times written as "H:M-H:M" spans anywhere in a record (its leaves)."""
    found: set[int] = set()
    for fact in facts:
        if isinstance(fact.value, str) and "-" in fact.value and ":" in fact.value:
            for part in fact.value.split("-"):
                hour, _, minute = part.strip().partition(":")
                if hour.isdecimal() and minute.isdecimal():
                    found.add((int(hour) % 24) * 60 + int(minute))
    return found


# a word for the things the customer reports others said ("the three claims", "both ideas")
_REPORT_NOUN = re.compile(
    r"\b(?:claims|points|ideas|suggestions|takes|views|answers|tips|opinions|theories)\b", re.I
)
_OTHER_COUNT = re.compile(r"\bthe\s+other\s+(two|three|four|five|six|\d)\b", re.IGNORECASE)
# what someone is reported to have said, promised or written, to the end of its clause and of
# what hangs on it (", as …", ", and that …", ", but that …"): "(your agent) promised me a $100
# credit for the delay", "(I) read online that only pending orders can be exchanged(, but …)"
_REPORTED = re.compile(
    r"\b(?:promis\w*|told|said|says|saying|claim\w*|assur\w*|guarantee\w*|offered|heard|read|"
    r"according|supposed(?:ly)?|mentioned|stated|informed|assum\w*|thought|believ\w*|"
    r"swears?|swore|reckons?|insists?|insisted)\b.*?"
    r"(?=[,;:](?!\s+(?:(?:and|but)\s+)?(?:that|as|because|since|which|who)\b)|[.?!](?:\s|$)|"
    r"\s+but\s(?!that\b)|$)",
    re.IGNORECASE | re.DOTALL,
)


# where the sentence holding a report begins: its subject is what comes before the report
_SENTENCE_START = re.compile(r"[.?!]\s", re.IGNORECASE)


def _lead_ins(question: str, reports: Sequence[re.Match[str]]) -> list[str]:
    """The words of each report's sentence before its verb ("My nephew, who used to work in a
    shop, says …"; "A forum thread claims …"), where who said it is named. The question's
    sentence starts are read once for all its reports."""
    starts = [0, *(m.end() for m in _SENTENCE_START.finditer(question))]
    out = []
    for report in reports:
        at = report.start()
        out.append(question[starts[bisect_right(starts, at) - 1] : at])
    return out


def own_words(question: str) -> str:
    """The question without what it reports someone said or promised: the customer's own
    account ("I paid with PayPal"), not what they were told ("the agent said you'd post me a
    cheque")."""
    return _REPORTED.sub(" ", question)


# ("a half size up" is a size too)
_SIZE = re.compile(r"\bsize\s+(\d{1,2}(?:\.5)?)\b|\bhalf\s+(?:a\s+)?size\b", re.IGNORECASE)
# the most amounts of a question whose sums and differences are worked out
_PAIRED_AMOUNTS = 12


@dataclass(frozen=True)
class Referents:
    """What the customer's question names and the amounts it states (with the sums and
    differences of any two): an answer may refer to them ("your Mastercard", "the $15
    difference") without their counting as unseen. They support no claim: what the answer
    says of them is checked against the evidence alone. What the question reports someone
    said or promised gives none, but may be named in declining it (`heard`, `heard_amounts`)."""

    names: frozenset[str] = frozenset()  # capitalised names ("Mastercard", "Amex")
    words: frozenset[str] = frozenset()  # every content word, names among them
    numbers: frozenset[float] = frozenset()
    heard_amounts: frozenset[float] = frozenset()  # the amounts of what someone is reported to say
    heard: frozenset[str] = frozenset()  # the words of what someone is reported to say
    # the words naming who is reported to say it ("my nephew", "a forum thread", "the bot")
    reporters: frozenset[str] = frozenset()
    reports: int = 0  # how many things the customer reports others said

    @classmethod
    def of(cls, question: str, amounts: bool = True) -> Referents:
        """The referents of a question. What it reports someone said or promised ("your
        agent promised me a $100 credit", "I was told refunds are instant") gives none: that
        is the claim an answer repeating it must ground. Without `amounts` the question's
        numbers are left out: where a record is, it says what the customer's amounts are."""
        if not question:
            return cls()
        found = list(_REPORTED.finditer(question))
        reported = " ".join(m.group(0) for m in found)
        reporters = frozenset(t for lead in _lead_ins(question, found) for t in content_terms(lead))
        own = own_words(question)
        named = set(names(own))
        said = named | set(content_terms(own)) | set(content_terms(joined_letters(own)))
        stated = set(numbers(own))
        # a size the question names, in a report too ("… and buy the size 10 separately"), is
        # the thing the customer is after, no amount or timing anyone promised
        stated.update(float(m.group(1) or 0.5) for m in _SIZE.finditer(question))
        for claim in split_claims(own):
            stated |= sentence_results(claim.text)
        paid = money(own)[:_PAIRED_AMOUNTS]
        stated.update(a + b for a, b in combinations(paid, 2))
        stated.update(abs(a - b) for a, b in combinations(paid, 2))
        heard = frozenset(content_terms(reported)) if reported else frozenset()
        if not amounts:
            return cls(
                frozenset(named),
                frozenset(said),
                heard=heard,
                reporters=reporters,
                reports=len(found),
            )
        amounts_heard = frozenset(numbers(reported)) if reported else frozenset()
        return cls(
            frozenset(named),
            frozenset(said),
            frozenset(stated),
            amounts_heard,
            heard,
            reporters,
            len(found),
        )

    def counted_reports(self, text: str) -> set[float]:
        """The counts of the customer's reports an answer gives ("of the three claims, only
        your mom's holds up", "the other three don't"): how many there are, said with a word
        for them, or how many are left after some ("the other three")."""
        if self.reports < 2:
            return set()
        out: set[float] = set()
        if _REPORT_NOUN.search(text):
            out.add(float(self.reports))
        for m in _OTHER_COUNT.finditer(text):
            said = numbers(m.group(1))
            if said and said[0] < self.reports:
                out.add(said[0])
        return out

    def number(self, value: float) -> bool:
        """True when the question states this amount (allowing rounding)."""
        return bool(self.numbers) and number_matches(value, self.numbers)
