"""A state word said of a sum is said of the money, not of the record it is in.

"The $308.38 you paid was refunded" tells where the money went; the order's status stays what
the record says. "Your order of $308.38 was delivered" still speaks of the order, and so does
"the tablet, for which you paid $962.34, hasn't been processed" or "it was paid ($261.11) and
has shipped".
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_MONEY_WORD = re.compile(
    r"[$£€]\s?\d[\d,]*(?:\.\d+)?|\b(?:money|payment|amount|sum|charge|balance|refund)\b", re.I
)
_THING = re.compile(r"\b(?:order|item|package|parcel|shipment)s?\b", re.IGNORECASE)


def money_words(clause: str) -> list[re.Match[str]]:
    """The sums and money nouns of `clause`, in order."""
    return list(_MONEY_WORD.finditer(clause))


def said_of_money(clause: str, start: int, sums: Sequence[re.Match[str]]) -> bool:
    """Whether the state word at `start` has a sum for its subject: the nearest money word
    before it, a few words away, with no order, item or parcel named around it. `sums` are
    the clause's `money_words`."""
    last = next((m for m in reversed(sums) if m.end() <= start), None)
    if last is None:
        return False
    between = clause[last.end() : start]
    if len(between.split()) > 8:
        return False
    # a sum inside an aside set off by commas is not the subject of what follows it ("the
    # tablet, for which you paid $962.34, hasn't been processed")
    if "," in between and "," in clause[: last.start()]:
        return False
    # nor is a sum in brackets ("it was paid ($261.11) and has shipped")
    if between.lstrip().startswith(")"):
        return False
    lead = " ".join(clause[max(0, last.start() - 40) : last.start()].split()[-3:])
    return not _THING.search(lead) and not _THING.search(between)
