"""Structured evidence as facts: flattening JSON, and checking what a claim says about an attribute.

A tool output or a record is a tree of keys; each leaf is a fact (`path` → value). A claim that
names an attribute ("offers outdoor seating", "no reservations") asserts it positively or
negatively; against the fact's value that assertion is supported, contradicted or unsupported
(the record has no value for it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

Scalar = str | int | float | bool | None

SUPPORTED, CONTRADICTED, UNSUPPORTED = "supported", "contradicted", "unsupported"


@dataclass(frozen=True)
class Finding:
    """One thing a meaning check found: contradicted, unsupported or supported, and where."""

    kind: str  # polarity | swap | timing | status | count | flag | value
    status: str  # supported | contradicted | unsupported
    reason: str
    where: str  # evidence id, or "evidence id:field path"
    quote: str = ""  # the evidence sentence that decided it
    span: tuple[int, int] | None = None  # where that sentence sits in its evidence item


_CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_BOUNDARY = re.compile(
    r"[;:()]|\s[-\u2013\u2014]\s|\b(?:but|however|although|though|whereas|yet|except|while|despite|"
    r"which|who)\b|,\s*(?=(?:it|they|he|she|there|the|this|these|its|their|and|with|guests|"
    r"customers|visitors|diners|patrons)\b)|\band\s+(?=(?:has|have|is|are|was|were|offers?|"
    r"provides?|does|do|can|allows?|features?|it|its|they|their|there|the)\b)",
    re.IGNORECASE,
)
_NEGATIVE = re.compile(
    r"\b(?:not|no|never|none|without|lacks?|lacking|nor|neither|unavailable|absence)\b|n[\u2019']t\b",
    re.IGNORECASE,
)
_NEGATIVE_AFTER = re.compile(
    r"\b(?:is|are|was|were)\s+not\b|\b(?:is|are|was|were)n[\u2019']t\b|\bunavailable\b|"
    r"\bnot\s+(?:available|offered|provided|included|allowed|an option)\b",
    re.IGNORECASE,
)
_UNKNOWN_CUE = re.compile(
    r"(?:\bnot|n[\u2019']t|\bno)\s+(?:\w+\s+){0,3}(?:mention|specif|information|data\b|details?\b|"
    r"indicat)|\b(?:unknown|unclear|unspecified)\b|(?:\bnot|n[\u2019']t|\bno)\b[^.]{0,60}\binformation\b|"
    r"\binformation\b[^.]{0,60}\bnot (?:available|provided|given|mentioned|specified)",
    re.IGNORECASE,
)
_TRUE_WORDS = frozenset(
    ("true", "yes", "free", "paid", "full_bar", "beer_and_wine", "loud", "average", "quiet")
)
_FALSE_WORDS = frozenset(("false", "no", "none"))


@dataclass(frozen=True)
class Fact:
    """One leaf of a structured record: the keys leading to it, and its value."""

    path: tuple[str, ...]
    value: Scalar

    @property
    def key(self) -> str:
        """The dotted path, e.g. ``attributes.BusinessParking.street``."""
        return ".".join(self.path)

    def to_dict(self) -> dict[str, Any]:
        """The fact as JSON-ready data."""
        return {"path": self.key, "value": self.value}


def flatten(obj: Any, prefix: tuple[str, ...] = ()) -> Iterator[Fact]:
    """Every leaf of a JSON value; list items are keyed by their index."""
    return iter(leaves(obj, prefix))


def leaves(obj: Any, prefix: tuple[str, ...] = ()) -> list[Fact]:
    """Every leaf of a JSON value, in `flatten`'s order, as one list."""
    out: list[Fact] = []
    _collect(obj, prefix, out)
    return out


class FactMemo:
    """Each record's leaves, read once and kept by the record's identity: for records that do
    not change while kept (the evidence of one verification)."""

    def __init__(self) -> None:
        self._kept: dict[int, tuple[Any, tuple[Fact, ...]]] = {}

    def __call__(self, record: Any) -> tuple[Fact, ...]:
        kept = self._kept.get(id(record))
        if kept is None or kept[0] is not record:
            kept = (record, tuple(leaves(record)))
            self._kept[id(record)] = kept
        return kept[1]

    def keep(self, record: Any, facts: tuple[Fact, ...]) -> None:
        """Take `facts` as the record's leaves: read already off a record equal to it."""
        self._kept[id(record)] = (record, facts)


_SCALARS = frozenset((str, int, float, bool, type(None)))


