"""A claim that lets any member of something count ("you can cancel for any reason") where the
evidence limits which ("give one of these two reasons", "we cannot record any other reason",
"only for another variant").

Only the noun right after "any" is compared, by its stem, with the noun the evidence limits;
"any other …", a denied clause ("we can't record any other reason") and a condition ("if any
item is damaged") say nothing about every member, and a question asserts nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tether.grounding.claims import norm
from tether.grounding.evidence_set import EvidenceClause
from tether.grounding.meaning import negated

_ANY = re.compile(r"\bany\s+(?P<noun>[a-z]+)\b", re.IGNORECASE)
_NOT_A_NOUN = frozenset(("other", "more", "longer", "of", "one", "further", "time", "way"))
_CONDITION = re.compile(r"\b(?:if|whether|in case|unless|without)\b[^,;]*$", re.IGNORECASE)
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
            if s.source == "question":
                continue
            if any(p.search(s.text) for p in patterns):
                out.append((f"the claim allows any {noun}; the evidence limits which", s))
                break
    return out
