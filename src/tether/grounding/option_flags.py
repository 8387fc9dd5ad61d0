"""Yes/no options inside a record's objects ("waterproof": "yes", "water resistance": "no").

A record's field maps name its top-level flags; the options of the things it lists are keyed by
whatever the catalogue calls them. A string leaf that says only yes or no ("yes", "no", "not
resistant") is read as a flag named by its key, and belongs to the nearest object with a name
(the item it describes). A claim that names the option of that object ("the hiking boots
aren't waterproof") with the other polarity, read in the clause around the mention,
contradicts it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tether.grounding.claims import content_terms
from tether.grounding.facts import (
    CONTRADICTED,
    SUPPORTED,
    Fact,
    key_words,
    leaves,
    polarity,
    scope,
)
from tether.grounding.fields import FieldFinding

_YES = frozenset(("yes", "true"))
_NO = re.compile(r"(?:no|none|false|not\s[\w\s-]+|non-[\w-]+)", re.IGNORECASE)
# a clause about what someone wants or might pick states nothing about the record
# a label answered "no": what the label names is denied ("Water-resistant speaker: no")
_ANSWERED_NO = re.compile(r"\s*(?:no|nope)\b", re.IGNORECASE)
_WISHED = re.compile(
    r"\b(?:if|whether|unless|need|needs|want|wants|looking|prefer|would|could|might)\b", re.I
)
_NAME_KEYS = ("name", "title")
# a short code holding a figure: a grade of the option, which the object then has
_GRADE = re.compile(r"(?=[a-z]*\d)[a-z\d]{2,6}", re.IGNORECASE)


@dataclass(frozen=True)
class OptionFlag:
    """One yes/no option: where it is, its key's words, the object it describes, its truth."""

    field: str  # evidence id and dotted path
    words: tuple[str, ...]
    owner: str  # the describing object's name, lower case ("" when none has one)
    holds: bool
    value: str


def option_flags(
    records: Mapping[str, Any], facts: Callable[[Any], Sequence[Fact]] = leaves
) -> list[OptionFlag]:
    """Every yes/no option the records hold, record by record; `facts` reads a record's leaves
    (when the caller keeps them)."""
    out: list[OptionFlag] = []
    for evidence_id, record in records.items():
        found: list[tuple[str, OptionFlag]] = []
        # a key with any other value names a choice, not a yes/no ("backlight": "none")
        other: set[str] = set()
        # a key graded differently across objects names a choice ("processor": "i5", "i7")
        grades: dict[str, set[str]] = {}
        for fact in facts(record):
            if not isinstance(fact.value, str) or not fact.path or fact.path[-1].isdigit():
                continue
            value = fact.value.strip().lower()
            holds = True if value in _YES else False if _NO.fullmatch(value) else None
            if holds is None and len(value) <= 6 and _GRADE.fullmatch(value):
                holds = True  # a rating the option has ("water resistance": "IPX7")
                grades.setdefault(fact.path[-1], set()).add(value)
            if holds is None:
                other.add(fact.path[-1])
                continue
            words = tuple(key_words(fact.path[-1]))
            if words:
                owner = owner_name(record, fact.path)
                flag = OptionFlag(f"{evidence_id}:{fact.key}", words, owner, holds, fact.value)
                found.append((fact.path[-1], flag))
        other.update(key for key, values in grades.items() if len(values) > 1)
        out.extend(flag for key, flag in found if key not in other)
    return out


def owner_name(record: Any, path: Sequence[str], below_root: bool = False) -> str:
    """The name ("name", else "title") of the innermost object on `path` that has one, lower
    case; "" when none does. `below_root`: the record's own name does not count (a product's
    name is not its variants')."""
    reached, node = [record], record
    for part in path[:-1]:
        if isinstance(node, Mapping):
            node = node.get(part)
        elif isinstance(node, list) and part.isdecimal() and int(part) < len(node):
            node = node[int(part)]
        else:
            break
        reached.append(node)
    for held in reversed(reached[1:] if below_root else reached):
        if isinstance(held, Mapping):
            name = next((str(held[k]) for k in _NAME_KEYS if isinstance(held.get(k), str)), None)
            if name is not None:
                return name.lower()
    return ""


def _pattern(words: Iterable[str]) -> re.Pattern[str]:
    """The key as prose says it: each word by its first letters ("water resistant" for
    "water resistance"), a space or hyphen between them or none ("water-proof")."""
    parts = [re.escape(w if len(w) <= 5 else w[: max(5, len(w) - 4)]) + r"\w*" for w in words]
    return re.compile(r"\b" + r"[\s-]?".join(parts) + r"\b", re.IGNORECASE)


def check_option_flags(text: str, flags: Sequence[OptionFlag]) -> list[FieldFinding]:
    """What one claim sentence says of the yes/no options it names, each mention read in its
    own clause: a denied list goes on after a comma ("no reservations, seating or WiFi")."""
    if not flags or text.rstrip().endswith("?"):
        return []  # a question says nothing of the options it asks about
    label, colon, answer = text.partition(":")
    answered_no = bool(colon) and _ANSWERED_NO.match(answer) is not None
    by_words: dict[tuple[str, ...], list[OptionFlag]] = {}
    for flag in flags:
        by_words.setdefault(flag.words, []).append(flag)
    out: list[FieldFinding] = []
    for words, group in by_words.items():
        for found in _pattern(words).finditer(text):
            left, right = scope(text, *found.span())
            # a condition set off by a comma before the mention is not its clause ("if you
            # planned to swim with them, note they aren't water resistant")
            own = max(left, text.rfind(",", left, found.start()) + 1)
            if _WISHED.search(text, own, right):
                continue
            # the item named in the mention's own clause, else in the sentence
            meant = _owned(text[left:right], group) or _owned(text, group)
            if meant is None:
                continue
            denied = polarity(text, *found.span())[0]
            if answered_no and found.end() <= len(label):  # "Water-resistant speaker: no"
                denied = not denied
            ok = meant.holds is not denied
            out.append(
                FieldFinding(
                    meant.field,
                    "flag",
                    SUPPORTED if ok else CONTRADICTED,
                    found.group(0),
                    meant.value,
                    () if ok else (f"{meant.field.split(':', 1)[-1]} is {meant.value!r}",),
                )
            )
    return out


def _owned(text: str, group: Sequence[OptionFlag]) -> OptionFlag | None:
    """The flag of the object `text` names (by its name, else its name's last word), or of
    every object alike when it names none; None when those it may mean disagree."""
    terms = set(content_terms(text))
    named = [f for f in group if f.owner and set(content_terms(f.owner)) <= terms]
    if not named:  # "the boots" for "Hiking Boots"
        named = [f for f in group if f.owner and set(content_terms(f.owner)[-1:]) <= terms]
    candidates = named or list(group)
    return candidates[0] if len({f.holds for f in candidates}) == 1 else None
