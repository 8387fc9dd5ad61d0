"""A member of what the evidence grants together, split off from the rest: "I can go through
your profile, but not the products inside your orders" against "we can tell you about your own
profile, your orders and the products in them".

An evidence sentence that does not deny, listing members joined by "and" (all of them, not
one of several alternatives), gives them the same standing. A claim keeping one member ("your
profile") and setting another aside with "but not" or "though not" ("the products inside your
orders") says
they differ where the evidence says they do not. Each side must name a different member by
most of that member's words; a list of alternatives ("… or a gift card") decides nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tether.grounding.claims import content_terms
from tether.grounding.evidence_clauses import EvidenceClause

# "your profile, but not the products inside your orders" (read plainly: "…, but it is not
# your orders"): what is kept, and what is not
_BUT_NOT = re.compile(
    r"(?P<kept>[^.;:!?]+?),?\s+(?:but|yet|though|although|while)\s+(?:(?:it|they)\s+(?:is|are)\s+)?"
    r"not\s+(?P<out>[^,.;:!?]+)",
    re.IGNORECASE,
)
_MEMBER = re.compile(r",\s*(?:and\s+)?|\s+and\s+", re.IGNORECASE)
_ALTERNATIVES = re.compile(r"\b(?:or|either|nor)\b", re.IGNORECASE)
_NAMED = 0.5  # share of a member's words a side must hold to name it


def check_split_lists(
    text: str, sentences: Sequence[EvidenceClause]
) -> list[tuple[str, EvidenceClause]]:
    """(reason, evidence sentence) when the claim keeps one member of a list the evidence
    grants together and sets another aside."""
    found = _BUT_NOT.search(text)
    if found is None:
        return []
    kept = set(content_terms(found.group("kept")))
    out = set(content_terms(found.group("out")))
    for s in sentences:
        if s.negated or _ALTERNATIVES.search(s.sentence) or " and " not in s.sentence:
            continue
        members = [set(content_terms(p)) for p in _MEMBER.split(s.sentence)]
        members = [m for m in members if m]
        if len(members) < 3:
            continue  # a list of two or more joined to what grants them
        set_aside = [n for n, m in enumerate(members) if _names(out - kept, m)]
        keeping = [n for n, m in enumerate(members) if _names(kept - out, m)]
        if set_aside and keeping and not set(set_aside) & set(keeping):
            why = "the evidence grants what the claim keeps and what it sets aside together"
            return [(why, s)]
    return []


def _names(side: set[str], member: set[str]) -> bool:
    return bool(side & member) and len(side & member) >= _NAMED * len(member)
