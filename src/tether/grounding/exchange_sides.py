"""Which side of an exchange the customer sends back: the question's "I'm exchanging the $120
blender for the $135 model" makes the $120 blender the one returned and the $135 model the one
received, so "send the $135 model back" swaps them. The two sides are told apart by the amounts
each states; a side stated by no amount, or by one both share, decides nothing.
"""

from __future__ import annotations

import re
from functools import lru_cache

from tether.grounding.arithmetic import among, money
from tether.grounding.facts import CONTRADICTED, Finding

_EXCHANGE = re.compile(
    r"\b(?:exchang\w*|swap\w*|trad\w*)\s+(?P<old>[^.?!;]{3,80}?)\s+for\s+(?P<new>[^.?!;]{3,80})",
    re.IGNORECASE,
)
_SENT_BACK = re.compile(
    r"\b(?:send|sending|sent|ship|return|returning|mail)\s+(?P<what>[^.;,]{2,50}?)\s+back\b|"
    r"\b(?:return|returning)\s+(?P<what2>[^.;,]{2,50})",
    re.IGNORECASE,
)


def check_exchange_sides(text: str, question: str) -> list[Finding]:
    """The item the question takes in by an exchange said to be the one sent back."""
    sides = _sides(question) if question else None
    if sides is None:
        return []
    was, old, new = sides
    for said in _SENT_BACK.finditer(text):
        sums = money(said.group("what") or said.group("what2"))
        swapped = [s for s in sums if among(s, new) and not among(s, old)]
        if swapped:
            why = f"the question exchanges {was!r} for it: that one is sent back, not this"
            return [Finding("swap", CONTRADICTED, why, "question", question, None)]
    return []


@lru_cache(maxsize=64)  # every clause of an answer asks about the same question
def _sides(question: str) -> tuple[str, list[float], list[float]] | None:
    """What the question exchanges: its words, and the amounts of each side."""
    asked = _EXCHANGE.search(question)
    if asked is None:
        return None
    return asked.group("old").strip()[:40], money(asked.group("old")), money(asked.group("new"))
