"""The prices a clause states of the objects it binds them to: an item's own price, another
item's price pinned on it, or a difference between two ("$1,555.75 more than the earbuds"),
which is no one's price. Read by `tether.grounding.bindings`."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from tether.grounding.claims import rounds_to
from tether.grounding.facts import CONTRADICTED
from tether.grounding.fields import AMOUNT_KEY, MONEY, FieldFinding, RecordView
from tether.grounding.list_objects import Sibling


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


_BY_HOW_MUCH = re.compile(r"\s+(?:more|less|cheaper|dearer|pricier|short)\b", re.IGNORECASE)
# "the pricier of the two by $156.60", "cheaper by about $5": the sum is the gap between two
_BY_THE_GAP = re.compile(
    r"\b(?:more|less|cheaper|dearer|pricier|costlier|higher|lower)\b(?:\s+of\s+the\s+\w+)?"
    r"\s+by\s+(?:about\s+|roughly\s+|nearly\s+|almost\s+|just\s+|some\s+|over\s+)?$",
    re.IGNORECASE,
)
# "about 71 % of the $877.45", "a third of your $600": the whole a share is taken of
_SHARE_WORD = (
    r"(?:%|\bper\s*cent|\bhalf|\bthirds?|\bquarters?|\bfifths?|\bshare|\bpart|\bportion|"
    r"\bfraction)"
)
_WHOLE_OF = re.compile(
    rf"{_SHARE_WORD}\s+of\s+(?:the\s+|your\s+|its\s+|their\s+)?$",
    re.IGNORECASE,
)


# "paid the $4,803.37, and the machine makes up roughly 58 % of that": a later share of "that"
# refers back to the sum, a whole (looked for over a bounded stretch after it)
_SHARE_OF_IT = re.compile(
    rf"{_SHARE_WORD}\s+of\s+(?:that|it|this|which)\b",
    re.IGNORECASE,
)
_SHARE_REACH = 160


def share_whole(text: str, match: re.Match[str]) -> bool:
    """Whether the sum `match` finds is a whole a share is said of: "about 78 % of the
    $1,617.37", or "the $4,803.37 …, roughly 58 % of that"."""
    before = text[max(0, match.start() - _SHARE_REACH) : match.start()]
    return _WHOLE_OF.search(before) is not None or _whole_of_a_later_share(text, match)


def _whole_of_a_later_share(text: str, match: re.Match[str]) -> bool:
    """Whether a share of "that" or "it" follows the sum before any other sum does."""
    after = text[match.end() : match.end() + _SHARE_REACH]
    share = _SHARE_OF_IT.search(after)
    return share is not None and MONEY.search(after, 0, share.start()) is None


# "the two tablets put together ($2,008.67)", "the rest combined, $311.20": a sum of others
_SUM_OF_OTHERS = re.compile(
    r"\b(?:together|combined|put\s+together|in\s+all|between\s+them|added\s+up)\s*[(,:]?\s*$",
    re.IGNORECASE,
)


def _own_sums(text: str, others: set[float]) -> list[re.Match[str]]:
    """The sums a stretch states that may be an object's price: "$1,555.75 more than the
    earbuds" or "dearer by $156.60" is a difference, no one's price (unless it is another
    object's price: "the cheaper of the two by" the dearer one's price is a swap), and "71 % of
    the $877.45" a whole."""
    return [
        m
        for m in MONEY.finditer(text)
        if not _BY_HOW_MUCH.match(text, m.end())
        and not _WHOLE_OF.search(text[max(0, m.start() - _SHARE_REACH) : m.start()])
        and not (_BY_THE_GAP.search(text[: m.start()]) and not _a_price(m, others))
        and not _SUM_OF_OTHERS.search(text[max(0, m.start() - 40) : m.start()])
        and not _whole_of_a_later_share(text, m)
    ]


