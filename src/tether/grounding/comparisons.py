"""Prices compared between the objects of a record's list: "the kettle is cheaper than the
boots", "the 6mm mat is the most expensive". Each object is found by its name, its name's
last word, or the values the clause states of it, and the comparison is judged by the prices
the record gives them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from tether.grounding.bindings import IN_STOCK, OUT_OF_STOCK
from tether.grounding.bound_prices import price_of
from tether.grounding.facts import CONTRADICTED, SUPPORTED
from tether.grounding.fields import MONEY, FieldFinding, RecordView
from tether.grounding.list_objects import leaf_values, mentions_value, objects
from tether.grounding.meaning import negated

_CHEAPER = r"cheaper|less expensive|lower[- ]priced|costs? less|cost less|priced lower"
_DEARER = r"more expensive|pricier|dearer|higher[- ]priced|costs? more|cost more|priced higher"
_COMPARE = re.compile(rf"\b(?P<word>{_CHEAPER}|{_DEARER})\s+than\b", re.IGNORECASE)
# "costs the same as", "is as expensive as": the two prices are one
_SAME = re.compile(
    r"\b(?P<word>(?:costs?|is|are|priced) (?:exactly )?the same(?: price)? as|"
    r"(?:is|are|costs?) (?:just )?as (?:expensive|cheap|much) as)\b",
    re.IGNORECASE,
)


def _said_head(text: str, name: str) -> bool:
    """The name's last word said (singular or plural): "the kettle", "the boots"."""
    head = name.split()[-1].lower() if name.split() else ""
    if len(head) < 3:
        return False
    stem = head[:-1] if head.endswith("s") else head
    return re.search(rf"\b{re.escape(stem)}s?\b", text.lower()) is not None


def _identify(
    text: str, siblings: Sequence[tuple[str, dict[str, str], Mapping[str, Any]]]
) -> list[tuple[str, dict[str, str], Mapping[str, Any]]]:
    named = [s for s in siblings if "name" in s[1] and mentions_value(text, s[1]["name"])]
    if named:
        return named
    # "the boots" for "Hiking Boots": a name's last word, when no other item shares it
    heads = [s for s in siblings if "name" in s[1] and _said_head(text, s[1]["name"])]
    if len(heads) == 1:
        return heads
    scored = [(sum(mentions_value(text, x) for x in s[1].values()), s) for s in siblings]
    top = max((n for n, _ in scored), default=0)
    best = [s for n, s in scored if n == top and n >= 2]
    if len(best) != 1:
        # "the clicky full-size one ($269.16)": the price it states picks one of those alike
        said = {float((m.group(1) or m.group(2)).replace(",", "")) for m in MONEY.finditer(text)}
        priced = [s for s in (best or siblings) if price_of(s[2]) in said]
        if len(priced) == 1:
            return priced
    return best


def _like(
    text: str,
    other: tuple[str, dict[str, str], Mapping[str, Any]],
    siblings: Sequence[tuple[str, dict[str, str], Mapping[str, Any]]],
) -> list[tuple[str, dict[str, str], Mapping[str, Any]]]:
    """The object a side names by a value alone ("than the purple one"), when several hold
    it: the one most like the object it is compared with, whose other values it leaves
    unsaid (the purple crew neck in XL, beside "in XL, the black crew neck")."""
    said = [
        s
        for s in siblings
        if s[0] != other[0] and any(len(x) > 1 and mentions_value(text, x) for x in s[1].values())
    ]
    scored = [(sum(other[1].get(k) == x for k, x in s[1].items()), s) for s in said]
    top = max((n for n, _ in scored), default=0)
    best = [s for n, s in scored if n == top]
    return best if top >= 1 and len(best) == 1 else []


def _parent(path: str) -> str:
    return path.rsplit(".", 1)[0] if "." in path else ""


