"""Two ways a rule's text rules a claim out without sharing most of its words:

- **the others excluded** — the evidence denies an act for "any other card" or "anyone else's
  account"; the claim allows that act for "a new card" or "a different account";
- **a reason the rule disregards** — the evidence says its rule holds "even when you already
  know your user id" or "even a family member's"; the claim gives that very thing as the
  reason for something ("since you know your user id, we can skip…").

Both are read in the sentences of passages (a record states no rules) and report the evidence
sentence that decides them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tether.grounding.claims import content_terms, norm
from tether.grounding.evidence_set import EvidenceClause
from tether.grounding.meaning import negated

SHARED = 0.6  # share of the disregarded condition's words the claim's reason must hold

# "any other card", "no other account", "anyone else's account"
_OTHERS = re.compile(
    r"\b(?:any|no)\s+other\s+(?P<noun>[a-z]+)|\b(?:anyone|anybody|someone)\s+else(?:'s)?"
    r"\s+(?P<owned>[a-z]+)",
    re.IGNORECASE,
)
# "a new debit card", "a different card", "another account", "someone else's account"
_ANOTHER = r"(?:different|other|another|new|second|separate)(?:\s+[a-z]+){0,2}?\s+"
_OTHER_WORD = re.compile(r"\b(?:different|other|another|new|second|separate)\b", re.I)
_POSSIBLE = re.compile(
    r"\b(?:can|could|may|will|able to|allowed|permitted|possible|okay|ok|fine)\b", re.IGNORECASE
)
# "even when you already know your user id", "even a family member's"
_EVEN = re.compile(
    r"\beven\s+(?:when|if|though|for|after|with)?\s*(?P<cond>[^,.;:!?]+)", re.IGNORECASE
)
# "since you know your user id, …", "because he's family, …"
_BECAUSE = re.compile(
    r"\b(?:since|because|as long as|now that|given that|seeing that)\s+(?P<cond>[^,.;:!?]+)",
    re.IGNORECASE,
)
# a claim that keeps the rule despite the reason ("…, you'll still need to verify")
_DESPITE = re.compile(r"\b(?:still|even|either|anyway|regardless)\b", re.IGNORECASE)
_FILLER = frozenset(norm(w) for w in ("already", "just", "even", "also", "really"))


def check_exclusions(
    clause: str, whole: str, sentences: Sequence[EvidenceClause]
) -> list[tuple[str, EvidenceClause]]:
    """Why a claim clause is ruled out by an evidence sentence, with that sentence."""
    return [*_others(clause, sentences), *_disregarded(clause, whole, sentences)]


def _others(clause: str, sentences: Sequence[EvidenceClause]) -> list[tuple[str, EvidenceClause]]:
    if _OTHER_WORD.search(clause) is None or negated(clause) or not _POSSIBLE.search(clause):
        return []
    mine = set(content_terms(clause))
    for n, s in enumerate(sentences):
        if not negated(s.text):
            continue
        for found in _OTHERS.finditer(s.text):
            noun = (found.group("noun") or found.group("owned")).lower()
            stem = noun[:-1] if noun.endswith("s") and len(noun) > 3 else noun
            said = re.search(rf"\b{_ANOTHER}{re.escape(stem)}s?\b", clause, re.IGNORECASE)
            if said is None:
                continue
            # the act is the one the sentence (or the one before it) speaks of
            near = set(s.terms)
            if n > 0 and sentences[n - 1].source == s.source:
                near |= sentences[n - 1].terms
            if not (mine - set(content_terms(said.group(0))) - {norm(noun)}) & near:
                continue
            why = (
                f"the evidence rules out {found.group(0)!r} where the claim allows "
                f"{said.group(0)!r}: {s.text.strip()[:80]!r}"
            )
            return [(why, s)]
    return []


def _disregarded(
    clause: str, whole: str, sentences: Sequence[EvidenceClause]
) -> list[tuple[str, EvidenceClause]]:
    reason = _BECAUSE.search(clause)
    if reason is None or _DESPITE.search(whole):
        return []
    cond = reason.group("cond")
    given = set(content_terms(cond)) - _FILLER
    if not given:
        return []
    for s in sentences:
        for found in _EVEN.finditer(s.text):
            theirs = set(content_terms(found.group("cond"))) - _FILLER
            if not theirs or negated(found.group("cond")) != negated(cond):
                continue
            # one word ("a flatmate's") must be said; of more, most and at least two
            held = theirs & given
            if held == theirs or (len(held) >= 2 and len(held) / len(theirs) >= SHARED):
                why = (
                    f"the evidence's rule holds {found.group(0).strip()!r}; the claim gives "
                    f"{reason.group(0).strip()!r} as a reason: {s.text.strip()[:80]!r}"
                )
                return [(why, s)]
    return []