# "about $244" of $243.62, "just under $250" of $249.01: a figure said as a rounding, or as a
# bound the price is near
_ROUGHLY = re.compile(
    r"\b(?:(?P<about>about|around|roughly|approximately|approx\.?|some|close\s+to)|"
    r"(?P<under>(?:just|a\s+(?:little|bit|touch))\s+(?:under|below|shy\s+of|less\s+than)|"
    r"nearly|almost)|"
    r"(?P<over>(?:just|a\s+(?:little|bit|touch))\s+(?:over|above|more\s+than)))\s*~?\s*$|"
    r"(?P<tilde>~)\s*$",
    re.IGNORECASE,
)


def _rounded(match: re.Match[str], said: float, mine: float, text: str) -> bool:
    """Whether a hedged whole figure is the price rounded ("about $244" of $243.62), or a
    bound it keeps ("just under $250" of $249.01, never "just under $500" of $502.28)."""
    if not said.is_integer():
        return False
    hedge = _ROUGHLY.search(text[max(0, match.start() - 30) : match.start()])
    if hedge is None:
        return False
    near = abs(said - mine) < 0.5 or (said >= 10 and rounds_to(mine, said))
    if hedge.group("under"):
        return near and mine <= said
    if hedge.group("over"):
        return near and mine >= said
    return near


def _a_price(match: re.Match[str], prices: set[float]) -> bool:
    said = float((match.group(1) or match.group(2)).replace(",", ""))
    return any(abs(said - p) <= 0.005 for p in prices)


def bound_prices(
    text: str, v: RecordView, path: str, obj: Mapping[str, Any], siblings: Sequence[Sibling]
) -> list[FieldFinding]:
    """A price stated of the bound object that is not its price (another object's, or none)."""
    mine = price_of(obj)
    if mine is None:
        return []
    others = {p for s in siblings if s[2] is not obj for p in [price_of(s[2])] if p is not None}
    said_sums = _own_sums(text, others)
    amounts = [float((m.group(1) or m.group(2)).replace(",", "")) for m in said_sums]
    if any(abs(a - mine) <= 0.005 for a in amounts) or any(
        _rounded(m, a, mine, text) for m, a in zip(said_sums, amounts, strict=True)
    ):
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
    mine = next((price_of(s[2]) for s in siblings if s[0] == path), None)
    others = [p for s in siblings if s[0] != path and (p := price_of(s[2])) is not None]
    sums = [
        float((m.group(1) or m.group(2)).replace(",", "")) for m in _own_sums(text, set(others))
    ]
    if len(sums) != 1 or mine is None or abs(sums[0] - mine) <= 0.005:
        return []
    if not any(abs(sums[0] - o) <= 0.005 for o in others):
        return []
    why = f"{path} costs {mine:g}, not {sums[0]:g}"
    return [FieldFinding(f"{v.evidence_id}:{path}", "binding", CONTRADICTED, "", mine, (why,))]


def others_amount(
    text: str, v: RecordView, picked: Sibling, siblings: Sequence[Sibling]
) -> list[FieldFinding]:
    """A nameless object holding no amount (an account's PayPal, beside a gift card with a
    balance) that a value only it holds picks out ("your PayPal account"), said to hold an
    amount another object holds ("holds a $64 balance" where the gift card does). An object
    with amounts of its own is judged by `bound_prices` when the clause binds it."""
    if _amounts(picked[2]):
        return []
    others = [a for s in siblings if s is not picked for a in _amounts(s[2])]
    out: list[FieldFinding] = []
    for match in MONEY.finditer(text):
        said = float((match.group(1) or match.group(2)).replace(",", ""))
        if _BY_HOW_MUCH.match(text, match.end()):
            continue
        if any(abs(said - a) <= 0.005 for a in others):
            why = f"{picked[0]} holds no {said:g}; another of its list does"
            where = f"{v.evidence_id}:{picked[0]}"
            out.append(FieldFinding(where, "binding", CONTRADICTED, match.group(0), None, (why,)))
    return out


def _amounts(obj: Mapping[str, Any]) -> list[float]:
    return [
        float(x)
        for k, x in obj.items()
        if AMOUNT_KEY.search(str(k)) and isinstance(x, int | float) and not isinstance(x, bool)
    ]
