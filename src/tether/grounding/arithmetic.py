"""Amounts an answer works out from amounts it states, or from two one evidence sentence
states: the sum or the difference of two.

"The sneakers ($189.50) and the speaker ($315.20) came to $504.70" states a total no record
holds, yet every amount in it is grounded: the two the record gives, and the one the answer
adds up from them. A result that is off ("came to $540.70") is worked out from nothing and
stays unseen, as does any amount whose parts the claim does not state, unless it names the
things whose prices they are ("the thermostat and the mouse come to $414.87").
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from itertools import combinations, islice, product
from typing import Any

from tether.grounding.claims import in_figures, numbers, spoken_amounts

_CENT = 0.005
# a count ("two choices", "3 items") adds up by chance too often to be taken as worked out
_LEAST = 10.0
# among many amounts some pair adds up to almost anything, and trying every pair of a long
# list costs time quadratic in its length: a claim stating more than this works out nothing
MOST_OPERANDS = 5


def worked_out(
    value: float,
    stated: Sequence[float],
    money_said: Sequence[float] = (),
    money_before: Sequence[float] = (),
) -> bool:
    """Whether `value` is, to the cent, the sum or the difference of two of `stated` (the
    claim's other amounts, each one the evidence gives; at most `MOST_OPERANDS` of them). A
    small whole figure is worked out only as money from money (`money_said`, the claim's
    amounts of money, and `money_before`, those of the claims just before): "$10 is five
    dollars short of the $15", not "two choices"."""
    if value < _LEAST and value.is_integer():
        if not among(value, money_said):
            return False
        stated = [v for v in stated if among(v, money_said) or among(v, money_before)]
    if len(stated) > MOST_OPERANDS:
        return False
    for a, b in combinations(stated, 2):
        if abs(a + b - value) < _CENT or abs(abs(a - b) - value) < _CENT:
            return True
    return False


def about_worked_out(value: float, claim: str, amounts: Sequence[float]) -> bool:
    """Whether `value` is an amount the claim says roughly ("about $580 more") that is, to a
    hundredth of it, the sum or the difference of two of `amounts` (amounts of money the
    evidence gives, the claim's own and the previous sentence's: "the 15 bar at $2,709.83.
    Priciest: the 19 bar at $3,289.46, about $580 more")."""
    if not any(abs(a - value) < _CENT for a in _rough(claim)) or len(amounts) > MOST_OPERANDS:
        return False
    # a hundredth of it, or a whole figure to the dollar ("about $13 less" of $13.35)
    slack = max(value / 100, 0.5 if value.is_integer() else 0.0)
    return any(
        abs(f(a, b) - value) <= slack
        for a, b in combinations(dict.fromkeys(amounts), 2)
        for f in (_plus, _apart)
    )


def rounded_from(value: float, claim: str, known: Iterable[float]) -> bool:
    """Whether `value` is an amount the claim says roughly ("holds about $13 less") that is
    one of `known` to the dollar."""
    return (
        value.is_integer()
        and any(abs(a - value) < _CENT for a in _rough(claim))
        and any(abs(q - value) < 0.5 for q in known)
    )


# "a little under $50", "just over fifty dollars": a round figure an amount is said to be near
_BOUND = re.compile(
    r"\b(?P<how>under|below|less\s+than|over|above|more\s+than|nearly|almost)\s+"
    r"[$€£]\s?(?P<figure>\d{1,3}(?:,\d{3})*|\d+)(?:\.00?)?(?![\d.,]\d)",
    re.IGNORECASE,
)


@lru_cache(maxsize=64)
def _bounds_said(claim: str) -> tuple[tuple[float, str], ...]:
    """Each round figure the claim bounds an amount by, with its word ("under", "over"…),
    read once however many numbers the claim states."""
    return tuple(
        (float(m.group("figure").replace(",", "")), m.group("how").lower())
        for m in _BOUND.finditer(in_figures(claim))
    )


def bound_worked_out(value: float, claim: str, amounts: Sequence[float]) -> bool:
    """Whether `value` is a round figure the claim says an amount it grounds is just under or
    over ("$47, a little under fifty dollars"): within a fifth of it, on the side it says."""
    if value <= 0 or value % 5:
        return False
    for figure, how in _bounds_said(claim):
        if abs(figure - value) >= _CENT:
            continue
        if how in ("over", "above") or how.startswith("more"):
            if any(value < a <= value * 1.2 for a in amounts):
                return True
        elif any(value * 0.8 <= a < value for a in amounts):
            return True
    return False


@lru_cache(maxsize=64)
@lru_cache(maxsize=64)
def _rough(claim: str) -> tuple[float, ...]:
    """The amounts the claim says roughly, in figures or in words ("about forty-one dollars")."""
    return tuple(float(m.group(1).replace(",", "")) for m in _ROUGH.finditer(in_figures(claim)))


def sentence_results(sentence: str) -> set[float]:
    """The sums and differences of the amounts of money one evidence sentence states ("the
    $120 blender … for the $135 model" gives 15 and 255): what an answer may work out from it
    without saying its parts ("PayPal can pay the $15")."""
    signs = sentence.count("$") + sentence.count("\u20ac") + sentence.count("\u00a3")
    if signs < 2 and "dollar" not in sentence.lower():
        return set()  # fewer than two amounts
    amounts = list(dict.fromkeys(money(sentence)))
    if not 2 <= len(amounts) <= MOST_OPERANDS:
        return set()
    return {round(f(a, b), 2) for a, b in combinations(amounts, 2) for f in (_plus, _apart)}


def among(value: float, results: Iterable[float]) -> bool:
    """Whether `value` is one of `results`, to the cent."""
    return any(abs(value - r) < _CENT for r in results)


def money(text: str) -> list[float]:
    """The amounts of money a text states, in figures after a currency sign or in words."""
    said = [float(m.group(1).replace(",", "")) for m in _MONEY.finditer(text)]
    # most texts state no amount in words: the word "dollar" is a cheap test for one
    return [*said, *spoken_amounts(text)] if "dollar" in text.lower() else said


def _plus(a: float, b: float) -> float:
    return a + b


def _apart(a: float, b: float) -> float:
    return abs(a - b)


def named_total(value: float, claim: str, records: Iterable[Any]) -> bool:
    """Whether `value` is, to the cent, the total of what two or more members of one record
    list cost, each named in the claim ("the thermostat and the mouse come to $414.87"), or
    what one of two named costs more than the other ("the bike costs $1,555.75 more than the
    earbuds"), or than the others together."""
    compared = _compares(claim)
    for named, members in _named(claim, records):
        # a difference said as one needs only one side named: "the bike" need not spell
        # "Bicycle"
        for a, b in product(named if compared else [], members):
            if any(abs(abs(x - y) - value) < _CENT for x, y in product(a, b)):
                return True
        for size in range(2, len(named) + 1):
            for group in combinations(named, size):
                if any(abs(sum(amounts) - value) < _CENT for amounts in product(*group)):
                    return True
                # one named against the others together ("the tablet costs $690.05 more than
                # the skateboard and the puzzle together")
                if compared and _one_against_rest(value, group):
                    return True
    return False


def _one_against_rest(value: float, group: Sequence[Sequence[float]]) -> bool:
    for n, one in enumerate(group):
        rest = [amounts for m, amounts in enumerate(group) if m != n]
        if len(rest) < 2:
            continue
        for x in one:
            if any(abs(abs(x - sum(amounts)) - value) < _CENT for amounts in product(*rest)):
                return True
    return False


def named_share(value: float, claim: str, records: Iterable[Any]) -> bool:
    """Whether `value` is, to the whole percent, the share of an amount the claim states that
    a member it names costs ("the camera alone is about 85% of the $3,422.45 total"), or of the
    total of its list, unstated ("makes up roughly 59% of the total")."""
    shares = [whole for share, whole in _shares(claim) if abs(share - value) < _CENT]
    of_total = any(abs(share - value) < _CENT for share in _total_shares(claim))
    if not shares and not of_total:
        return False
    said = _money_said(claim)
    for named, amounts in _named(claim, records):
        wholes = list(shares)
        if of_total and amounts and all(len(a) == 1 for a in amounts):
            wholes.append(sum(a[0] for a in amounts))  # one amount each: their total is sure
        # the part is a member's amount, or one the claim states beside the share ("the kettle
        # and the mouse together ($309.13) came to about 60 % of what you paid")
        parts = [*(amount for member in named for amount in member), *said]
        if any(
            0 < part < whole and abs(100 * part / whole - value) <= 1
            for part in parts
            for whole in wholes
        ):
            return True
    return False


def stated_share(value: float, claim: str) -> bool:
    """Whether `value` is the percentage the claim says one amount it states is of another
    ("$2,346.49 of the two thousand eight hundred sixty-four dollars and eighty cents, roughly
    82 %"), to the whole percent."""
    return any(abs(said - value) < _CENT for said in _shares_that_hold(claim))


@lru_cache(maxsize=64)
def _shares_that_hold(claim: str) -> tuple[float, ...]:
    """Read once per claim, however many numbers it states."""
    out: list[float] = []
    for m in _PART_THEN_SHARE.finditer(in_figures(claim)):
        part, whole, said = (float(g.replace(",", "")) for g in m.groups())
        if 0 < part < whole and abs(100 * part / whole - said) <= 1:
            out.append(said)
    return tuple(out)


@lru_cache(maxsize=64)
def _money_said(claim: str) -> tuple[float, ...]:
    """The claim's amounts of money, read once however many numbers ask for them."""
    return tuple(money(claim))


def share_worked_out(claim: str, records: Iterable[Any]) -> bool:
    """Whether the claim says a share of a total ("about 59% of the total", "85% of the
    $3,422.45") and each it says is what a member it names costs of it."""
    said = [share for share, _ in _shares(claim)] + list(_total_shares(claim))
    return bool(said) and all(named_share(share, claim, records) for share in said)


@lru_cache(maxsize=64)
def _total_shares(claim: str) -> tuple[float, ...]:
    """The percentages the claim says of a total it does not state ("59% of the total")."""
    found = [*_TOTAL_SHARE.finditer(claim), *_TOTAL_THEN_SHARE.finditer(claim)]
    return tuple(float(m.group(1)) for m in found)


def named_ratio(value: float, claim: str, records: Iterable[Any]) -> bool:
    """Whether `value` is the ratio the claim says of what two members it names cost, or one
    and two together ("the tablet costs roughly five times as much as the pet bed", "about four
    times what the T-shirt and the puzzle cost together"; "a bit under half the $459.30" for a
    member's price and an amount the claim states), near it as its qualifier allows."""
    said = _ratios(claim)
    if not any(_says(r, value) for r, _, _ in said):
        return False
    named, bases = _compared(claim, records)
    for ratio, whole, bound in said:
        if not _says(ratio, value):
            continue
        if whole is not None:
            pairs = [(a, whole) for a in named]
        else:
            pairs = [(a, b) for a, b in product(named, bases) if a != b]
        if any(b > 0 and _near(a / b, ratio, bound) for a, b in pairs):
            return True
    return False


# "the two together come to less than $3,200", "combined, they cost over $500": a bound on
# what things the claim names cost together
_TOTAL_BOUND = re.compile(
    r"\b(?:together|combined|in\s+total|altogether|between\s+them)\b[^.;:$]{0,30}?"
    r"\b(?P<how>less\s+than|under|below|more\s+than|over|above)\s+"
    r"\$\s?(?P<figure>\d[\d,]*(?:\.\d\d)?)",
    re.IGNORECASE,
)


def total_bound(claim: str, records: Iterable[Any]) -> tuple[str, float, bool] | None:
    """A bound the claim puts on what two or more members it names cost together ("the two
    together come to less than $3,200"): the bound as said, its figure, and whether some
    reading of their amounts keeps to it (none does for a $3,096.70 espresso machine and a
    $137.32 mouse). None when the claim puts none, or names fewer than two members."""
    found = _TOTAL_BOUND.search(claim)
    if found is None:
        return None
    figure = float(found["figure"].replace(",", ""))
    below = found["how"].lower() in ("less than", "under", "below")
    for named, _ in _named(claim, records):
        if len(named) < 2:
            continue
        sums = [sum(amounts) for amounts in product(*named)]
        if sums:
            kept = any((total < figure) if below else (total > figure) for total in sums)
            return found.group(0), figure, kept
    return None


def ratio_off(claim: str, records: Iterable[Any]) -> float | None:
    """A ratio the claim says of two things ("more than four times as much as the bottle")
    that the amounts of no two members it names bear out, nor one of them and the sum of two
    ("… what the T-shirt and the puzzle cost together"): the ratio, else None. A claim naming
    fewer than two amounts says nothing this can judge."""
    said = [(r, bound) for r, whole, bound in _ratios(claim) if whole is None]
    if not said:
        return None
    named, bases = _compared(claim, records)
    if len(set(named)) < 2:
        return None
    for ratio, bound in said:
        # "under twice what the hose does" compares the dearer with the cheaper (and "under
        # half" the cheaper with the dearer): the two the other way round bear out nothing
        if not any(
            b > 0
            and a != b
            and _within(a / b, ratio, bound)
            and (a > b) == (ratio > 1)
            and not any(abs(b - a - x) < _CENT for x in named)  # a sum holding `a` itself
            for a in named
            for b in bases
        ):
            return ratio
    return None


def _compared(claim: str, records: Iterable[Any]) -> tuple[list[float], list[float]]:
    """What a ratio the claim says may compare: the amounts of the members it names; and, as
    what the first is compared with, those and the sum of any two of them ("about four times
    what the T-shirt and the puzzle cost together")."""
    named = [amount for members, _ in _named(claim, records) for m in members for amount in m]
    # "it costs $1,441.74 more than the camera, close to four times as much", said of one the
    # claim leaves unnamed ("it", the sentence before's): what that one costs is the named
    # one's price and the gap
    gaps = [float(g.replace(",", "")) for g in _GAP_SAID.findall(claim)][:MOST_OPERANDS]
    dearer = [named[0] + g for g in gaps] if len(named) == 1 else []
    return [*named, *dearer], [*named, *(a + b for a, b in combinations(named, 2))]


def ratio_worked_out(claim: str, records: Iterable[Any]) -> bool:
    """Whether the claim says a ratio ("about four times what the T-shirt cost") and each it
    says is near the ratio of two amounts it names or states."""
    said = _ratios(claim)
    return bool(said) and all(named_ratio(ratio, claim, records) for ratio, _, _ in said)


def _says(ratio: float, value: float) -> bool:
    """Whether a number the claim states is the ratio it says, or one of the two numbers that
    "three and a half times" says (3 and 0.5) for 3.5."""
    parts = {ratio, ratio - 0.5, 0.5} if ratio % 1 == 0.5 else {ratio}
    return any(abs(p - value) < _CENT for p in parts)


def _within(ratio: float, said: float, bound: str) -> bool:
    """Whether `ratio` bears out what is said at all: "over" `said` is true however far over
    it, "under" however far under, and "about" within a fifth either side."""
    if bound == "under":
        return ratio < said * 1.02
    if bound == "over":
        return ratio > said * 0.98
    return abs(ratio - said) <= said * 0.2


def _near(ratio: float, said: float, bound: str) -> bool:
    """Whether `ratio` is what "under", "over" or "about" `said` allows: within a fifth below
    or above it, or a tenth either side."""
    if bound == "under":
        return said * 0.8 <= ratio < said
    if bound == "over":
        return said < ratio <= said * 1.2
    return abs(ratio - said) <= said * 0.1


@lru_cache(maxsize=64)
def _ratios(claim: str) -> tuple[tuple[float, float | None, str], ...]:
    """(ratio, the amount it is of or None for two named things, its bound) for each ratio
    the claim says: "five times as much", "about three times the price", "half the $459.30"."""
    out: list[tuple[float, float | None, str]] = []
    for m in _RATIO.finditer(claim):
        before = claim[max(0, m.start() - 24) : m.start()]
        bound = next((b for b, p in _BOUNDS if p.search(before)), "about")
        if m.group("half"):
            out.append((0.5, float(m.group("whole").replace(",", "")), bound))
        elif m.group("twice"):
            out.append((2.0, None, bound))
        elif m.group("half_of"):
            out.append((0.5, None, bound))
        else:
            extra = 0.5 if m.group("and_half") else 0.0
            out.extend((n + extra, None, bound) for n in numbers(m.group("times")))
    return tuple(out)


# "about 52 %": a percentage the claim states beside a "half" it says
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*(?:%|per\s*cent\b)", re.IGNORECASE)


# "eight times the 32GB of RAM", "10 times": a multiple the claim says
_TIMES = re.compile(r"\b([\w-]+)\s+times\b", re.IGNORECASE)


@lru_cache(maxsize=64)
def stated_ratios(claim: str) -> tuple[float, ...]:
    """The multiples the claim says ("a 256GB SSD, eight times the 32GB of RAM") that two other
    numbers it states bear out, to within 2 %. Read once per claim."""
    said = [n for m in _TIMES.finditer(claim) for n in numbers(m.group(1))[:1]]
    if not said:
        return ()
    stated = sorted(set(numbers(claim)))
    if len(stated) > 4 * MOST_OPERANDS:
        return ()
    # sorted, each pair is (smaller, larger)
    return tuple(
        r
        for r in said
        if r > 1
        and any(
            small > 0 and abs(large / small - r) <= 0.02 * r
            for small, large in combinations(stated, 2)
        )
    )


def half_said(value: float, claim: str) -> bool:
    """Whether `value` is a "half" the claim bears out itself: two numbers it states, one twice
    the other ("fourteen variants and exactly half of them, seven"), or a percentage it states
    near half ("a little over half the total, about 52 %"), which the share checks judge."""
    return abs(value - 0.5) < _CENT and _half_borne(claim)


@lru_cache(maxsize=64)
def _half_borne(claim: str) -> bool:
    """Read once per claim, however many numbers it states."""
    if "half" not in claim.lower():
        return False
    stated = numbers(claim)
    doubled = {round(b, 2) for b in stated}  # a set: a clause of many numbers stays linear
    if any(a > 0 and round(2 * a, 2) in doubled for a in stated):
        return True
    said = [float(p) for p in _PERCENT.findall(claim)]
    if _OVER_HALF.search(claim):  # "well over half … about 71 %"
        return any(50 < p < 100 for p in said)
    if _UNDER_HALF.search(claim):
        return any(0 < p < 50 for p in said)
    return any(40 <= p <= 60 for p in said)


_OVER_HALF = re.compile(r"\b(?:over|more\s+than|above)\s+half\b", re.IGNORECASE)
_UNDER_HALF = re.compile(r"\b(?:under|less\s+than|below)\s+half\b", re.IGNORECASE)


def counted_share(value: float, claim: str, counts: Iterable[float]) -> bool:
    """Whether `value` is the half the claim says of a count the evidence gives that comes
    near another count it gives ("just under half of the 19 versions" where 9 of 19 are
    available; not "half of its 19 versions" where 4 are)."""
    if value != 0.5:
        return False
    counts = set(counts)
    for whole in _halved(claim):
        if whole in counts and any(
            0 < c < whole and abs(whole / 2 - c) <= whole / 10 for c in counts
        ):
            return True
    return False


def _named(
    claim: str, records: Iterable[Any]
) -> Iterator[tuple[list[list[float]], list[list[float]]]]:
    """The amounts of each member of a record list that the claim names, and of every member,
    list by list."""
    said = _words(claim)
    for members in _lists(records, 0):
        if len(members) > 4 * MOST_OPERANDS:
            continue
        amounts = [_amounts(m) for m in members]
        named = [a for a, m in zip(amounts, members, strict=True) if _said(claim, said, m)]
        if len(named) <= MOST_OPERANDS:
            yield named, amounts


def _said(claim: str, said: frozenset[str], member: Mapping[str, Any]) -> bool:
    """Whether the claim names the member: by a word of its name longer than three letters,
    or by the whole of a name made of short words ("pet bed")."""
    name = str(member.get("name", ""))
    words = [w.lower() for w in _WORD.findall(name)]
    if said & {w for w in words if len(w) > 3}:
        return True
    # "the phone" of a "Smartphone": the last part of a name written as one word
    if len(words) == 1 and any(len(w) > 3 and words[0].endswith(w) for w in said):
        return True
    return bool(words) and all(len(w) <= 3 for w in words) and _phrase(claim, " ".join(words))


@lru_cache(maxsize=256)
def _phrase(claim: str, name: str) -> bool:
    return re.search(rf"\b{re.escape(name)}\b", claim, re.IGNORECASE) is not None


# a claim is asked about once per number it says: what it names and states is read once
@lru_cache(maxsize=64)
def _words(claim: str) -> frozenset[str]:
    """The claim's words, lower-cased, each plural with its singular ("the dumbbells")."""
    said = [w.lower() for w in _WORD.findall(claim)]
    return frozenset([*said, *(w[:-1] for w in said if len(w) > 4 and w.endswith("s"))])


@lru_cache(maxsize=64)
def _halved(claim: str) -> frozenset[float]:
    """The counts the claim says half of ("just under half of the 19 versions")."""
    return frozenset(float(m.group(1)) for m in _HALF_OF.finditer(claim))


@lru_cache(maxsize=64)
def _compares(claim: str) -> bool:
    return _COMPARED.search(claim) is not None


@lru_cache(maxsize=64)
def _shares(claim: str) -> tuple[tuple[float, float], ...]:
    """(percent, amount it is a share of) for each share the claim states: "84 % of the
    $3,491.46", or the whole first, "part of the $3,491.46, about 84 %"."""
    said = in_figures(claim)
    return (
        *((float(m.group(1)), float(m.group(2).replace(",", ""))) for m in _SHARE.finditer(said)),
        *(
            (float(m.group(2)), float(m.group(1).replace(",", "")))
            for m in _WHOLE_THEN_SHARE.finditer(said)
        ),
    )


# "the biggest part of the $3,491.46, about 84 %": the whole a share is of, then the share
_WHOLE_THEN_SHARE = re.compile(
    r"\bof\s+(?:the\s+|your\s+)?[$\u20ac\u00a3]\s?(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?),?\s+"
    r"(?:(?:or|at|so)\s+)?(?:(?:about|roughly|around|nearly|almost|some|just\s+(?:over|under))\s+)?"
    r"(\d+(?:\.\d+)?)\s*(?:%|per ?cent)",
    re.IGNORECASE,
)


def _amounts(member: Mapping[str, Any]) -> list[float]:
    return [v for v in member.values() if isinstance(v, int | float) and not isinstance(v, bool)]


def _lists(nodes: Iterable[Any], depth: int) -> Iterator[list[Mapping[str, Any]]]:
    """Every list of named objects in the records (an order's items), to a shallow depth."""
    for node in nodes:
        if depth > 4:
            return
        children = node.values() if isinstance(node, Mapping) else node
        if isinstance(node, list):
            named = [m for m in node if isinstance(m, Mapping) and "name" in m]
            if len(named) >= 2:
                yield named
        if isinstance(node, Mapping | list):
            yield from _lists(children, depth + 1)


_WORD = re.compile(r"[A-Za-z]+")
# "85% of the $3,422.45 total": a percentage and the amount it is a share of
_SHARE = re.compile(
    r"(\d+(?:\.\d+)?)\s*(?:%|per ?cent)\s+of\b[^.;$]{0,30}\$\s?(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)",
    re.IGNORECASE,
)
# "59% of the total", "61 per cent of the order's total", "51 % of what you paid": a share of
# a total left unstated
_TOTAL_SHARE = re.compile(
    r"(\d+(?:\.\d+)?)\s*(?:%|per ?cent)\s+of\s+(?:(?:the|your|its|their)\s+"
    r"(?:(?:order[\u2019']?s?|whole|entire|full)\s+)?(?:total|bill|order|purchase)\b|"
    r"what\s+(?:you|they|was)\s+(?:paid|spent|charged)\b|what\s+(?:the|your)\s+order\s+cost\b|"
    # "the espresso machine made up over 95% of it", after the order's charge
    r"it\b(?!\s+(?:is|was|has)\b))",
    re.IGNORECASE,
)
# "a little over half the total, about 52 %": the total named, then the share of it
_TOTAL_THEN_SHARE = re.compile(
    r"(?:\b(?:the|your|its|their)\s+(?:(?:order[\u2019']?s?|whole|entire|full)\s+)?"
    r"(?:total|bill|order|purchase)\b"
    r"|\bwhat\s+(?:you|they)\s+paid(?:\s+(?:through|by|with|on|via)\s+[\w-]+)?)"
    r",?\s+(?:(?:or|at|so)\s+)?(?:(?:about|roughly|around|nearly|almost|some|just\s+(?:over|"
    r"under))\s+)?(\d+(?:\.\d+)?)\s*(?:%|per ?cent)",
    re.IGNORECASE,
)
# "$2,346.49 of the $2,864.80, roughly 82 %": a part and its whole, then the share
_PART_THEN_SHARE = re.compile(
    r"[$\u20ac\u00a3]\s?(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s+(?:out\s+)?of\s+"
    r"(?:the\s+|your\s+)?[$\u20ac\u00a3]\s?(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?),?\s+"
    r"(?:(?:or|at|so)\s+)?(?:(?:about|roughly|around|nearly|almost|some|just\s+(?:over|under)|"
    r"a\s+(?:little|bit)\s+(?:over|under))\s+)?"
    r"(\d+(?:\.\d+)?)\s*(?:%|per ?cent)",
    re.IGNORECASE,
)
# "just under half of the 19 versions": a fraction and the count it is of
_HALF_OF = re.compile(r"\bhalf\s+of\s+(?:the\s+|its\s+|your\s+|their\s+)?(\d+)\b", re.I)
# "$1,441.74 more than the camera": an amount said as what one costs beyond another
_GAP_SAID = re.compile(
    r"[$€£]\s?(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s+(?:more|dearer|pricier)\s+than\b",
    re.IGNORECASE,
)
# "$1,555.75 more than the earbuds", "the difference": an amount said as a difference
_COMPARED = re.compile(r"\b(?:more|less|cheaper|dearer|pricier|difference|short)\b", re.I)
# "roughly five times as much", "3x the price", "three and a half times as much", "about four
# times what the T-shirt cost", "almost three times the notebook's $32.37", "more than twice
# what the two cost together", "a bit under half the $459.30", "close to 1.4 times its price"
_RATIO = re.compile(
    r"\b(?P<times>\w+(?:\.\d+)?)(?P<and_half>\s+and\s+a\s+half)?\s*(?:times|x)\s+"
    r"(?:as\s+much|(?:the|its|their)\s+(?:price|cost)|more|what|the\s+\w+[\u2019']s)\b"
    r"|\b(?P<twice>twice)\s+"
    r"(?:as\s+much|what|(?:the|its|their)\s+(?:price|cost)|the\s+\w+[\u2019']s)\b"
    r"|\b(?P<half>half)\s+(?:of\s+)?(?:the\s+|your\s+)?[$€£]\s?"
    r"(?P<whole>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    # "just under half what the helmet does", "half as much as the kettle"
    r"|\b(?P<half_of>half)\s+(?:as\s+much|what|(?:the|its|their)\s+(?:price|cost)|"
    r"the\s+\w+[\u2019']s)\b",
    re.IGNORECASE,
)
_BOUNDS = (
    (
        "under",
        re.compile(
            r"\b(?:under|below|less\s+than|short\s+of|not\s+quite|shy\s+of)\s+(?:\w+\s+)?$", re.I
        ),
    ),
    ("over", re.compile(r"\b(?:over|above|more\s+than)\s+(?:\w+\s+)?$", re.I)),
)
# "about $580", "roughly $1,200": an amount said as a round figure
_ROUGH = re.compile(
    r"\b(?:about|roughly|around|approximately|nearly|almost|some)\s+[$€£]\s?"
    r"(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)",
    re.IGNORECASE,
)
_MONEY = re.compile(r"[$€£]\s?(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)")


# "roughly three-quarters", "about a third", "two-thirds": a share said as a fraction
_FRACTION = re.compile(
    r"\b(?P<n>a|an|one|two|three)[\s-]+(?P<part>half|halves|thirds?|quarters?)\b|\bhalf\b",
    re.IGNORECASE,
)
_PARTS = {"half": 2, "halve": 2, "third": 3, "quarter": 4, "fifth": 5}
_HOW_MANY = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4}
# "two-thirds", "a quarter", "four-fifths", "half": a fraction said in words
_FRACTION_WORDS = (
    r"(?:(?P<n>a|an|one|two|three|four)[\s-]+(?P<part>halves|half|thirds?|quarters?|fifths?)"
    r"|(?P<half>half))"
)


