"""Structured evidence checked as structure: a claim about a record, field by field.

A tool's output is a record (an order, an account, a product). What a claim says of it — its
status, how many items it holds, whether a flag is set, an amount or a name — is compared with
the field that holds it, not with the record's words. Which field means what comes from a
`FieldMap` a domain pack declares for a tool's output; without one it is inferred from the
field names (``status`` is a status, ``items`` a list to count, a boolean a flag) or from the
tool's JSON output schema (`fields_from_schema`). The checks themselves are in
`tether.grounding.record_checks` and `tether.grounding.bindings`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from tether.core.errors import ErrorCode, TetherError
from tether.grounding.facts import Fact, key_words, leaves
from tether.grounding.list_objects import head_said

# a value of one word, hyphens inside allowed ("wired", "non-slip")
ONE_WORD = re.compile(r"[A-Za-z][A-Za-z-]*[A-Za-z]")

KINDS = ("status", "amount", "date", "item", "address", "count", "name", "id", "flag", "text")

STATUS_KEY = re.compile(r"(?:^|_)(?:status|state)$", re.IGNORECASE)
AMOUNT_KEY = re.compile(r"amount|price|balance|total|cost|fee|refund", re.IGNORECASE)
_DATE_KEY = re.compile(r"date|(?:^|_)(?:at|on)$|time", re.IGNORECASE)
ID_KEY = re.compile(r"(?:^|_)id$|^id$", re.IGNORECASE)
GENERIC_KEY_WORDS = frozenset(("is", "has", "restaurants", "business", "allow", "allows"))


@dataclass(frozen=True)
class FieldSpec:
    """One field of a record: its dotted path (``*`` for any list index), what it holds, and
    the words a claim uses for it besides the field's own name."""

    path: str
    kind: str
    words: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise TetherError(
                ErrorCode.CONFIG_INVALID,
                f"field {self.path!r}: kind must be one of {', '.join(KINDS)}, not {self.kind!r}",
            )
        if not self.path or any(not part for part in self.path.split(".")):
            raise TetherError(ErrorCode.CONFIG_INVALID, f"field path {self.path!r} is malformed")


@dataclass(frozen=True)
class FieldMap:
    """What the fields of one tool's output mean. `key` is the field that identifies the
    record ("order_id"); `noun` how claims call the record ("order")."""

    tool: str
    fields: tuple[FieldSpec, ...]
    key: str | None = None
    noun: str | None = None


def infer_fields(record: Mapping[str, Any]) -> tuple[FieldSpec, ...]:
    """Field meanings read off the names and values of a record's top-level fields."""
    specs: list[FieldSpec] = []
    for key, value in record.items():
        name = str(key)
        if not name or "." in name:
            continue
        if isinstance(value, bool):
            specs.append(FieldSpec(name, "flag"))
        elif isinstance(value, list) or (isinstance(value, Mapping) and _objects_of(value)):
            specs.append(FieldSpec(name, "count"))
        elif ID_KEY.search(name):
            specs.append(FieldSpec(name, "id"))
        elif STATUS_KEY.search(name) and isinstance(value, str):
            specs.append(FieldSpec(name, "status"))
        elif AMOUNT_KEY.search(name) and isinstance(value, int | float):
            specs.append(FieldSpec(name, "amount"))
        elif _DATE_KEY.search(name) and isinstance(value, str):
            specs.append(FieldSpec(name, "date"))
        elif _flag_like(value):
            specs.append(FieldSpec(name, "flag"))
        elif isinstance(value, Mapping):
            for k, v in value.items():
                if str(k) and "." not in str(k) and _flag_like(v):
                    specs.append(FieldSpec(f"{name}.{k}", "flag"))
                elif (
                    isinstance(v, Mapping)
                    and str(k)
                    and "." not in str(k)
                    and not _objects_of(value)
                ):
                    specs.extend(
                        FieldSpec(f"{name}.{k}.{k2}", "flag")
                        for k2, v2 in v.items()
                        if str(k2) and "." not in str(k2) and _flag_like(v2)
                    )
    return tuple(specs)


def _objects_of(value: Mapping[str, Any]) -> bool:
    """A mapping of like objects (a product's variants by id): their flags belong to each
    object and are judged where a claim binds to one (`tether.grounding.bindings`)."""
    members = list(value.values())
    return len(members) >= 2 and all(isinstance(m, Mapping) for m in members)


