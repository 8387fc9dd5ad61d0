"""A floor the evidence sets, said to be lower: "a gift card must have enough balance to pay the
whole order total" against "the gift card balance can be lower than the order total" or "the
card only needs to cover part of the total". The evidence's "enough … to pay/cover B" puts A
at or above B; a claim that puts the same A below the same B contradicts it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tether.grounding.claims import content_terms
from tether.grounding.facts import CONTRADICTED, Finding
from tether.grounding.meaning import negated

if TYPE_CHECKING:
    from tether.grounding.evidence_clauses import EvidenceClause

_FLOOR = re.compile(
    r"(?P<a>[^.;:]{3,80}?)\b(?:must|has to|have to|needs? to|should)\s+(?:have|hold|carry)\s+"
    r"enough\s+(?P<what>\w+(?:\s+\w+)?)\s+to\s+(?:pay|cover)\s+(?:for\s+)?(?P<b>[^.;,]{2,60})",
    re.IGNORECASE,
)
_BELOW = re.compile(
    r"(?P<x>[^.;:]{3,80}?)\b(?:lower|less|smaller)\s+than\s+(?P<y>[^.;,]{2,60})|"
    r"(?P<x2>[^.;:]{3,80}?)\b(?:only\s+)?(?:needs?|has)\s+to\s+cover\s+(?:only\s+)?"
    r"(?:part|some|half|a\s+part|a\s+share)\s+of\s+(?P<y2>[^.;,]{2,60})|"
    r"(?P<x3>[^.;:]{3,80}?)\b(?:does\s*n[\u2019']?t|do\s*n[\u2019']?t|need\s*n[\u2019']?t|"
    r"need\s+not)\s+(?:need\s+to\s+)?cover\s+(?:the\s+)?(?:whole|full|entire)\s+(?P<y3>[^.;,]{2,60})",
    re.IGNORECASE,
)
_CUE = re.compile(r"\b(?:lower|less|smaller|cover)\b", re.IGNORECASE)  # what each form needs
_GENERIC = frozenset(content_terms("whole full entire even amount"))


def _terms(text: str) -> set[str]:
    return set(content_terms(text)) - _GENERIC


def check_floors(text: str, pool: Sequence[EvidenceClause]) -> list[Finding]:
    """A claim that puts below its floor what the evidence says must be enough to pay for it."""
    if not _CUE.search(text):
        return []
    said = _BELOW.search(text)
    # "can't be lower than the total" restates the floor; the third form denies by itself
    if said is None or (said.group("x3") is None and negated(said.group(0))):
        return []
    x = _terms(said.group("x") or said.group("x2") or said.group("x3"))
    y = _terms(said.group("y") or said.group("y2") or said.group("y3"))
    if not x or not y:
        return []
    for c in pool:
        floor = _FLOOR.search(c.sentence) if "enough" in c.sentence.lower() else None
        if floor is None:
            continue
        a = _terms(floor.group("a")) | _terms(floor.group("what"))
        b = _terms(floor.group("b"))
        if x & a and y & b and not x & b:
            why = f"the evidence sets a floor: {floor.group(0).strip()[:80]!r}"
            return [Finding("scope", CONTRADICTED, why, c.source, c.sentence, c.span)]
    return []