def check_comparisons(clause: str, views: Sequence[RecordView]) -> list[FieldFinding]:
    """ "X is cheaper than Y" (or "costs the same as Y") between two objects of a record's
    list, by their prices."""
    found = _COMPARE.search(clause)
    same = None if found else _SAME.search(clause)
    if same is not None and not negated(clause[: same.end()]):
        found = same
    if found is None:
        return _superlatives(clause, views)
    left, right = clause[: found.start()], clause[found.end() :]
    cheaper = re.fullmatch(_CHEAPER, found.group("word"), re.IGNORECASE) is not None
    out: list[FieldFinding] = []
    for v in views:
        siblings = [(p, leaf_values(o), o) for p, o in objects(v.record) if price_of(o) is not None]
        a, b = _identify(left, siblings), _identify(right, siblings)
        if len(a) == 1 and not b:
            b = _like(right, a[0], siblings)
        if len(a) != 1 or len(b) != 1 or a[0][0] == b[0][0]:
            continue
        if _parent(a[0][0]) != _parent(b[0][0]):
            continue
        pa, pb = price_of(a[0][2]), price_of(b[0][2])
        if pa is None or pb is None or (pa == pb and found is not same):
            continue
        holds = abs(pa - pb) <= 0.005 if found is same else (pa < pb) == cheaper
        out.append(
            FieldFinding(
                f"{v.evidence_id}:{a[0][0]}",
                "binding",
                SUPPORTED if holds else CONTRADICTED,
                found.group(0),
                pa,
                () if holds else (f"{a[0][0]} costs {pa:g} and {b[0][0]} {pb:g}",),
            )
        )
    return out


# a price said as the size of what was spent: "the bigger spend", "the smallest purchase"
_OUTLAY = r"(?:spend|purchase|expense|outlay|cost)"
_MOST = re.compile(
    r"\b(?P<low>cheapest|least expensive|lowest[- ]priced|the cheaper(?: one| item| of)?|"
    rf"(?:smaller|smallest|lower|lowest)\s+{_OUTLAY})\b|"
    r"\b(?P<high>most expensive|priciest|dearest|highest[- ]priced|"
    r"the (?:more expensive|pricier|dearer)(?: one| item| of)?|"
    rf"(?:bigger|biggest|larger|largest|higher|highest)\s+{_OUTLAY})\b",
    re.IGNORECASE,
)


def _superlatives(clause: str, views: Sequence[RecordView]) -> list[FieldFinding]:
    """ "X is the cheapest" (of those in stock, when the clause says so), by the prices."""
    found = _MOST.search(clause)
    if found is None:
        return []
    # the object is named in the superlative's own clause, before it ("X is the cheapest")
    # or, failing that, after it ("the cheapest is X"): another clause names another object
    start = clause.rfind(";", 0, found.start()) + 1
    end = clause.find(";", found.end())
    before = clause[start : found.start()]
    rest = before + " " + clause[found.end() : end if end >= 0 else len(clause)]
    out: list[FieldFinding] = []
    for v in views:
        siblings = [(p, leaf_values(o), o) for p, o in objects(v.record) if price_of(o) is not None]
        if IN_STOCK.search(rest) and not OUT_OF_STOCK.search(rest):
            siblings = [s for s in siblings if s[2].get("available") is not False]
        chosen = _identify(before, siblings)
        if len(chosen) != 1:
            chosen = _identify(rest, siblings)
        if len(chosen) != 1:
            continue
        parent = _parent(chosen[0][0])
        siblings = [s for s in siblings if _parent(s[0]) == parent]
        if len(siblings) < 2:
            continue
        prices = [p for s in siblings for p in [price_of(s[2])] if p is not None]
        mine = price_of(chosen[0][2])
        if mine is None:
            continue
        # "the cheapest you can buy today": the clause may mean the ones in stock even when
        # it does not say so; either reading holding is enough
        stocked = [
            p
            for s in siblings
            if s[2].get("available") is not False
            for p in [price_of(s[2])]
            if p is not None
        ] or prices
        pick = min if found.group("low") else max
        holds = mine in (pick(prices), pick(stocked))
        reason = f"{chosen[0][0]} costs {mine:g}; the prices run {min(prices):g} to {max(prices):g}"
        out.append(
            FieldFinding(
                f"{v.evidence_id}:{chosen[0][0]}",
                "binding",
                SUPPORTED if holds else CONTRADICTED,
                found.group(0),
                mine,
                () if holds else (reason,),
            )
        )
    return out