def fraction_worked_out(text: str) -> bool:
    """Whether the text says a share as a fraction ("the bicycle alone was $2,195.04, roughly
    three-quarters" of "the $2,930.94", "18 variants, and 12 of them, two-thirds") and each
    one it says is, to within a twentieth, the ratio of two amounts of money it states (of two
    counts, when it states no money)."""
    said = list(_FRACTION.finditer(text))
    if not said:
        return False
    amounts = sorted(set(money(text) if "$" in text else numbers(text)))
    if len(amounts) > MOST_OPERANDS:
        return False
    for m in said:
        part = (m.group("part") or "half").lower().rstrip("s")
        share = _HOW_MANY[m.group("n").lower()] if m.group("n") else 1
        value = share / _PARTS[part]
        if not any(b > 0 and abs(a / b - value) <= 0.05 for a, b in combinations(amounts, 2)):
            return False
    return True


# "roughly two-thirds of that", "about a fifth of the $463.43": a share said as a fraction of
# an amount the claim states, there or just before ("that", "it")
_FRACTION_OF = re.compile(
    rf"\b{_FRACTION_WORDS}\s+of\s+(?:(?P<it>that|it|this)\b|(?:the\s+|your\s+)?[$€£]\s?"
    r"(?P<whole>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?))",
    re.IGNORECASE,
)
# "$2,744.70 of the $3,041.36, about three-quarters": a part and its whole, then the fraction
_PART_THEN_FRACTION = re.compile(
    r"[$€£]\s?(?P<part_said>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s+of\s+"
    r"(?:the\s+|your\s+)?[$€£]\s?(?P<whole>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?),?\s+"
    r"(?:(?:or|at|so)\s+)?(?P<bound>(?:about|roughly|around|nearly|almost|some|just\s+(?:over|"
    r"under)|a\s+(?:little|bit)\s+(?:over|under)|over|under)\s+)?"
    rf"{_FRACTION_WORDS}\b(?!\s+of\b)",
    re.IGNORECASE,
)
_FRACTION_SLACK = 0.06  # "about two-thirds" holds from 0.61 to 0.73


