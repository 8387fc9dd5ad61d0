"""Structured evidence checked as structure: a claim about a record, field by field.

A tool's output is a record (an order, an account, a product). What a claim says of it — its
status, how many items it holds, whether a flag is set, an amount or a name — is compared with
the field that holds it, not with the record's words. Which field means what comes from a
`FieldMap` a domain pack declares for a tool's output; without one it is inferred from the
field names (``status`` is a status, ``items`` a list to count, a boolean a flag) or from the
tool's JSON output schema (`fields_from_schema`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tether.core.errors import ErrorCode, TetherError
from tether.grounding.claims import STOP_WORDS, content_terms, norm, number_matches, numbers
from tether.grounding.facts import CONTRADICTED, SUPPORTED, flatten, key_words, polarity, truth
from tether.grounding.meaning import Vocabulary, denied_terms, states

KINDS = ("status", "amount", "date", "item", "address", "count", "name", "id", "flag", "text")

_STATUS_KEY = re.compile(r"(?:^|_)(?:status|state)$", re.IGNORECASE)
_AMOUNT_KEY = re.compile(r"amount|price|balance|total|cost|fee|refund", re.IGNORECASE)
_DATE_KEY = re.compile(r"date|(?:^|_)(?:at|on)$|time", re.IGNORECASE)
_ID_KEY = re.compile(r"(?:^|_)id$|^id$", re.IGNORECASE)
_GENERIC_KEY_WORDS = frozenset(("is", "has", "restaurants", "business", "allow", "allows"))


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
        elif _ID_KEY.search(name):
            specs.append(FieldSpec(name, "id"))
        elif _STATUS_KEY.search(name) and isinstance(value, str):
            specs.append(FieldSpec(name, "status"))
        elif _AMOUNT_KEY.search(name) and isinstance(value, int | float):
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


MONEY = re.compile(
    r"[$£€]\s?(\d[\d,]*(?:\.\d+)?)|(\d[\d,]*(?:\.\d+)?)\s?(?:dollars|usd|eur)\b", re.I
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
        if "enum" in prop or (kind_of == "string" and _STATUS_KEY.search(str(name))):
            specs.append(FieldSpec(str(name), "status"))
        elif kind_of == "boolean":
            specs.append(FieldSpec(str(name), "flag"))
        elif kind_of == "array":
            specs.append(FieldSpec(str(name), "count"))
        elif kind_of in ("number", "integer"):
            specs.append(FieldSpec(str(name), "amount"))
        elif kind_of == "string" and prop.get("format") in ("date", "date-time"):
            specs.append(FieldSpec(str(name), "date"))
        elif kind_of == "string" and _ID_KEY.search(str(name)):
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

    def values(self, spec: FieldSpec) -> list[tuple[str, Any]]:
        """(dotted path, value) of every leaf the spec's path matches."""
        parts = spec.path.split(".")
        out: list[tuple[str, Any]] = []
        for fact in flatten(self.record):
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
) -> RecordView:
    """The record with its field meanings: the pack's map for its tool, or inferred ones."""
    chosen = next((m for m in maps if m.tool == tool and tool), None)
    specs = chosen.fields if chosen is not None else infer_fields(record)
    key = chosen.key if chosen is not None else None
    ids: list[str] = []
    for spec in specs:
        if spec.kind == "id" and (key is None or spec.path == key):
            found = RecordView(evidence_id, record, (spec,)).values(spec)
            ids.extend(str(value) for _, value in found)
    noun = chosen.noun if chosen is not None and chosen.noun else ""
    if not noun and key:
        noun = " ".join(w for w in key_words(key) if w != "id")
    return RecordView(evidence_id, record, specs, tuple(i for i in ids if len(i) >= 3), noun)


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


def _mentions(text: str, value: str) -> bool:
    plain = value.lstrip("#").lower()
    return (
        bool(plain)
        and re.search(rf"(?<![\w]){re.escape(plain)}(?![\w])", text.lower().replace("#", " "))
        is not None
    )


def referred(clause: str, views: Sequence[RecordView], whole: str = "") -> list[RecordView]:
    """The records a clause is about: those it names by id, else those whose noun it uses,
    else every record (the caller then needs all of them to disagree to contradict)."""
    context = f"{whole} {clause}"
    named = [v for v in views if any(_mentions(context, i) for i in v.ids)]
    if named:
        return named
    return list(views)


def _about(clause: str, v: RecordView, only: bool, spec: FieldSpec) -> bool:
    """True when the clause speaks of the record: its id or noun, the field's name, or a
    pronoun when this record is the only one in view."""
    lowered = clause.lower()
    if any(_mentions(clause, i) for i in v.ids):
        return True
    names = [*key_words(spec.path.split(".")[-1]), *spec.words]
    if v.noun:
        names.append(v.noun)
    if any(re.search(rf"\b{re.escape(n.lower())}s?\b", lowered) for n in names if n):
        return True
    if only and re.search(r"\b(?:it|its|this|that)\b", lowered):
        return True
    # a part of the record named ("the hose hasn't shipped"): its state is the record's
    return only and any(_head_said(lowered, x) for x in _names_in(v.record))