# a comma after the figure ends it ("$47, just under $50"): it is no thousands separator
MONEY = re.compile(
    r"[$£€]\s?(\d(?:[\d,]*\d)?(?:\.\d+)?)|(\d(?:[\d,]*\d)?(?:\.\d+)?)\s?(?:dollars|usd|eur)\b",
    re.I,
)

_FLAG_WORDS = frozenset(("true", "false", "yes", "no"))


def _flag_like(value: Any) -> bool:
    """A boolean, or a string that spells one ("True", "no")."""
    if isinstance(value, bool):
        return True
    return isinstance(value, str) and value.strip().strip("'\"").lower() in _FLAG_WORDS


def fields_from_schema(schema: Mapping[str, Any]) -> tuple[FieldSpec, ...]:
    """Field meanings from a JSON Schema of an object: enums are statuses, numbers amounts
    (or counts for integers named like counts), booleans flags, arrays counts, dates dates."""
    props = schema.get("properties")
    if not isinstance(props, Mapping):
        return ()
    specs: list[FieldSpec] = []
    for name, prop in props.items():
        if not isinstance(prop, Mapping) or not str(name) or "." in str(name):
            continue
        kind_of = prop.get("type")
        if "enum" in prop or (kind_of == "string" and STATUS_KEY.search(str(name))):
            specs.append(FieldSpec(str(name), "status"))
        elif kind_of == "boolean":
            specs.append(FieldSpec(str(name), "flag"))
        elif kind_of == "array":
            specs.append(FieldSpec(str(name), "count"))
        elif kind_of in ("number", "integer"):
            specs.append(FieldSpec(str(name), "amount"))
        elif kind_of == "string" and prop.get("format") in ("date", "date-time"):
            specs.append(FieldSpec(str(name), "date"))
        elif kind_of == "string" and ID_KEY.search(str(name)):
            specs.append(FieldSpec(str(name), "id"))
    return tuple(specs)


@dataclass(frozen=True)
class RecordView:
    """One record of the evidence with the meaning of its fields."""

    evidence_id: str
    record: Mapping[str, Any]
    fields: tuple[FieldSpec, ...]
    ids: tuple[str, ...] = ()  # values that name the record ("W4566809")
    noun: str = ""

    @cached_property
    def facts(self) -> tuple[Fact, ...]:
        """Every leaf of the record, flattened once (each field spec and check reads them)."""
        return tuple(leaves(self.record))

    @cached_property
    def words(self) -> dict[str, str]:
        """The record's values that are one word ("wired", "bagless"), lowercased, each with
        the key of a leaf holding it; gathered once, as every clause of an answer asks."""
        return {
            str(f.value).lower(): f.key
            for f in self.facts
            if isinstance(f.value, str) and ONE_WORD.fullmatch(f.value)
        }

    def values(self, spec: FieldSpec) -> list[tuple[str, Any]]:
        """(dotted path, value) of every leaf the spec's path matches."""
        parts = spec.path.split(".")
        out: list[tuple[str, Any]] = []
        for fact in self.facts:
            path = fact.path
            if len(path) == len(parts) and all(
                (p == "*" and k.isdigit()) or p == k for p, k in zip(parts, path, strict=True)
            ):
                out.append((fact.key, fact.value))
        if not out:
            node: Any = self.record
            for p in parts:
                node = node.get(p) if isinstance(node, Mapping) else None
            if isinstance(node, list | Mapping):
                out.append((spec.path, node))
        return out


def view(
    evidence_id: str,
    record: Mapping[str, Any],
    maps: Sequence[FieldMap] = (),
    tool: str = "",
    facts: tuple[Fact, ...] | None = None,
) -> RecordView:
    """The record with its field meanings: the pack's map for its tool, or inferred ones.
    `facts` are the record's leaves when the caller has read them already."""
    specs, ids, noun, bare = _meanings(evidence_id, record, maps, tool, facts)
    out = RecordView(evidence_id, record, specs, ids, noun)
    if "facts" in bare.__dict__:
        out.__dict__["facts"] = bare.facts  # the same record: flattened once, not twice
    return out


def meanings(
    record: Mapping[str, Any], maps: Sequence[FieldMap], tool: str, facts: tuple[Fact, ...]
) -> tuple[tuple[FieldSpec, ...], tuple[str, ...], str]:
    """What `view` gives a record besides the record: its field specs, ids and noun."""
    specs, ids, noun, _ = _meanings("", record, maps, tool, facts)
    return specs, ids, noun