_COUNT_WORDS = (
    r"\d{1,3}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty"
)
# "12 of them, two-thirds", "5 of the 20, a quarter": a part of a count, then the fraction
_COUNT_THEN_FRACTION = re.compile(
    rf"\b(?P<part_said>{_COUNT_WORDS})\s+of\s+(?:them|those|these|the\s+(?P<whole>{_COUNT_WORDS}))"
    r"\s*,\s*(?P<bound>(?:about|roughly|around|nearly|almost|just\s+(?:over|under)|over|under)\s+)?"
    rf"{_FRACTION_WORDS}\b",
    re.IGNORECASE,
)
_COUNT_TOKEN = re.compile(rf"\b(?:{_COUNT_WORDS})\b", re.IGNORECASE)


def _count_fraction_off(said: str) -> float | None:
    """A fraction said of a part of a count ("18 variants, and 12 of them, three-quarters")
    that the two counts do not bear out: the fraction, else None."""
    for m in islice(_COUNT_THEN_FRACTION.finditer(said), MOST_OPERANDS):
        whole_said = m.group("whole")
        if whole_said is None:  # "of them": the count said last before it
            before = list(
                islice(_COUNT_TOKEN.finditer(said, max(0, m.start() - 80), m.start()), 20)
            )
            whole_said = before[-1].group(0) if before else None
        if whole_said is None:
            continue
        part, whole = numbers(m.group("part_said")), numbers(whole_said)
        if not part or not whole or not 0 < part[0] <= whole[0]:
            continue
        value = _fraction(m)
        words = (m.group("bound") or "").lower()
        bound = "under" if "under" in words else "over" if "over" in words else "about"
        if not _fraction_holds(part[0] / whole[0], value, bound):
            return value
    return None