def _names_in(record: Mapping[str, Any]) -> list[str]:
    return [str(f.value) for f in flatten(record) if f.path and f.path[-1] == "name"]


def _head_said(lowered: str, name: str) -> bool:
    words = name.lower().split()
    if not words or len(words[-1]) < 3:
        return False
    head = words[-1][:-1] if words[-1].endswith("s") else words[-1]
    return re.search(rf"\b{re.escape(head)}s?\b", lowered) is not None


def check_clause(
    clause: str, views: Sequence[RecordView], vocabulary: Vocabulary, whole: str = ""
) -> list[FieldFinding]:
    """Every field finding of one claim clause against the records it is about."""
    if not views:
        return []
    targets = referred(clause, views, whole)
    findings: list[FieldFinding] = []
    findings.extend(_states(clause, targets, vocabulary))
    findings.extend(_counts(clause, targets))
    findings.extend(_values(clause, targets))
    findings.extend(_amounts(clause, targets))
    named = [v for v in targets if any(_mentions(f"{whole} {clause}", i) for i in v.ids)]
    if named or len(views) == 1:
        findings.extend(_classes(clause, named or list(views), vocabulary))
    return findings


_TENSE_OPEN = re.compile(r"\b(?:will|would|can|could|may|might|should|if|once)\b", re.I)


def _classes(clause: str, views: Sequence[RecordView], vocab: Vocabulary) -> list[FieldFinding]:
    """A member of a closed class (a payment method, a colour) said of a record that holds
    other members of that class and not this one ("paid by gift card" when it was PayPal)."""
    if _TENSE_OPEN.search(clause):
        return []  # what may or will happen is not what the record holds
    said = [(c, m) for c, m, _, _ in vocab.members(clause) if c not in vocab.states]
    if not said:
        return []
    out: list[FieldFinding] = []
    for v in views:
        held: dict[str, set[str]] = {}
        where: dict[str, str] = {}
        for fact in flatten(v.record):
            if not isinstance(fact.value, str) or len(fact.value) > 60:
                continue
            spelled = re.sub(r"[_\-]+", " ", fact.value)
            for c, m, _, _ in vocab.members(spelled):
                held.setdefault(c, set()).add(m)
                where.setdefault(c, fact.key)
        governed = denied_terms(clause)
        for c, m in said:
            # denied only when a negation governs the word itself ("no gift card", not
            # "the pink one isn't available")
            denied = bool(content_terms(m)[:1]) and content_terms(m)[0] in governed
            if c in held and (m in held[c]) is denied:
                if denied:
                    out.append(
                        FieldFinding(
                            f"{v.evidence_id}:{where[c]}",
                            "swap",
                            CONTRADICTED,
                            m,
                            m,
                            (f"the record holds {m!r}",),
                        )
                    )
                    continue
                out.append(
                    FieldFinding(
                        f"{v.evidence_id}:{where[c]}",
                        "swap",
                        CONTRADICTED,
                        m,
                        ", ".join(sorted(held[c])),
                        (f"the record holds {', '.join(sorted(held[c]))}, not {m!r}",),
                    )
                )
    return out