def _collect(obj: Any, prefix: tuple[str, ...], out: list[Fact]) -> None:
    kind = type(obj)
    # JSON's own types first, by exact type: the isinstance chain below is the slow path
    if kind in _SCALARS:
        out.append(Fact(prefix, obj))
    elif kind is dict or (kind is not list and isinstance(obj, Mapping)):
        if not obj and prefix:
            out.append(Fact(prefix, None))
        for key, value in obj.items():
            _collect(value, (*prefix, str(key)), out)
    elif kind is list or isinstance(obj, list | tuple):
        for index, value in enumerate(obj):
            _collect(value, (*prefix, str(index)), out)
    elif isinstance(obj, str | int | float | bool):
        out.append(Fact(prefix, obj))
    else:
        out.append(Fact(prefix, str(obj)))


def key_words(key: str) -> list[str]:
    """A key's words: ``OutdoorSeating`` → outdoor, seating; ``payment_method_id`` → payment…"""
    return list(_key_words(key))


_KEY_PARTS = re.compile(r"[_\W]+")


@lru_cache(maxsize=4096)
def _key_words(key: str) -> tuple[str, ...]:
    # records repeat their keys: each key is read into words once
    return tuple(w.lower() for part in _KEY_PARTS.split(key) for w in _CAMEL.findall(part))


def truth(value: Any) -> bool | None:
    """What a value says about whether an attribute holds: True, False, or None (unknown)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value > 0
    if isinstance(value, Mapping):
        found = [truth(v) for v in value.values()]
        known = [t for t in found if t is not None]
        return any(known) if known else None
    text = str(value).strip().strip("'\"").lower()
    if text.startswith("u'") or text.startswith('u"'):
        text = text[2:].strip("'\"")
    if text in _FALSE_WORDS:
        return False
    if text in _TRUE_WORDS or text:
        return True
    return None


@dataclass(frozen=True)
class Topic:
    """An attribute a claim can talk about: where its value sits, and the words that name it."""

    path: tuple[str, ...]  # keys below the record's root; the last must exist to be known
    pattern: re.Pattern[str]
    parent: bool = False  # a group (e.g. all parking kinds): holds if any member holds


def _topic(path: str, pattern: str, parent: bool = False) -> Topic:
    return Topic(tuple(path.split(".")), re.compile(pattern, re.IGNORECASE), parent)


# Business-listing attributes (the Yelp-style records of the RAGTruth data-to-text task).
_PLACE = r"(?:atmosphere|ambi[ae]nce|vibes?|setting|environment|feel|decor|dining|spot|eatery|restaurant|place|bar|cafe|experience|space)"


def _ambience(word: str) -> Topic:
    # an ambience word counts when it describes the place, not "a casual appearance"
    pattern = (
        rf"\b(?P<m>{word})\b(?=(?:[\s,]+(?:and|or|yet|but)?\s*\w+){{0,3}}[\s,]+{_PLACE}\b)"
        rf"|{_PLACE}\b[^.;]{{0,40}}\b(?P<n>{word})\b"
    )
    return _topic(f"attributes.Ambience.{word}", pattern)


LISTING_TOPICS: tuple[Topic, ...] = (
    _topic("attributes.BusinessParking.street", r"\bstreet(?:[- ]side)?\s+parking|park\w* on the street|park\w*[^.]{0,30}\b(?P<m>street)\b"),
    _topic("attributes.BusinessParking.garage", r"\bgarages?\b(?! doors?)"),
    _topic("attributes.BusinessParking.validated", r"\bvalidat\w*"),
    _topic("attributes.BusinessParking.valet", r"\bvalet\b"),
    _topic("attributes.BusinessParking.lot", r"\bparking lots?\b|(?<!\ba )\blots?\b(?! of)"),
    _topic("attributes.BusinessParking", r"\bpark(?:ing)?\b", parent=True),
    _topic("attributes.OutdoorSeating", r"\boutdoors?\b|\bpatio\b|\boutside (?:seating|dining|tables?)|al fresco"),
    _topic("attributes.RestaurantsReservations", r"\breserv(?:ation|e)s?\b|\bbook(?:ing)? a table"),
    _topic("attributes.WiFi", r"\bwi-?fi\b|\bwireless\b|\binternet\b"),
    _topic("attributes.RestaurantsTakeOut", r"\btake[- ]?outs?\b|\bto-go\b|\bto go (?:orders?|options?|service)|\btake[- ]?away\b|\bcarry[- ]?out\b"),
    _topic("attributes.RestaurantsGoodForGroups", r"\b(?:large |big )?groups\b|good for (?:a )?group|\bgroup[- ](?:dining|outings?|gatherings?|events?|settings?|friendly)|large parties"),
    _topic("attributes.Music", r"\bmusic\b|\bdj\b|\blive band"),
    _topic("attributes.RestaurantsDelivery", r"\bdelivery\b|\bdelivers? (?:food|orders|meals)"),
    _topic("attributes.HasTV", r"\btvs?\b|\btelevisions?\b"),
    _topic("attributes.GoodForKids", r"\bkid[- ]friendly|\bfor (?:kids|children|families)\b|family[- ]friendly"),
    _topic("attributes.DogsAllowed", r"dog[- ]friendly|pet[- ]friendly|dogs (?:are )?(?:allowed|welcome)|allows? dogs"),
    _topic("attributes.WheelchairAccessible", r"\bwheelchair"),
    _topic("attributes.HappyHour", r"\bhappy hour"),
    _topic("attributes.Caters", r"\bcatering (?:services?|options?|menu)|\boffers? catering"),
    *(_ambience(word) for word in ("romantic", "intimate", "classy", "hipster", "trendy", "casual")),
    _topic("attributes.Ambience.upscale", r"\bup-?scale\b"),
    _topic("attributes.Ambience.touristy", r"\btouristy\b|\btourist (?:spot|trap|destination|attraction)"),
    _topic("attributes.Ambience.divey", r"\bdivey\b|\bdive bar\b"),
)  # fmt: skip


@dataclass(frozen=True)
class AttributeFinding:
    """What one claim clause says about one attribute, and how the record's value judges it."""

    key: str
    phrase: str
    asserted: bool  # False when the clause negates it ("no outdoor seating")
    value: Any
    status: str  # supported | contradicted | unsupported

    def to_dict(self) -> dict[str, Any]:
        """The finding as JSON-ready data."""
        return {
            "key": self.key,
            "phrase": self.phrase,
            "asserted": self.asserted,
            "value": self.value,
            "status": self.status,
        }