def fraction_off(claim: str, records: Iterable[Any]) -> float | None:
    """A fraction the claim says one thing is of an amount it states ("the espresso machine
    makes up roughly two-thirds of that", after "$4,803.37") that no member it names, nor two
    of them together, nor another amount it states, bears out: the fraction, else None. A
    claim naming no member, or whose "that" has no amount before it, says nothing judged."""
    said = in_figures(claim)
    if "$" not in said and "€" not in said and "£" not in said:
        return _count_fraction_off(said)
    for m in _PART_THEN_FRACTION.finditer(said):
        part_said = float(m.group("part_said").replace(",", ""))
        stated = float(m.group("whole").replace(",", ""))
        value = _fraction(m)
        words = (m.group("bound") or "").lower()
        bound = "under" if "under" in words else "over" if "over" in words else "about"
        if 0 < part_said <= stated and not _fraction_holds(part_said / stated, value, bound):
            return value
    fractions = list(islice(_FRACTION_OF.finditer(said), MOST_OPERANDS))
    if not fractions:
        return None
    named = [a for members, _ in _named(claim, records) for mm in members for a in mm]
    if not named or len(named) > MOST_OPERANDS:
        return None
    sums = [(m.end(), float(m.group(1).replace(",", ""))) for m in _MONEY.finditer(said)]
    for m in fractions:
        whole = _whole(m, sums)
        if whole is None or whole <= 0:
            continue
        others = [a for _, a in sums if abs(a - whole) >= _CENT]
        parts = [*named, *(a + b for a, b in combinations(named, 2)), *others[:MOST_OPERANDS]]
        value = _fraction(m)
        before = said[max(0, m.start() - 24) : m.start()]
        bound = next((b for b, p in _BOUNDS if p.search(before)), "about")
        if not any(_fraction_holds(p / whole, value, bound) for p in parts if 0 < p <= whole):
            return value
    return None