def _states(clause: str, targets: Sequence[RecordView], vocab: Vocabulary) -> list[FieldFinding]:
    mentions = [m for m in states(clause, vocab) if not m.modal and not m.attributive]
    if not mentions:
        return []
    held: list[tuple[str, str, str]] = []  # (field, canonical state, raw value)
    unknown: list[str] = []  # status fields without a readable state
    only = len(targets) == 1
    for v in targets:
        for spec in v.fields:
            if spec.kind != "status" or not _about(clause, v, only, spec):
                continue
            for path, value in v.values(spec):
                if isinstance(value, list | Mapping):
                    # ["pending"] or {"code": "pending"}: the strings it holds
                    texts = [f.value for f in flatten(value) if isinstance(f.value, str)]
                    value = " ".join(texts)
                if not isinstance(value, str):
                    unknown.append(f"{v.evidence_id}:{path}")
                    continue
                found = [m for m in vocab.members(value) if m[0] in vocab.states]
                if found:
                    held.append((f"{v.evidence_id}:{path}", found[0][1], value))
    if not held:
        # a status field that holds no state word (null, a number): the claim cannot be
        # checked against it, and says what the record does not
        return [
            FieldFinding(
                where,
                "status",
                "unsupported",
                clause[m.start : m.end],
                None,
                (f"{where} holds no status to check {m.state!r} against",),
            )
            for where in unknown[:1]
            for m in mentions[:1]
        ]
    out: list[FieldFinding] = []
    # "cancelled and refunded": a clause naming several states holds if one of them does
    asserted = [m for m in mentions if m.asserted]
    some_hold = any(vocab.holds(m.state, h[1]) for m in asserted for h in held)
    every = _EVERY.search(clause) is not None  # "both orders are pending": each must be
    for m in mentions:
        same = [h for h in held if (m.state == h[1] if m.current else vocab.holds(m.state, h[1]))]
        if m.asserted and not same and some_hold and len(asserted) > 1:
            continue
        if every and m.asserted and same and len(same) < len(held):
            lagging = next(h for h in held if h not in same)
            out.append(
                FieldFinding(
                    lagging[0],
                    "status",
                    CONTRADICTED,
                    clause[m.start : m.end],
                    lagging[2],
                    (f"{lagging[0]} is {lagging[2]!r}",),
                )
            )
            continue
        if m.asserted:
            ok = bool(same)
            where = same[0] if same else held[0]
        else:
            ok = not same or len(same) < len(held)
            where = same[0] if same else held[0]
        reason = () if ok else (f"{where[0]} is {where[2]!r}",)
        phrase = clause[m.start : m.end]
        out.append(
            FieldFinding(
                where[0], "status", SUPPORTED if ok else CONTRADICTED, phrase, where[2], reason
            )
        )
    return out


_COUNT = re.compile(
    r"\b(?:has|have|had|holds?|contains?|includes?|with|see|shows?|there (?:are|is|were|was)|"
    r"total of)\s+"
    r"(\d+|one|two|three|four|five|six|seven|eight|nine|ten)\s+(\w+)",
    re.IGNORECASE,
)


_EMPTY: tuple[Any, ...] = (None, "", False, "none", "None", "no", [])


def _present(noun: str, phrase: str, targets: Sequence[RecordView]) -> list[FieldFinding]:
    """ "no tracking number" when every field named for it ("tracking_id") holds a value."""
    for v in targets:
        named = [
            fact
            for fact in flatten(v.record)
            if any(noun in {norm(w) for w in key_words(k)} for k in fact.path)
        ]
        # a value that is the thing itself ("transaction_type": "refund")
        valued = [
            f for f in flatten(v.record) if isinstance(f.value, str) and norm(f.value) == noun
        ]
        if valued:
            named = valued
        if named and all(f.value not in _EMPTY for f in named):
            fact = named[0]
            return [
                FieldFinding(
                    f"{v.evidence_id}:{fact.key}",
                    "count",
                    CONTRADICTED,
                    phrase,
                    fact.value,
                    (f"{fact.key} is {fact.value!r}",),
                )
            ]
    return []


_EVERY = re.compile(r"\b(?:both|all|every|each)\b", re.IGNORECASE)
_NONE = re.compile(r"\b(?:no|without(?: any)?|not any)\s+(\w+)", re.IGNORECASE)
_SMALL = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
          "eight": 8, "nine": 9, "ten": 10}  # fmt: skip


def _counts(clause: str, targets: Sequence[RecordView]) -> list[FieldFinding]:
    out: list[FieldFinding] = []
    if re.search(r"\b(?:can|could|may|will|would|want|wants|to|of the|of your)\b", clause, re.I):
        return out  # "return two of the items": a part, not the count
    for match in _NONE.finditer(clause):
        noun = norm(match.group(1))
        out.extend(_present(noun, match.group(0), targets))
        for v in targets:
            for spec in v.fields:
                names = {norm(w) for w in (*key_words(spec.path.split(".")[-1]), *spec.words)}
                if spec.kind != "count" or noun not in names:
                    continue
                for path, value in v.values(spec):
                    if isinstance(value, list) and value:
                        out.append(
                            FieldFinding(
                                f"{v.evidence_id}:{path}",
                                "count",
                                CONTRADICTED,
                                match.group(0),
                                len(value),
                                (f"{path} holds {len(value)}",),
                            )
                        )
    for match in _COUNT.finditer(clause):
        said = float(_SMALL.get(match.group(1).lower(), 0) or match.group(1))
        noun = norm(match.group(2))
        for v in targets:
            for spec in v.fields:
                if spec.kind != "count":
                    continue
                names = {norm(w) for w in (*key_words(spec.path.split(".")[-1]), *spec.words)}
                if noun not in names:
                    continue
                for path, value in v.values(spec):
                    if isinstance(value, list | Mapping):
                        ok = len(value) == said
                        out.append(
                            FieldFinding(
                                f"{v.evidence_id}:{path}",
                                "count",
                                SUPPORTED if ok else CONTRADICTED,
                                match.group(0),
                                len(value),
                                () if ok else (f"{path} holds {len(value)}, not {said:g}",),
                            )
                        )
    return out


