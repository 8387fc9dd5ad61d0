"""The prices a clause states of the objects it binds them to: an item's own price, another
item's price pinned on it, or a difference between two ("$1,555.75 more than the earbuds"),
which is no one's price. Read by `tether.grounding.bindings`."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from tether.grounding.facts import CONTRADICTED
from tether.grounding.fields import AMOUNT_KEY, MONEY, FieldFinding, RecordView

Sibling = tuple[str, dict[str, str], Mapping[str, Any]]  # path, short values by key, object


def price_of(obj: Mapping[str, Any]) -> float | None:
    """The object's price: the value of its first amount key."""
    for key, value in obj.items():
        if (
            AMOUNT_KEY.search(str(key))
            and isinstance(value, int | float)
            and not isinstance(value, bool)
        ):
            return float(value)
    return None


_BY_HOW_MUCH = re.compile(r"\s+(?:more|less|cheaper|dearer|short)\b", re.IGNORECASE)


def bound_prices(
    text: str, v: RecordView, path: str, obj: Mapping[str, Any], siblings: Sequence[Sibling]
) -> list[FieldFinding]:
    """A price stated of the bound object that is not its price (another object's, or none)."""
    mine = price_of(obj)
    if mine is None:
        return []
    others = {p for s in siblings if s[2] is not obj for p in [price_of(s[2])] if p is not None}
    # "$1,555.75 more than the earbuds" is a difference, no one's price
    said_sums = [m for m in MONEY.finditer(text) if not _BY_HOW_MUCH.match(text, m.end())]
    amounts = [float((m.group(1) or m.group(2)).replace(",", "")) for m in said_sums]
    if any(abs(a - mine) <= 0.005 for a in amounts):
        return []  # its price is said; other sums (a total) may stand beside it
    out: list[FieldFinding] = []
    for match in said_sums:
        said = float((match.group(1) or match.group(2)).replace(",", ""))
        # another item's price, or the only sum said of it
        if any(abs(said - o) <= 0.005 for o in others) or len(amounts) == 1:
            out.append(
                FieldFinding(
                    f"{v.evidence_id}:{path}",
                    "binding",
                    CONTRADICTED,
                    match.group(0),
                    mine,
                    (f"{path} costs {mine:g}, not {said:g}",),
                )
            )
    return out


def swapped_price(
    text: str, v: RecordView, path: str, siblings: Sequence[Sibling]
) -> list[FieldFinding]:
    """Several objects priced in one clause ("the watch is $1261.14 and the phone $381.87"):
    the one sum in an object's stretch is another object's price, not its own."""
    sums = [float((m.group(1) or m.group(2)).replace(",", "")) for m in MONEY.finditer(text)]
    mine = next((price_of(s[2]) for s in siblings if s[0] == path), None)
    if len(sums) != 1 or mine is None or abs(sums[0] - mine) <= 0.005:
        return []
    others = [p for s in siblings if s[0] != path and (p := price_of(s[2])) is not None]
    if not any(abs(sums[0] - o) <= 0.005 for o in others):
        return []
    why = f"{path} costs {mine:g}, not {sums[0]:g}"
    return [FieldFinding(f"{v.evidence_id}:{path}", "binding", CONTRADICTED, "", mine, (why,))]
