"""A count said of the members a claim lists after it: "three things: the order id, the items
and where the refund should go", "only two destinations: the original payment method or a gift
card". The members are matched to the items of an evidence list (a bulleted run, or one
sentence's parts joined by commas, "and" or "or"). The count holds when the claim names a
whole list of that many items, and is contradicted when it names some of a longer bulleted
list under its own, smaller number ("just two things: the order id and the items" for a list
of three). A sentence's commas may join clauses rather than list members, so a sentence only
ever bears a count out. A claim whose count and members disagree, or whose members match no
list, decides nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from tether.grounding.claims import content_terms
from tether.grounding.evidence_clauses import EvidenceClause
from tether.grounding.facts import CONTRADICTED, SUPPORTED, Finding

_NUMBER_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8}
# "two things: …", "only two destinations are possible: …": the count, its noun, then a colon
_COUNTED = re.compile(
    r"\b(?P<n>two|three|four|five|six|seven|eight|[2-8])\s+(?:\w+\s+)?(?P<noun>[a-z]{3,}s)\b"
    r"[^:;.!?]{0,40}:\s*(?P<members>[^;.!?]+)",
    re.IGNORECASE,
)
# "two choices, the original Visa or your existing gift card; …", "two places the $236.95 can
# go: the Visa … or the gift card …": a count its own list follows
_SELF_COUNTED = re.compile(
    r"\b(?P<n>two|three|four|five|six|seven|eight|[2-8])\s+(?:\w+\s+)?(?P<noun>[a-z]{3,}s)"
    r"(?:\s*(?:,|\u2014|--)|(?:[^:;.!?]|\.\d){0,40}:)\s*(?P<members>(?:[^;.!?:\u2014]|\.\d)+)",
    re.IGNORECASE,
)
# "Lei, Ahmed and 19128: … all three parts given": a list, then a count of it after a colon
_COUNTED_AFTER = re.compile(
    r"^\W*(?P<members>(?:[^:;.!?]|\.\d)+):(?:[^;.!?]|\.\d){0,40}?\b"
    r"(?P<n>two|three|four|five|six|seven|eight)\b",
    re.IGNORECASE,
)
# "all three are high-back, at $483.95, $508.21 and $510.10": as many amounts as counted, each
# after the one before with a comma, or an "and" or "or" closing the run
_AMOUNT = re.compile(r"[$\u20ac\u00a3]\s?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
_NEXT_AMOUNT = re.compile(r"\s*,\s*")
_LAST_AMOUNT = re.compile(r"\s*,?\s+(?:and|or)\s+", re.IGNORECASE)
_COUNT_WORD = re.compile(r"\b(two|three|four|five|six|seven|eight)\b", re.IGNORECASE)
# a part that says something of the members rather than naming one ("…, both available")
_NOT_A_MEMBER = re.compile(
    r"^\W*(?:both|all|each|every|none|neither|which|who|whose|that|so|but|though|while)\b",
    re.IGNORECASE,
)
_MEMBER = re.compile(r",\s*(?:and\s+|or\s+)?|\s+(?:and|or|plus)\s+", re.IGNORECASE)
_BULLETS = re.compile(r"(?:^[ \t]*(?:[-*\u2022]|\d+[.)])\s+.+\n?)+", re.MULTILINE)
_MATCHED = 0.5  # share of a member's words an evidence item must hold to be that member


def _members(text: str) -> list[set[str]]:
    return [m for part in _MEMBER.split(text) if (m := set(content_terms(part)))]


def _lists(
    passages: Mapping[str, str], sentences: Sequence[EvidenceClause]
) -> list[tuple[list[set[str]], EvidenceClause | None, str]]:
    """Every list the evidence gives: its items' words, the sentence holding it (None for a
    bulleted run, the one kind of list whose length is sure) and the evidence id."""
    out: list[tuple[list[set[str]], EvidenceClause | None, str]] = []
    for source, text in passages.items():
        for run in _BULLETS.findall(text):
            items = [set(content_terms(line)) for line in run.strip().splitlines()]
            out.append(([i for i in items if i], None, source))
    for s in sentences:
        items = _members(s.text)
        if len(items) >= 2:
            out.append((items, s, s.source))
    return out


def _cover(members: Sequence[set[str]], items: Sequence[set[str]]) -> bool:
    """Each member is a distinct item of the list (it holds most of the member's words)."""
    free = list(range(len(items)))
    for m in sorted(members, key=len, reverse=True):
        scored = [(len(m & items[i]) / len(m), i) for i in free]
        best = max(scored, default=(0.0, -1))
        if best[0] < _MATCHED:
            return False
        free.remove(best[1])
    return True


def check_listed_counts(
    text: str, passages: Mapping[str, str], sentences: Sequence[EvidenceClause]
) -> list[Finding]:
    """The count a claim gives of the members it lists, against the evidence list they are."""
    found = _COUNTED.search(text)
    if found is None:
        return []
    said = found.group("n").lower()
    count = _NUMBER_WORDS[said] if said in _NUMBER_WORDS else int(said)
    members = _members(found.group("members"))
    if len(members) != count:
        return []  # the claim's own list does not say how many it counts
    for items, sentence, source in _lists(passages, sentences):
        if not _cover(members, items):
            continue
        quote = sentence.sentence if sentence is not None else ""
        span = sentence.span if sentence is not None else None
        if len(items) == count:
            why = f"the evidence lists {count} {found.group('noun')}"
            return [Finding("count", SUPPORTED, why, source, quote, span)]
        if len(items) > count and sentence is None:
            why = f"the evidence lists {len(items)} where the claim counts {count}"
            return [Finding("count", CONTRADICTED, why, source, quote, span)]
    return []


def self_counted(text: str) -> set[float]:
    """The counts a claim bears out itself by listing that many members right after them
    ("you're asking two things: whether …, and whether …", "on two chairs, the blue fabric
    ($511.24) and the black leather ($503.76), both available"), right before them ("Lei,
    Ahmed and 19128: all three parts given"), or as that many amounts ("all three are
    high-back, at $483.95, $508.21 and $510.10"): a count of what it says, not a figure the
    evidence must hold."""
    out: set[float] = set()
    for found in _SELF_COUNTED.finditer(text):
        count = _count(found.group("n"))
        if len(_named_members(found.group("members"))) == count:
            out.add(float(count))
    before = _COUNTED_AFTER.match(text)
    if before is not None and len(_named_members(before.group("members"))) == _count(
        before.group("n")
    ):
        out.add(float(_count(before.group("n"))))
    runs = _amount_runs(text)
    for word in _COUNT_WORD.findall(text) if runs else ():
        if _count(word) in runs:
            out.add(float(_count(word)))
    return out


def _amount_runs(text: str) -> set[int]:
    """How many amounts each run of them the text lists holds ("$1, $2 and $3" holds 3), read
    in one pass over its amounts."""
    runs: set[int] = set()
    length, end = 0, -1
    for m in _AMOUNT.finditer(text):
        if length and _LAST_AMOUNT.fullmatch(text, end, m.start()):
            runs.add(length + 1)  # the run is closed; a longer one is another list
            length = 0
        elif length and _NEXT_AMOUNT.fullmatch(text, end, m.start()):
            length += 1
        else:
            length = 1
        end = m.end()
    return runs


def _count(said: str) -> int:
    said = said.lower()
    return _NUMBER_WORDS[said] if said in _NUMBER_WORDS else int(said)


def _named_members(text: str) -> list[set[str]]:
    """The members a list names, its asides in brackets left out, up to the first part that
    says something of them instead ("…, both available")."""
    parts = _MEMBER.split(re.sub(r"\([^()]*\)", " ", text))
    out: list[set[str]] = []
    for part in parts:
        if _NOT_A_MEMBER.match(part):
            break
        if terms := set(content_terms(part)) or set(re.findall(r"\w+", part)):
            out.append(terms)
    return out
