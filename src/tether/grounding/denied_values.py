"""A value an object holds, said by the claim not to be its own: "the camera, which isn't 4K"
of a camera whose resolution is "4K".

The things a record lists carry their values under keys the catalogue chooses; a claim names
the thing and denies one of the values right before it ("isn't 4K", "is not a glass one"). The
object meant is the one the sentence names last before the value. When that object holds the
value, the denial contradicts the record; when it does not ("the kettle isn't 4K" beside a 4K
camera), the claim says what the record says. Yes/no options are read by
`tether.grounding.option_flags`, and a clause about what someone wants states nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from tether.grounding.claims import content_terms
from tether.grounding.facts import CONTRADICTED, Fact, scope
from tether.grounding.fields import ID_KEY, FieldFinding, RecordView
from tether.grounding.option_flags import owner_name

# a denial right before the value, with at most one word between ("isn't 4K", "is not a glass
# one") or a verb of having and its article ("doesn't come with a HEPA filter", "isn't made for
# pet hair", "doesn't take SD cards", "without a HEPA filter", "lacks a zoom")
_HAVING = (
    r"(?:(?:come|comes|came|have|has|had|take|takes|use|uses|support|supports|include|includes"
    r"|offer|offers|feature|features|made|built|meant|designed|work|works|with|for|a|an|any|the)"
    r"\s+){1,4}"
)
_DENIED = re.compile(
    rf"(?:(?:n[\u2019']t|\bnot|\bnever)\s+(?:[\w-]+\s+|{_HAVING})?"
    rf"|\b(?:without|lacks?|lacking)\s+(?:(?:a|an|any|the)\s+)?)$",
    re.IGNORECASE,
)
_CUE = re.compile(r"n[\u2019']t\b|\bnot\b|\bnever\b|\bwithout\b|\black", re.IGNORECASE)
# a clause about what someone wants or might pick states nothing about the record
_WISHED = re.compile(
    r"\b(?:if|whether|unless|need|needs|want|wants|looking|prefer|would|could|might)\b", re.I
)
_NAME_KEYS = frozenset(("name", "title"))
_ALONE_AFTER = re.compile(r"\s*(?:only|alone)\b", re.IGNORECASE)
_ALONE_BEFORE = re.compile(r"\b(?:just|only|merely|simply)\s+$", re.IGNORECASE)
# the parts of a value that holds several ("Wi-Fi + Cellular", "USB-C & Lightning")
_JOINED = re.compile(r"\s+[+&]\s+")
# a yes/no value is a flag, read elsewhere
_FLAG = re.compile(r"yes|no|none|true|false|not\s.*|non-.*", re.IGNORECASE)


@dataclass(frozen=True)
class HeldValue:
    """One string value of a named object: where it is, the object's name and its words."""

    field: str
    owner: str
    owner_terms: frozenset[str]
    value: str
    pattern: re.Pattern[str]


_HELD: dict[int, tuple[tuple[Fact, ...], tuple[HeldValue, ...]]] = {}


def held_values(v: RecordView) -> tuple[HeldValue, ...]:
    """The string values of every named object of the record, read once per record."""
    cached = _HELD.get(id(v.facts))
    if cached is not None and cached[0] is v.facts:
        return cached[1]
    out: list[HeldValue] = []
    for fact in v.facts:
        if not isinstance(fact.value, str) or not fact.path or fact.path[-1].isdigit():
            continue
        key, value = fact.path[-1], fact.value.strip()
        if key in _NAME_KEYS or ID_KEY.search(key) or len(value) < 2 or _FLAG.fullmatch(value):
            continue
        owner = owner_name(v.record, fact.path, below_root=True)
        terms = frozenset(content_terms(owner))
        if not terms:
            continue
        # "Wi-Fi + Cellular" holds each: "doesn't include cellular" denies a part it holds
        parts = [p.strip() for p in _JOINED.split(value)]
        for said in [value, *(p for p in parts if len(parts) > 1 and len(p) >= 2)]:
            pattern = re.compile(rf"(?<!\w)(?<!\d\.){_said(said)}(?!\w)(?!\.\d)", re.IGNORECASE)
            out.append(HeldValue(f"{v.evidence_id}:{fact.key}", owner, terms, value, pattern))
    if len(_HELD) > 256:
        _HELD.clear()
    _HELD[id(v.facts)] = (v.facts, tuple(out))
    return tuple(out)


def _said(value: str) -> str:
    """A value as a claim may name it: as written or in the plural ("SD cards"), or, for a value of
    three words or more, by all but its last ("pet hair" of "pet hair removal")."""
    words = value.split()
    forms = [rf"{re.escape(value)}s?"]
    if len(words) >= 3:
        forms.append(r"\s+".join(map(re.escape, words[:-1])))
    return "(?:" + "|".join(forms) + ")"


def check_denied_values(sentence: str, views: Sequence[RecordView]) -> list[FieldFinding]:
    """The values the sentence denies of the object that holds them."""
    if not views or _CUE.search(sentence) is None or sentence.rstrip().endswith("?"):
        return []
    out: list[FieldFinding] = []
    for v in views:
        held = held_values(v)
        for h in held:
            for found in h.pattern.finditer(sentence):
                if _DENIED.search(sentence, max(0, found.start() - 30), found.start()) is None:
                    continue
                # "isn't Wi-Fi only", "not just Wi-Fi": that it is all there is, denied
                if _ALONE_AFTER.match(sentence, found.end()) or _ALONE_BEFORE.search(
                    sentence, max(0, found.start() - 12), found.start()
                ):
                    continue
                left, right = scope(sentence, *found.span())
                if _WISHED.search(sentence, left, right):
                    continue
                if _meant(sentence[: found.start()], held) != h.owner:
                    continue
                out.append(
                    FieldFinding(
                        h.field,
                        "flag",  # denied as a yes/no option would be
                        CONTRADICTED,
                        found.group(0),
                        h.value,
                        (f"{h.field.split(':', 1)[-1]} is {h.value!r}",),
                    )
                )
    return out


def _meant(before: str, held: Sequence[HeldValue]) -> str | None:
    """The name of the object `before` names last (by any word of its name: "the vacuum" of a
    "Vacuum Cleaner"), or None when it names none."""
    words = content_terms(before)
    best, at = None, -1
    for owner, terms in {h.owner: h.owner_terms for h in held}.items():
        if not terms & set(words):
            continue
        where = max(i for i, w in enumerate(words) if w in terms)
        if where > at:
            best, at = owner, where
    return best