# "more than half the order", "about a third of what you paid": a fraction of a list's total
_FRACTION_OF_TOTAL = re.compile(
    rf"\b{_FRACTION_WORDS}\s+(?:of\s+)?(?:(?:the|your|its|their)\s+(?:(?:order[\u2019']?s?|whole|"
    r"entire|full)\s+)?(?:total|bill|order|purchase)\b|what\s+(?:you|they)\s+(?:paid|spent)\b)",
    re.IGNORECASE,
)


def total_fractions(claim: str, records: Iterable[Any]) -> tuple[float, ...]:
    """The fractions the claim says a member it names is of its list's total ("the espresso
    machine is more than half the order") that the prices bear out within their bound ("more
    than", "under", "about"). Read once per claim, however many numbers it states."""
    lowered = claim.lower()
    if "half" not in lowered and "third" not in lowered and "quarter" not in lowered:
        return ()
    out: list[float] = []
    for m in islice(_FRACTION_OF_TOTAL.finditer(claim), MOST_OPERANDS):
        share = _fraction(m)
        before = claim[max(0, m.start() - 24) : m.start()]
        bound = next((b for b, p in _BOUNDS if p.search(before)), "about")
        # the member named before it is the part ("… more than half the order, and $733.86
        # more than the watch")
        for named, amounts in _named(claim[: m.start()], records):
            if len(named) != 1 or not amounts or not all(len(a) == 1 for a in amounts):
                continue
            whole = sum(a[0] for a in amounts)
            if whole > 0 and _fraction_holds(named[0][0] / whole, share, bound):
                out.append(share)
                break
    return tuple(out)


def _fraction(m: re.Match[str]) -> float:
    """The fraction a match of "two-thirds", "a quarter" or "half" says."""
    part = (m.group("part") or "half").lower().rstrip("s")
    return _HOW_MANY[(m.group("n") or "a").lower()] / _PARTS[part]


def _whole(m: re.Match[str], sums: Sequence[tuple[int, float]]) -> float | None:
    """The amount a fraction is of: stated after "of", or the last of `sums` (where each ends,
    its amount) before "that"."""
    if m.group("whole"):
        return float(m.group("whole").replace(",", ""))
    before = bisect_right(sums, (m.start(), float("inf")))
    return sums[before - 1][1] if before else None


def _fraction_holds(share: float, value: float, bound: str) -> bool:
    if bound == "under":
        return share < value + 0.01
    if bound == "over":
        return share > value - 0.01
    return abs(share - value) <= _FRACTION_SLACK
