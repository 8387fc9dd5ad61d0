"""Amounts an answer works out from amounts it states: the sum or the difference of two.

"The sneakers ($189.50) and the speaker ($315.20) came to $504.70" states a total no record
holds, yet every amount in it is grounded: the two the record gives, and the one the answer
adds up from them. A result that is off ("came to $540.70") is worked out from nothing and
stays unseen, as does any amount whose parts the claim does not state, unless it names the
things whose prices they are ("the thermostat and the mouse come to $414.87").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import combinations, product
from typing import Any

_CENT = 0.005
# a count ("two choices", "3 items") adds up by chance too often to be taken as worked out
_LEAST = 10.0
# among many amounts some pair adds up to almost anything, and trying every pair of a long
# list costs time quadratic in its length: a claim stating more than this works out nothing
MOST_OPERANDS = 5


def worked_out(value: float, stated: Sequence[float]) -> bool:
    """Whether `value` is, to the cent, the sum or the difference of two of `stated` (the
    claim's other amounts, each one the evidence gives; at most `MOST_OPERANDS` of them)."""
    if len(stated) > MOST_OPERANDS or (value < _LEAST and value.is_integer()):
        return False
    for a, b in combinations(stated, 2):
        if abs(a + b - value) < _CENT or abs(abs(a - b) - value) < _CENT:
            return True
    return False


def named_total(value: float, claim: str, records: Iterable[Any]) -> bool:
    """Whether `value` is, to the cent, the total of what two or more members of one record
    list cost, each named in the claim ("the thermostat and the mouse come to $414.87")."""
    said = {w.lower() for w in _WORD.findall(claim)}
    for members in _lists(records, 0):
        named = [
            [v for v in m.values() if isinstance(v, int | float) and not isinstance(v, bool)]
            for m in members
            if said & {w.lower() for w in _WORD.findall(str(m.get("name", ""))) if len(w) > 3}
        ]
        if len(named) > MOST_OPERANDS:
            continue
        for size in range(2, len(named) + 1):
            for group in combinations(named, size):
                if any(abs(sum(amounts) - value) < _CENT for amounts in product(*group)):
                    return True
    return False


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
