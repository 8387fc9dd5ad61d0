"""Prices compared between the objects of a record's list: "the kettle is cheaper than the
boots", "the 6mm mat is the most expensive". Each object is found by its name, its name's
last word, or the values the clause states of it, and the comparison is judged by the prices
the record gives them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from itertools import islice
from typing import Any

from tether.grounding.bindings import IN_STOCK, OUT_OF_STOCK
from tether.grounding.bound_prices import price_of
from tether.grounding.facts import CONTRADICTED, SUPPORTED
from tether.grounding.fields import MONEY, FieldFinding, RecordView
from tether.grounding.list_objects import head_said, leaf_values, mentions_value, objects
from tether.grounding.meaning import negated
from tether.grounding.variants import key_tails

Sibling = tuple[str, dict[str, str], Mapping[str, Any]]
Shorts = Mapping[str, tuple[str, ...]]  # the short names a pack gives objects, by full name

# how much, between the verb and its comparative: "costs a little more than", "slightly less"
_DEGREE = r"(?:(?:a\s+(?:little|bit|lot|touch)|slightly|much|far|well|way|somewhat|just|only)\s+)?"
_CHEAPER = rf"cheaper|less expensive|lower[- ]priced|costs?\s+{_DEGREE}less|priced lower"
# "undercuts every blue speaker": cheaper than each, with no "than"; "came in a little above
# the camera": dearer than it
_UNDERCUT = rf"undercuts?|undercutting|(?:comes?|came)\s+in\s+{_DEGREE}(?:under|below)"
_OVERTOP = rf"(?:comes?|came)\s+in\s+{_DEGREE}(?:above|over)"
_UNDERCUTS = re.compile(rf"\b(?P<word>{_UNDERCUT}|{_OVERTOP})\b", re.IGNORECASE)
_DEARER = rf"more expensive|pricier|dearer|higher[- ]priced|costs?\s+{_DEGREE}more|priced higher"
_COMPARE = re.compile(rf"\b(?P<word>{_CHEAPER}|{_DEARER})\s+than\b", re.IGNORECASE)
# "costs the same as", "is as expensive as": the two prices are one
_WHICH_BEFORE = re.compile(
    r",?\s*\b(?:which|that)\s+(?:(?:is|are|was|were)\s+)?(?:even\s+|still\s+|also\s+)?$", re.I
)
_LISTED_END = re.compile(r"[;:]|,\s|\s(?:and|or|but|while)\s", re.IGNORECASE)  # not "$2,025"
_CLAUSE_OPENS = re.compile(r";|,\s*(?:and|but|while|whereas|so|though)\s", re.IGNORECASE)
# (", and the headphones top the list" opens a clause of its own too)
_COMPARED_END = re.compile(
    r";|,?\s(?:while|whereas|but|so|which)\s|,\s+and\s+(?=(?:the|your|its|it|they)\b)",
    re.IGNORECASE,
)
_SAME = re.compile(
    r"\b(?P<word>(?:costs?|is|are|priced) (?:exactly )?the same(?: price)? as|"
    r"(?:is|are|costs?) (?:just )?as (?:expensive|cheap|much) as)\b",
    re.IGNORECASE,
)


def _identify(
    text: str, siblings: Sequence[tuple[str, dict[str, str], Mapping[str, Any]]], names: Shorts
) -> list[tuple[str, dict[str, str], Mapping[str, Any]]]:
    text = key_tails(text, siblings)  # "the metal-strap one": a value said before its field
    named = [s for s in siblings if "name" in s[1] and mentions_value(text, s[1]["name"])]
    if named:
        return named
    # "the boots" for "Hiking Boots": a name's last word, when no other item shares it
    heads = [s for s in siblings if "name" in s[1] and head_said(text, s[1]["name"], names)]
    if len(heads) == 1:
        return heads
    scored = [(sum(_said(text, k, x, siblings) for k, x in s[1].items()), s) for s in siblings]
    top = max((n for n, _ in scored), default=0)
    best = [s for n, s in scored if n == top and n >= 2]
    if len(best) != 1:
        # "the clicky full-size one ($269.16)": the price it states picks one of those alike
        said = {float((m.group(1) or m.group(2)).replace(",", "")) for m in MONEY.finditer(text)}
        priced = [s for s in (best or siblings) if price_of(s[2]) in said]
        if len(priced) == 1:
            return priced
    if not best and top == 1 and _ONE.search(text):
        # "the silicone-strap one": one value, said of "one", that only one object holds
        alone = [s for n, s in scored if n == 1]
        if len(alone) == 1:
            return alone
    return best


_ONE = re.compile(r"\b(?:one|version|variant|model)\b", re.IGNORECASE)


def _said(text: str, key: str, value: str, siblings: Sequence[Sibling]) -> bool:
    """Whether the text names an object's value: whole, or, for a value of several words, by
    a word of it no other value of its key holds ("Alexa" of "Amazon Alexa", "stainless" of
    "stainless steel")."""
    if mentions_value(text, value):
        return True
    parts = value.split()
    if len(parts) < 2:
        return False
    others = {
        w.lower() for s in siblings for w in s[1].get(key, "").split() if s[1].get(key) != value
    }
    return any(len(w) > 3 and w.lower() not in others and mentions_value(text, w) for w in parts)


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


def check_comparisons(
    clause: str, views: Sequence[RecordView], names: Shorts | None = None
) -> list[FieldFinding]:
    """ "X is cheaper than Y" (or "costs the same as Y") between two objects of a record's
    list, by their prices; `names` are the short names the pack gives objects."""
    names = names or {}
    gaps = _gaps(clause, views, names) if "$" in clause else []
    if gaps:
        return gaps
    found = _COMPARE.search(clause) or _UNDERCUTS.search(clause)
    same = None if found else _SAME.search(clause)
    if same is not None and not negated(clause[: same.end()]):
        found = same
    if found is None:
        return _superlatives(clause, views, names)
    left, right = clause[: found.start()], clause[found.end() :]
    # "…, laser wired at $162.15 and optical wired at $137.32, which undercuts …": what
    # "which" stands for is the phrase just before it
    relative = _WHICH_BEFORE.search(left)
    if relative is not None:
        left = _LISTED_END.split(left[: relative.start()])[-1]
    # what is compared starts with its clause: "…, and the wristwatch came in above …"
    opened = list(_CLAUSE_OPENS.finditer(left))
    if opened and relative is None:
        left = left[opened[-1].end() :]
    # what it is compared with ends with its clause: "… than the helmet, while the puzzle …"
    # (its price in brackets and "… and the backpack put together" still belong to it)
    right = _COMPARED_END.split(right, maxsplit=1)[0]
    word = found.group("word")
    cheaper = re.fullmatch(rf"{_CHEAPER}|{_UNDERCUT}", word, re.IGNORECASE) is not None
    out: list[FieldFinding] = []
    for v in views:
        siblings = [(p, leaf_values(o), o) for p, o in objects(v.record) if price_of(o) is not None]
        a, b = _identify(left, siblings, names), _identify(right, siblings, names)
        if len(a) == 1 and found is not same:
            summed = _against_sum(left, right, (a[0], cheaper, found.group(0)), v, siblings, names)
            if summed is not None:
                out.append(summed)
                continue
        if len(a) == 1 and not b:
            b = _like(right, a[0], siblings)
        if found is not same and (len(a) != 1 or len(b) != 1):
            out.extend(_groups(left, right, cheaper, found.group(0), v, siblings))
            continue
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
    rf"costs? the least|(?:smaller|smallest|lower|lowest)\s+{_OUTLAY})\b|"
    r"\b(?P<high>most expensive|priciest|dearest|highest[- ]priced|costs? the most|"
    r"the (?:more expensive|pricier|dearer)(?: one| item| of)?|"
    rf"(?:bigger|biggest|larger|largest|higher|highest)\s+{_OUTLAY})\b",
    re.IGNORECASE,
)


def _superlatives(clause: str, views: Sequence[RecordView], names: Shorts) -> list[FieldFinding]:
    """ "X is the cheapest" (of those in stock, when the clause says so), by the prices."""
    found = _MOST.search(clause)
    if found is None:
        return []
    # the object is named in the superlative's own clause, before it ("X is the cheapest")
    # or, failing that, after it ("the cheapest is X"): another clause names another object
    start = clause.rfind(";", 0, found.start()) + 1
    # ", and the kettle is the dearer of the two": a clause joined on starts there too
    joins = [m.end() for m in _JOINED_CLAUSE.finditer(clause, start, found.start())]
    start = joins[-1] if joins else start
    end = clause.find(";", found.end())
    before = clause[start : found.start()]
    rest = before + " " + clause[found.end() : end if end >= 0 else len(clause)]
    out: list[FieldFinding] = []
    for v in views:
        siblings = [(p, leaf_values(o), o) for p, o in objects(v.record) if price_of(o) is not None]
        # "the cheapest you can order", "among the ones you can buy, …" mean those in stock
        if _of_stocked(rest) or ((scope := _SCOPE.match(clause)) and _of_stocked(scope.group(0))):
            siblings = [s for s in siblings if s[2].get("available") is not False]
        scoped = _in_scope(clause, siblings, names)
        unnamed = scoped is None  # "of those two": some two, which the clause does not name
        siblings = siblings if scoped is None else scoped
        # "…: the blue fabric chair at $511.24 and the black leather one at $503.76, so the
        # leather one is the more expensive of the two": the two named before it
        if _OF_THE_TWO.match(clause, found.end()):
            pair = _named_before(clause[:start], siblings, names)
            if len(pair) == 2:
                siblings, unnamed = pair, False
        chosen = _identify(_SCOPE.sub(" ", before, count=1), siblings, names)
        if len(chosen) != 1:
            chosen = _identify(_SCOPE.sub(" ", rest, count=1), siblings, names)
        if len(chosen) != 1:
            chosen = _held_by_one(_SCOPE.sub(" ", before, count=1), siblings)
        if len(chosen) != 1:
            continue
        parent = _parent(chosen[0][0])
        siblings = [s for s in siblings if _parent(s[0]) == parent]
        if len(siblings) < 2 or (unnamed and len(siblings) > 2):
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


_OF_THE_TWO = re.compile(
    r"\s+(?:(?:of|between)\s+)?(?:the|those|these)\s+(?:two|pair)\b", re.IGNORECASE
)
_PARTS = re.compile(r"[,;:]|\s(?:and|or)\s", re.IGNORECASE)


def _named_before(text: str, siblings: list[Sibling], names: Shorts) -> list[Sibling]:
    """The objects the parts of `text` each name one of, in order, each once."""
    out: list[Sibling] = []
    for part in _PARTS.split(text):
        found = _identify(part, siblings, names) if part.strip() else []
        if len(found) == 1 and found[0] not in out:
            out.append(found[0])
    return out


# a clause joined to the one before it: ", and …", ", but …", ", while …"
_JOINED_CLAUSE = re.compile(r",\s*(?:and|but|while|whereas|so)\s", re.IGNORECASE)


# the set a superlative is said among: "Among the 30-50 lbs sets, …", "Of the two headphones, …"
_SCOPE = re.compile(
    r"^\W*(?:of|among|amongst|out of|between|from)\s+(?P<scope>[^,;:]{3,80}?)\s*,", re.IGNORECASE
)


# a set counted but not named: "of those two", "between these three", "of the pair"
_UNNAMED_SET = re.compile(
    r"^(?:those|these|the|them|the\s+other)?\s*(?:two|three|four|pair|both)$", re.IGNORECASE
)


def _of_stocked(text: str) -> bool:
    """Whether the text narrows the set to the objects in stock; "…, can't be ordered" does
    not, nor "…, isn't available" (the words just before the stock word deny it)."""
    stock = IN_STOCK.search(text)
    if stock is None or OUT_OF_STOCK.search(text):
        return False
    return not negated(text[max(0, stock.start() - 16) : stock.end()])


def _in_scope(clause: str, siblings: list[Sibling], names: Shorts) -> list[Sibling] | None:
    """The objects of the set the clause opens by naming ("among the 30-50 lbs sets": those
    holding that value; "of the two headphones": those so named), when it names at least two;
    None when it counts a set it does not name ("of those two"); else every object."""
    found = _SCOPE.match(clause)
    if found is None:
        return siblings
    if _UNNAMED_SET.match(found.group("scope").strip()):
        return None
    scope = found.group("scope")
    named = [
        s
        for s in siblings
        if (
            "name" in s[1]
            and (mentions_value(scope, s[1]["name"]) or head_said(scope, s[1]["name"], names))
        )
        or any(len(x) > 2 and k != "name" and mentions_value(scope, x) for k, x in s[1].items())
    ]
    return named if len(named) >= 2 else siblings


def _held_by_one(text: str, siblings: list[Sibling]) -> list[Sibling]:
    """The one object holding a value the text states, when no other holds any ("the in-ear
    pair" of two headphones, one in-ear and one on-ear)."""
    holding = [
        s
        for s in siblings
        if any(len(x) > 2 and k != "name" and mentions_value(text, x) for k, x in s[1].items())
    ]
    return holding if len(holding) == 1 else []


# a comparison said with a hedge ("generally", "mostly", "on average") holds of most, not each
_HEDGED = re.compile(
    r"\b(?:generally|mostly|usually|typically|tend\w*|on average|most|many|some|often|largely)\b",
    re.IGNORECASE,
)


def _holding(text: str, siblings: Sequence[Sibling]) -> list[Sibling]:
    """The objects holding every value (other than a name) the text states, when it states
    one: "the Wi-Fi cameras" are those whose connectivity is Wi-Fi."""
    said = {
        x.lower()
        for s in siblings
        for k, x in s[1].items()
        if k != "name" and len(x) > 1 and mentions_value(text, x)
    }
    if not said:
        return []
    return [s for s in siblings if said <= {x.lower() for x in s[1].values()}]


# "$10.48 cheaper than the 30ml one", "costs $10.48 more than": a gap said with its direction
_GAP = re.compile(
    r"[$\u20ac\u00a3]\s?(?P<amount>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s+"
    r"(?P<word>more\s+expensive|less\s+expensive|more|less|cheaper|dearer|pricier)\s+than\b",
    re.IGNORECASE,
)


# "about $750 more than": a rough gap is the arithmetic's to judge, near as its word allows
_ROUGH = re.compile(
    r"\b(?:about|roughly|around|nearly|almost|some|over|under|close\s+to|approximately|"
    r"just\s+(?:over|under)|more\s+than|less\s+than)\s*$",
    re.IGNORECASE,
)
_MOST_GAPS = 8  # gaps judged in one clause: a longer run of them is not an answer's
_PHRASE_END = re.compile(r"[,;:()]|\s(?:and|but|while|whereas|so)\s", re.IGNORECASE)


def _gaps(clause: str, views: Sequence[RecordView], names: Shorts) -> list[FieldFinding]:
    """A gap said between two objects of one list ("the 100ml woody for men is $10.48 cheaper
    than the 30ml woody for men"): the direction and the amount, against their prices. The
    finding is of kind "gap" and quotes the amount, which it vouches for when it holds."""
    out: list[FieldFinding] = []
    begin = 0
    for m in islice(_GAP.finditer(clause), _MOST_GAPS):
        # the one it is said of is named since the gap before it (or the clause's start)
        left, right = clause[begin : m.start()], clause[m.end() :]
        begin = m.end()
        if negated(left) or _HEDGED.search(left) or _ROUGH.search(left):
            continue
        cheaper = m.group("word").lower() in ("less", "cheaper", "less expensive")
        amount = float(m.group("amount").replace(",", ""))
        together = _TOGETHER.search(_SUM_END.split(right, maxsplit=1)[0])
        if together is not None:  # "$442.93 more than the dumbbells and the puzzle together"
            said = (cheaper, amount, m.group(0))
            out.extend(_gap_to_sum(left, right[: together.end()], said, views, names))
            continue
        # what it is compared with ends its phrase: "…than the keyboard, and the hose …"
        right = _PHRASE_END.split(right, maxsplit=1)[0]
        for v in views:
            siblings = [
                (p, leaf_values(o), o) for p, o in objects(v.record) if price_of(o) is not None
            ]
            a, b = _identify(left, siblings, names), _identify(right, siblings, names)
            if len(a) == 1 and not b:
                b = _like(right, a[0], siblings)
            if len(a) != 1 or len(b) != 1 or a[0][0] == b[0][0]:
                continue
            if _parent(a[0][0]) != _parent(b[0][0]):
                continue
            pa, pb = price_of(a[0][2]), price_of(b[0][2])
            if pa is None or pb is None:
                continue
            holds = (pa < pb) == cheaper and abs(abs(pa - pb) - amount) < 0.005
            why = f"{a[0][0]} costs {pa:g} and {b[0][0]} {pb:g}"
            out.append(
                FieldFinding(
                    f"{v.evidence_id}:{a[0][0]}",
                    "gap",
                    SUPPORTED if holds else CONTRADICTED,
                    m.group(0),
                    amount,
                    () if holds else (why,),
                )
            )
    return out


# "than the purifier and the backpack put together", "than the other two combined"
_TOGETHER = re.compile(
    r"\b(?:(?:put|added)\s+together|together|combined|between\s+them|added\s+up)\b",
    re.IGNORECASE,
)


# where the others a gap is said against end: "than the mouse, while the kettle …"
_SUM_END = re.compile(r"[;:()]|,?\s(?:while|but|whereas|so|which)\s", re.IGNORECASE)


def _gap_to_sum(
    left: str,
    stretch: str,
    said: tuple[bool, float, str],
    views: Sequence[RecordView],
    names: Shorts,
) -> list[FieldFinding]:
    """A gap said between one object and others together ("$442.93 more than the dumbbells
    and the puzzle put together"): its direction and amount against their prices' sum. Of kind
    "gap", as `_gaps`' findings are; nothing when the clause names no such sum."""
    cheaper, amount, words = said
    out: list[FieldFinding] = []
    for v in views:
        siblings = [(p, leaf_values(o), o) for p, o in objects(v.record) if price_of(o) is not None]
        a = _identify(left, siblings, names)
        if len(a) != 1:
            continue
        rest = _summed(stretch, a[0], siblings, names)
        mine = price_of(a[0][2])
        if rest is None or mine is None:
            continue
        total = round(sum(rest), 2)
        holds = (mine < total) == cheaper and abs(abs(mine - total) - amount) < 0.005
        why = f"{a[0][0]} costs {mine:g}; the others together {total:g}"
        verdict = SUPPORTED if holds else CONTRADICTED
        where = f"{v.evidence_id}:{a[0][0]}"
        out.append(FieldFinding(where, "gap", verdict, words, amount, () if holds else (why,)))
    return out


def _summed(
    stretch: str, one: Sibling, siblings: Sequence[Sibling], names: Shorts
) -> list[float] | None:
    """The prices of the two or more objects of `one`'s list that `stretch` names beside it
    ("the purifier and the backpack put together"), or None."""
    rest = [
        s
        for s in siblings
        if s[0] != one[0]
        and "name" in s[1]
        and (mentions_value(stretch, s[1]["name"]) or head_said(stretch, s[1]["name"], names))
    ]
    prices = [p for s in rest if (p := price_of(s[2])) is not None]
    if len(rest) < 2 or len(prices) != len(rest):
        return None
    if len({_parent(s[0]) for s in (one, *rest)}) != 1:
        return None
    return prices


def _against_sum(
    left: str,
    right: str,
    said: tuple[Sibling, bool, str],
    v: RecordView,
    siblings: Sequence[Sibling],
    names: Shorts,
) -> FieldFinding | None:
    """One object against two or more others together ("costs more than the purifier and the
    backpack put together"), by their prices' sum; None when the clause says no such sum.
    `said`: the one object, whether it is said to be cheaper, and the comparison's words."""
    one, cheaper, word = said
    together = _TOGETHER.search(right)
    if together is None or negated(left) or _HEDGED.search(left):
        return None
    prices = _summed(right[: together.end()], one, siblings, names)
    mine = price_of(one[2])
    if prices is None or mine is None:
        return None
    total = round(sum(prices), 2)
    holds = mine < total if cheaper else mine > total
    return FieldFinding(
        f"{v.evidence_id}:{one[0]}",
        "binding",
        SUPPORTED if holds else CONTRADICTED,
        word,
        mine,
        () if holds else (f"{one[0]} costs {mine:g}; the others together {total:g}",),
    )


def _groups(
    left: str, right: str, cheaper: bool, word: str, v: RecordView, siblings: Sequence[Sibling]
) -> list[FieldFinding]:
    """ "The Wi-Fi cameras all cost less than the Ethernet ones", "red undercuts every blue
    speaker": each side is the objects holding the values it states, and the comparison holds
    of every pair across them. One said with a hedge ("generally cheaper") is not judged."""
    if _HEDGED.search(left) or _HEDGED.search(right) or negated(left):
        return []  # "aren't all cheaper than" says some are not, which no pair settles
    a, b = _holding(left, siblings), _holding(right, siblings)
    if not a or not b or len(a) + len(b) < 3 or {s[0] for s in a} & {s[0] for s in b}:
        return []
    if any(
        len(side) > 1 and not _of_many(text, v.record) for side, text in ((a, left), (b, right))
    ):
        return []  # "than the green one": one of them, unclear which, not every one
    if len({_parent(s[0]) for s in (*a, *b)}) != 1:
        return []
    pa = [p for s in a if (p := price_of(s[2])) is not None]
    pb = [p for s in b if (p := price_of(s[2])) is not None]
    if len(pa) != len(a) or len(pb) != len(b):
        return []
    holds = max(pa) < min(pb) if cheaper else min(pa) > max(pb)
    reason = f"the one side runs {min(pa):g} to {max(pa):g}, the other {min(pb):g} to {max(pb):g}"
    return [
        FieldFinding(
            f"{v.evidence_id}:{a[0][0]}",
            "binding",
            SUPPORTED if holds else CONTRADICTED,
            word,
            min(pa) if cheaper else max(pa),
            () if holds else (reason,),
        )
    ]


_MANY = re.compile(r"\b(?:ones|all|every|each|both|any)\b", re.IGNORECASE)


def _of_many(text: str, record: Any) -> bool:
    """True when a side of a comparison speaks of several objects: "the Ethernet ones", "every
    blue speaker", or the plural of the product's name ("the Wi-Fi cameras")."""
    if _MANY.search(text):
        return True
    name = record.get("name") if isinstance(record, Mapping) else None
    head = str(name).split()[-1].lower() if name and str(name).split() else ""
    return bool(head) and re.search(rf"\b{re.escape(head)}e?s\b", text.lower()) is not None
