"""Two steps said in the other order than the evidence gives them: "we'll check the tablet
order first and verify you after that" where "before we look at any account, order or payment
detail, we verify your identity".

An evidence sentence orders two acts by "before", "after", "once" or "then"; a claim orders two
by the same words or by "first … after that". Each of the claim's acts is matched to the
evidence act sharing more of its words (and at least one): when the claim's earlier act is the
evidence's later one and the other way round, the order is reversed, unless another evidence
sentence gives the claim's order with as many shared words. A claim whose acts match one
evidence act, or neither, decides nothing; so does a sentence about a possibility ("if",
"whether") or a question.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import lru_cache

from tether.grounding.claims import content_terms
from tether.grounding.evidence_clauses import EvidenceClause

_SIDE = r"[^,;:.!?]{3,120}?"  # an act, up to the next punctuation
_TAIL = r"[^,;:.!?]{3,120}"  # the act that ends the clause, as far as it goes
# the clause that follows a leading "before …," opens with its subject
_SUBJECT = r"(?:we|you|i|it|they|he|she|the|your|our|this|that)\b"
# an act is a clause of someone doing something: "before we look", not "after the game"
_DOER = r"\b(?:we|you|i|they|he|she)\b"
# "before we look at any account, order or payment detail, we verify you": the later act
# first, its list's commas included
_LEAD_LATER = re.compile(
    rf"\b(?:before|until)\s+(?P<later>{_DOER}[^;:.!?]{{3,120}}?),\s*(?P<earlier>{_SUBJECT}{_TAIL})",
    re.IGNORECASE,
)
_LEAD_EARLIER = re.compile(
    rf"\b(?:after|once)\s+(?P<earlier>[^;:.!?]{{3,120}}?),\s*(?P<later>{_SUBJECT}{_TAIL})",
    re.IGNORECASE,
)
# "we verify you before we look", "we look after we verify you", "we verify you and then we
# look"
_INLINE = (
    re.compile(rf"(?P<earlier>{_SIDE})\s+before\s+(?P<later>{_DOER}{_TAIL})", re.IGNORECASE),
    re.compile(rf"(?P<later>{_SIDE})\s+after\s+(?P<earlier>{_DOER}{_TAIL})", re.IGNORECASE),
    re.compile(
        rf"(?P<earlier>{_DOER}{_SIDE}),?\s+(?:and\s+)?then\s+(?P<later>{_TAIL})", re.IGNORECASE
    ),
)
_LOOSE = (
    re.compile(rf"(?P<earlier>{_SIDE})\s+before\s+(?P<later>{_SUBJECT}{_TAIL})", re.IGNORECASE),
    re.compile(rf"(?P<later>{_SIDE})\s+after\s+(?P<earlier>{_SUBJECT}{_TAIL})", re.IGNORECASE),
)
# "check the order first and verify you after that", "… first, and then verify you": "first"
# and a word that joins the next step ("first, as it guides you" gives a reason, not a step)
_FIRST = re.compile(
    rf"(?P<earlier>{_SIDE})\s+first\b,?\s+(?:and\s+(?:then\s+)?|then\s+)(?P<later>{_TAIL})",
    re.IGNORECASE,
)
_CASE = re.compile(r"\b(?:if|unless|whether)\b", re.IGNORECASE)
_CUE = re.compile(r"\b(?:before|after|once|until|then|first)\b", re.IGNORECASE)


def check_step_order(
    text: str, sentences: Sequence[EvidenceClause]
) -> list[tuple[str, EvidenceClause]]:
    """(why, evidence sentence) for each pair of acts the claim orders against the evidence."""
    if _CUE.search(text) is None or text.rstrip().endswith("?") or _CASE.search(text):
        return []
    said = list(_ordered(text, claim=True))
    if not said:
        return []
    # the evidence order the claim's acts share most words with decides; a tie, nothing
    best_for, best_against, against = 0, 0, None
    for s in sentences:
        if _CUE.search(s.text) is None:
            continue
        for (earlier, later), heads in _evidence_orders(s.text):
            for (first, then), own in said:
                if _matches(first, earlier, later, own[0], heads) and _matches(
                    then, later, earlier, own[1], heads[::-1]
                ):
                    best_for = max(best_for, len(first & earlier) + len(then & later))
                if _matches(first, later, earlier, own[0], heads[::-1]) and _matches(
                    then, earlier, later, own[1], heads
                ):
                    score = len(first & later) + len(then & earlier)
                    if score > best_against:
                        best_against, against = score, s
    if against is None or best_against <= best_for:
        return []
    return [("the claim puts the steps in the other order than the evidence does", against)]


_Acts = tuple[frozenset[str], frozenset[str]]


def agrees(text: str, sentence: str) -> bool:
    """Whether the claim orders two acts as the evidence sentence does, in other words ("you
    confirm before the status becomes …" of "after you confirm, the status becomes …")."""
    for (first, then), own in _ordered(text, claim=True, loose=True):
        for (earlier, later), heads in _evidence_orders(sentence):
            if _matches(first, earlier, later, own[0], heads) and _matches(
                then, later, earlier, own[1], heads[::-1]
            ):
                return True
    return False


@lru_cache(maxsize=4096)
def _evidence_orders(text: str) -> tuple[tuple[_Acts, tuple[str, str]], ...]:
    """An evidence sentence's orders, read once (every claim of an answer asks)."""
    return tuple(_ordered(text, claim=False))


def _ordered(
    text: str, claim: bool, loose: bool = False
) -> Iterator[tuple[_Acts, tuple[str, str]]]:
    """(earlier act's words, later act's words) for each order the text states, with the
    word each act opens with past its doer (its verb, as a rule: "you confirm" → confirm).
    `loose` also reads an act after "before" or "after" that opens with a thing ("before the
    status becomes …"): only to find an order the evidence gives, never one against it."""
    patterns = [_LEAD_LATER, _LEAD_EARLIER, *_INLINE, *((_FIRST,) if claim else ())]
    if loose:
        patterns.extend(_LOOSE)
    for pattern in patterns:
        found = pattern.search(text)
        if found is None:
            continue
        earlier = content_terms(found.group("earlier"))
        later = content_terms(found.group("later"))
        if earlier and later:
            yield (frozenset(earlier), frozenset(later)), (earlier[0], later[0])


def _matches(
    act: frozenset[str],
    side: frozenset[str],
    other: frozenset[str],
    head: str = "",
    heads: tuple[str, str] = ("", ""),
) -> bool:
    """The act shares words with `side`, more of them than with `other`; as many of each when
    the act opens with the word `side` opens with (its verb: "you confirm the exchange" is the
    act "you confirm", not "the status becomes exchange requested")."""
    mine, theirs = len(act & side), len(act & other)
    return mine > 0 and (mine > theirs or (mine == theirs and head == heads[0] != heads[1]))