def _meanings(
    evidence_id: str,
    record: Mapping[str, Any],
    maps: Sequence[FieldMap],
    tool: str,
    facts: tuple[Fact, ...] | None,
) -> tuple[tuple[FieldSpec, ...], tuple[str, ...], str, RecordView]:
    chosen = next((m for m in maps if m.tool == tool and tool), None)
    specs = chosen.fields if chosen is not None else infer_fields(record)
    key = chosen.key if chosen is not None else None
    ids: list[str] = []
    bare = RecordView(evidence_id, record, specs)  # what `values` reads: the record's leaves
    if facts is not None:
        bare.__dict__["facts"] = facts
    for spec in specs:
        if spec.kind == "id" and (key is None or spec.path == key):
            ids.extend(str(value) for _, value in bare.values(spec))
    noun = chosen.noun if chosen is not None and chosen.noun else ""
    if not noun and key:
        noun = " ".join(w for w in key_words(key) if w != "id")
    return specs, tuple(i for i in ids if len(i) >= 3), noun, bare


@dataclass(frozen=True)
class FieldFinding:
    """What a claim clause says of one field, and whether the field agrees."""

    field: str  # evidence id and dotted path: "tool:get_order#1:status"
    kind: str
    status: str  # supported | contradicted
    phrase: str
    value: Any
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "kind": self.kind,
            "status": self.status,
            "phrase": self.phrase,
            "value": self.value if isinstance(self.value, str | int | float | bool) else None,
        }


def mentions(text: str, value: str) -> bool:
    """True when `text` holds `value` (an id: case and a leading "#" aside) as a whole word."""
    plain = value.lstrip("#").lower()
    return bool(plain) and _stands_alone(plain, _searchable(text))


def _stands_alone(plain: str, text: str) -> bool:
    """`plain` somewhere in `text` with no word character either side: found with `str.find`,
    as every answer's clauses are searched for the ids of records seen for the first time,
    where compiling a pattern per id cost more than the search."""
    at = text.find(plain)
    while at >= 0:
        end = at + len(plain)
        if (at == 0 or not _word_char(text[at - 1])) and (
            end == len(text) or not _word_char(text[end])
        ):
            return True
        at = text.find(plain, at + 1)
    return False


def _word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"  # what `\w` matches


def mentioned(whole: str, clause: str, value: str) -> bool:
    """`mentions` of the claim or of its clause: the claim's answer is kept, as each of its
    clauses asks about the same ids (an id holds no space, so none spans the two)."""
    return mentions(clause, value) or _claim_mentions(whole, value)


@lru_cache(maxsize=1024)
def _claim_mentions(whole: str, value: str) -> bool:
    return mentions(whole, value)


@lru_cache(maxsize=64)
def _searchable(text: str) -> str:
    return text.lower().replace("#", " ")


def referred(clause: str, views: Sequence[RecordView], whole: str = "") -> list[RecordView]:
    """The records a clause is about: those it names by id, else those whose noun it uses,
    else every record (the caller then needs all of them to disagree to contradict)."""
    named = [v for v in views if any(mentioned(whole, clause, i) for i in v.ids)]
    if named:
        return named
    return list(views)


def about(
    clause: str,
    v: RecordView,
    only: bool,
    spec: FieldSpec,
    shorts: Mapping[str, tuple[str, ...]] | None = None,
) -> bool:
    """True when the clause speaks of the record: its id or noun, the field's name, or a
    pronoun when this record is the only one in view; `shorts` are the short names of its
    parts a pack gives ("vacuum cleaner": "vacuum")."""
    lowered = clause.lower()
    if any(mentions(clause, i) for i in v.ids):
        return True
    names = [*key_words(spec.path.split(".")[-1]), *spec.words]
    if v.noun:
        names.append(v.noun)
    if only:  # the record's parts by their kind ("your items are still in transit")
        names.extend(w for s in v.fields if s.kind == "count" for w in s.words)
    if any(re.search(rf"\b{re.escape(n.lower())}s?\b", lowered) for n in names if n):
        return True
    # "it", or "they"/"neither" for the parts of the one record in view
    if only and re.search(r"\b(?:it|its|this|that|they|their|both|neither|either)\b", lowered):
        return True
    # a part of the record named ("the hose hasn't shipped"): its state is the record's
    return only and any(head_said(lowered, x, shorts or {}) for x in _names_in(v))


def _names_in(v: RecordView) -> list[str]:
    return [str(f.value) for f in v.facts if f.path and f.path[-1] == "name"]