def _flag_terms(path: str, spec_words: Iterable[str]) -> set[str]:
    last = path.split(".")[-1]
    wanted = [w for w in key_words(last) if w not in STOP_WORDS and w not in _GENERIC_KEY_WORDS]
    return {norm(w) for w in (*wanted, *(w for s in spec_words for w in s.split()))}


def _phrase(clause: str, spec: FieldSpec) -> tuple[int, int] | None:
    """Where the clause names the field as a phrase ("take out", "takeout", "take-out" for
    TakeOut; the bare "take" is not it), or by one of the spec's words."""
    lowered = clause.lower()
    for w in spec.words:
        at = lowered.find(w.lower())
        if at >= 0:
            return at, at + len(w)
    parts = [w for w in key_words(spec.path.split(".")[-1]) if w not in _GENERIC_KEY_WORDS]
    if not parts:
        return None
    joined = r"[\s-]?".join(
        re.escape(p[:-1] if len(p) > 4 and p.endswith("s") else p) for p in parts
    )
    found = re.search(rf"\b{joined}", lowered)
    return found.span() if found else None


def _denies(clause: str, span: tuple[int, int]) -> bool:
    """Whether the clause denies the flag it names, read in the scope around the mention
    ("no outdoor seating, but takes reservations" denies only the seating)."""
    return polarity(clause, *span)[0]


def check_flags(sentence: str, views: Sequence[RecordView]) -> list[FieldFinding]:
    """The yes/no fields a claim names, each read in the scope of its own mention: a list
    goes on after a comma ("no garage, street or valet parking" denies all three)."""
    return _flags(sentence, referred(sentence, views))


def _flags(clause: str, targets: Sequence[RecordView]) -> list[FieldFinding]:
    terms = set(content_terms(clause))
    out: list[FieldFinding] = []
    for v in targets:
        for spec in v.fields:
            if spec.kind != "flag":
                continue
            wanted = _flag_terms(spec.path, spec.words)
            if not wanted or not wanted <= terms or (len(wanted) == 1 and len(min(wanted)) < 4):
                continue
            span = _phrase(clause, spec)
            if span is None:
                continue
            denied = _denies(clause, span)
            for path, value in v.values(spec):
                known = truth(value)
                if known is None:
                    continue
                ok = known is not denied
                out.append(
                    FieldFinding(
                        f"{v.evidence_id}:{path}",
                        "flag",
                        SUPPORTED if ok else CONTRADICTED,
                        " ".join(sorted(wanted)),
                        value,
                        () if ok else (f"{path} is {value!r}",),
                    )
                )
    return out


def _amounts(clause: str, targets: Sequence[RecordView]) -> list[FieldFinding]:
    """A sum of money said with a field's name ("a balance of $6") against the fields of that
    name: it must be one of their values."""
    said = [float((m.group(1) or m.group(2)).replace(",", "")) for m in MONEY.finditer(clause)]
    if not said:
        return []
    terms = set(content_terms(clause))
    fields: dict[str, list[tuple[str, float]]] = {}
    for v in targets:
        for fact in flatten(v.record):
            value = fact.value
            if not fact.path or isinstance(value, bool) or not isinstance(value, int | float):
                continue
            key = fact.path[-1]
            if not _AMOUNT_KEY.search(key):
                continue
            for word in key_words(key):
                if norm(word) in terms:
                    fields.setdefault(word, []).append((f"{v.evidence_id}:{fact.key}", value))
    out: list[FieldFinding] = []
    for word, held in fields.items():
        values = {float(x) for _, x in held}
        if any(number_matches(n, values) for n in said):
            continue
        listed = ", ".join(f"{x:g}" for x in sorted(values))
        out.append(
            FieldFinding(
                held[0][0],
                "amount",
                CONTRADICTED,
                word,
                held[0][1],
                (f"the record's {word} is {listed}",),
            )
        )
    return out


def _values(clause: str, targets: Sequence[RecordView]) -> list[FieldFinding]:
    """Fields whose value the clause states (a name, an address line, an amount): support
    that names the field which decided it."""
    out: list[FieldFinding] = []
    stated = numbers(clause)
    lowered = clause.lower()
    for v in targets:
        for fact in flatten(v.record):
            value = fact.value
            if isinstance(value, bool) or value is None:
                continue
            hit = False
            if isinstance(value, int | float):
                hit = any(number_matches(n, {float(value)}) for n in stated)
            elif isinstance(value, str) and len(value.strip()) >= 4 and not value.isdigit():
                hit = value.strip().lower() in lowered
            if hit:
                out.append(
                    FieldFinding(
                        f"{v.evidence_id}:{fact.key}", "value", SUPPORTED, str(value), value
                    )
                )
                if len(out) >= 8:
                    return out
    return out
