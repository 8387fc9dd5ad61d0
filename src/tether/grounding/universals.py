"""A claim that lets any member of something count ("you can cancel for any reason") where the
evidence limits which ("give one of these two reasons", "we cannot record any other reason",
"only for another variant").

Only the noun right after "any" is compared, by its stem, with the noun the evidence limits;
"any other …", a denied clause ("we can't record any other reason") and a condition ("if any
item is damaged") say nothing about every member, and a question asserts nothing.

A limit lifted says the same in other words: "exchanges aren't limited to the same product"
(where "a different kind of product is not possible"), or "only gift cards are excluded" (where
the evidence rules out "any other card"). Their noun is the last word of the phrase they limit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tether.grounding.claims import norm
from tether.grounding.evidence_clauses import EvidenceClause
from tether.grounding.meaning import negated

_ANY = re.compile(r"\bany\s+(?P<noun>[a-z]+)\b", re.IGNORECASE)
_NOT_A_NOUN = frozenset(("other", "more", "longer", "of", "one", "further", "time", "way"))
_CONDITION = re.compile(r"\b(?:if|whether|in case|unless|without)\b[^,;]*$", re.IGNORECASE)
# "aren't limited to the same product", "is not restricted to one reason"
_LIFTED = re.compile(
    r"\b(?:(?:is|are|was|were)n[\u2019']t|(?:is|are|was|were)\s+not)\s+"
    r"(?:limited|restricted|confined|tied)\s+to\s+(?P<what>(?:(?!(?:and|or|but|nor|so|as|such|"
    r"because|since|which|that|if|when|while|in|for|with)\b)[a-z'-]+\s*){1,4})",
    re.IGNORECASE,
)
# "only gift cards are excluded": every member but the ones named is allowed
_ONLY_EXCLUDED = re.compile(
    r"\bonly\s+(?P<what>(?:[a-z'-]+\s+){0,3}?[a-z'-]+)\s+(?:is|are)\s+"
    r"(?:excluded|ruled\s+out|not\s+(?:allowed|accepted|possible|eligible))\b",
    re.IGNORECASE,
)
_DENIAL = re.compile(r"\b(?:not|no|never|cannot|nor)\b|n[\u2019']t\b", re.IGNORECASE)
# the evidence rules every other member out: "a different kind of product is not possible"
_OTHERS_DENIED = r"\b(?:different|other|another)\s+(?:[a-z]+\s+){{0,2}}?{noun}"
# what limits a noun in the evidence: "one of these two reasons", "no other reason", "only …"
_LIMITS = (
    r"\bone of (?:these|those|the following|the)\s+(?:\w+\s+)?{noun}",
    r"\b(?:any|no) other\s+(?:\w+\s+)?{noun}",
    r"\bonly\b[^.;:]*?\b{noun}",
)


def any_nouns(clause: str) -> list[str]:
    """The nouns an affirmative clause lets every member of count ("for any reason")."""
    if negated(clause):
        return []
    out = []
    for m in _ANY.finditer(clause):
        noun = m.group("noun").lower()
        if noun in _NOT_A_NOUN or _CONDITION.search(clause[: m.start()]):
            continue
        out.append(noun)
    return out


def check_limits(
    clause: str, sentences: Iterable[EvidenceClause]
) -> list[tuple[str, EvidenceClause]]:
    """(reason, evidence sentence) for each "any N" the evidence limits."""
    nouns = any_nouns(clause)
    if not nouns:
        return []
    out: list[tuple[str, EvidenceClause]] = []
    for noun in nouns:
        stem = re.escape(norm(noun))
        patterns = [re.compile(p.format(noun=stem + r"\w*"), re.IGNORECASE) for p in _LIMITS]
        for s in sentences:
            if any(p.search(s.text) for p in patterns):
                out.append((f"the claim allows any {noun}; the evidence limits which", s))
                break
    return out


def lifted_nouns(clause: str) -> list[tuple[str, bool]]:
    """The nouns a clause says a limit does not hold for, each with whether only the members it
    names are ruled out ("only gift cards are excluded") rather than the limit lifted whole
    ("not limited to the same product"). A second denial before it keeps the limit."""
    out: list[tuple[str, bool]] = []
    for m in _LIFTED.finditer(clause):
        if len(_DENIAL.findall(clause[: m.end()])) == 1:
            out.extend((noun, False) for noun in _head(m.group("what")))
    for m in _ONLY_EXCLUDED.finditer(clause):
        if not _DENIAL.search(clause[: m.start()]):
            out.extend((noun, True) for noun in _head(m.group("what")))
    return out


def check_lifted(
    clause: str, sentences: Iterable[EvidenceClause]
) -> list[tuple[str, EvidenceClause]]:
    """(reason, evidence sentence) for each limit the claim lifts that the evidence sets."""
    out: list[tuple[str, EvidenceClause]] = []
    pool = list(sentences)
    for noun, named in lifted_nouns(clause):
        stem = re.escape(norm(noun)) + r"\w*"
        # the evidence says it itself: nothing is lifted
        if any(p.search(s.text) for s in pool for p in (_LIFTED, _ONLY_EXCLUDED)):
            continue
        # the evidence rules the other members out in so many words ("we cannot send it to any
        # other card", "a different kind of product is not possible"); an "only" may merely
        # describe ("people only think of it as …")
        patterns = [re.compile(r"\b(?:any|no)\s+other\s+(?:\w+\s+)?" + stem, re.IGNORECASE)]
        if not named:
            patterns.append(re.compile(_OTHERS_DENIED.format(noun=stem), re.IGNORECASE))
        for s in pool:
            if not negated(s.text):
                continue
            if any(p.search(s.text) for p in patterns):
                what = "rules out more" if named else "limits which"
                out.append((f"the claim lifts a limit on {noun}; the evidence {what}", s))
                break
    return out


def _head(phrase: str) -> list[str]:
    """The noun a phrase ends on ("the same product" → product), as a one-item list."""
    words = [w for w in re.findall(r"[a-z]+", phrase.lower()) if w not in _NOT_A_NOUN]
    return words[-1:] if words and len(words[-1]) > 2 else []