_MISSING = object()


def lookup(record: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """The value at `path`, or `_MISSING` when a key on the way is absent."""
    node: Any = record
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return _MISSING
        node = node[key]
    return node


def scope(text: str, start: int, end: int) -> tuple[int, int]:
    """The clause around text[start:end]: from the last boundary before it to the next after."""
    left, right = 0, len(text)
    for match in _BOUNDARY.finditer(text):
        if match.start() >= end and match.group(0).startswith(","):
            continue  # a list goes on after a comma: "garage, street and valet are not"
        if match.end() <= start:
            left = match.end()
        elif match.start() >= end:
            right = match.start()
            break
    return left, right


def polarity(text: str, start: int, end: int) -> tuple[bool, bool]:
    """(negated, about-knowledge) for the mention text[start:end], read within its clause.

    About-knowledge means the clause says the data is silent ("no information about parking").
    """
    left, right = scope(text, start, end)
    before, after = text[left:start], text[end:right]
    negated = bool(_NEGATIVE.search(before) or _NEGATIVE_AFTER.search(after))
    meta = bool(_UNKNOWN_CUE.search(text[left:right]))
    return negated, meta


def _core(found: re.Match[str]) -> tuple[int, int]:
    """The span of the attribute word itself, without the context the pattern needed."""
    for name in ("m", "n"):
        if name in found.re.groupindex and found.group(name) is not None:
            return found.span(name)
    return found.span()


def check_attributes(
    text: str,
    record: Mapping[str, Any],
    topics: tuple[Topic, ...] = LISTING_TOPICS,
    source_text: str = "",
) -> list[AttributeFinding]:
    """Judge every attribute the claim names against the record.

    A topic counts only if the record holds the group it belongs to (a claim about "delivery"
    when the record lists other attributes but not delivery is unsupported). A group topic
    ("parking") is skipped when a member topic ("street parking") matched the same claim. An
    attribute without a value is not judged unsupported when `source_text` (the record's free
    text, e.g. reviews) uses the same phrase: the text, not the attribute, supports it then.
    """
    findings: list[AttributeFinding] = []
    matched_groups: set[tuple[str, ...]] = set()
    lowered = source_text.lower()
    for topic in topics:
        for found in topic.pattern.finditer(text):
            if topic.parent and topic.path in matched_groups:
                break
            if lookup(record, topic.path[:-1]) is _MISSING:
                break
            matched_groups.add(topic.path[:-1])
            value = lookup(record, topic.path)
            known = None if value is _MISSING else truth(value)
            if known is None and found.group(0).lower() in lowered:
                continue
            negated, meta = polarity(text, *_core(found))
            findings.append(
                AttributeFinding(
                    ".".join(topic.path),
                    found.group(0),
                    not negated,
                    None if value is _MISSING else value,
                    _judge(known, negated, meta),
                )
            )
    return findings


def _judge(known: bool | None, negative: bool, meta: bool) -> str:
    if meta:
        # "the data does not mention X" is right exactly when the record has no value for X
        return SUPPORTED if known is None else CONTRADICTED
    if known is None:
        return UNSUPPORTED
    return SUPPORTED if known is not negative else CONTRADICTED


_SHORT_VALUE = re.compile(r"^[\w][\w ()'-]{0,40}$")


@lru_cache(maxsize=4096)
def value_pattern(value: str) -> str:
    """A regex for a record value as prose writes it: a space or a hyphen between its words
    stands for either ("hard cover" is said "hard-cover"), and it is a whole word."""
    parts = [re.escape(p) for p in re.split(r"[\s-]+", value.lower()) if p]
    return r"(?<![\w-])" + r"[\s-]+".join(parts) + r"(?![\w-])"


@lru_cache(maxsize=4096)
def value_regex(value: str) -> re.Pattern[str]:
    """`value_pattern`, compiled."""
    return re.compile(value_pattern(value))


def _qualified(before: str, values: Sequence[str]) -> bool:
    """True when a field's name follows one of the record's values ("the light-oak base is
    available"): the words name an object by its value, they do not state the field."""
    tail = before.lower().rstrip()
    return any(re.search(value_pattern(v) + r"$", tail) for v in values)


@lru_cache(maxsize=1024)
def _stated_pattern(name: str) -> re.Pattern[str]:
    return re.compile(
        rf"\b{re.escape(name)}\b(?:\s+of\s+[^.,;:]{{0,30}}?)?\s*(?:is|was|:|shows|reads|remains)"
        r"\s+(?:now\s+|still\s+)?"
        r"[\"'“]?([a-z][\w ()-]{0,40})",
        re.IGNORECASE,
    )


@dataclass(frozen=True)
class ValueFields:
    """What `check_values` reads of one record, whatever the claim: its short string fields
    (key, the field's name in words, value), and every short string value it holds."""

    fields: tuple[tuple[str, str, str], ...]
    facts: tuple[Fact, ...]

    @cached_property
    def values(self) -> tuple[str, ...]:
        """The record's short string values (read only once a "<key> is" is found)."""
        return tuple(
            v
            for v in {f.value.strip() for f in self.facts if isinstance(f.value, str)}
            if len(v) > 1 and _SHORT_VALUE.match(v) and not v.isdigit()
        )


def value_fields(facts: Sequence[Fact]) -> ValueFields:
    """A record's `ValueFields`, read off its flattened facts."""
    fields: list[tuple[str, str, str]] = []
    for fact in facts:
        if not isinstance(fact.value, str) or not fact.path or fact.path[-1].isdigit():
            continue
        value = fact.value.strip()
        name = " ".join(key_words(fact.path[-1]))
        if not name or not _SHORT_VALUE.match(value) or value.isdigit():
            continue
        fields.append((fact.key, name, value))
    return ValueFields(tuple(fields), tuple(facts))


_ARTICLE = re.compile(r"^(?:a|an|the)\s+")


def check_values(
    text: str, record: Mapping[str, Any], fields: ValueFields | None = None
) -> list[AttributeFinding]:
    """Judge "<key> is <value>" statements ("the status is pending") against short string
    fields of the record: the stated value must be the record's value for that key.
    `fields` is the record's `value_fields`, when the caller keeps them for several claims."""
    findings: list[AttributeFinding] = []
    seen: set[str] = set()
    read = value_fields(leaves(record)) if fields is None else fields
    # a name matches ASCII text, case aside, only where the text holds it lower-cased
    lowered = text.lower() if text.isascii() else None
    for key, name, value in read.fields:
        if name in seen or (lowered is not None and name not in lowered):
            continue
        stated = _stated_pattern(name).search(text)
        if stated is None:
            continue
        if _qualified(text[: stated.start()], read.values):
            continue
        seen.add(name)
        # "storage is a 256GB SSD": the article is no part of the value
        said = _ARTICLE.sub("", stated.group(1).lower())
        holds = said.startswith(value.lower()) or value.lower() in said.split(" ")
        findings.append(
            AttributeFinding(
                key, stated.group(0), True, value, SUPPORTED if holds else CONTRADICTED
            )
        )
    return findings
