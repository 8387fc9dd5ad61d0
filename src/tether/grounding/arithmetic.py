"""Amounts an answer works out from amounts it states: the sum or the difference of two.

"The sneakers ($189.50) and the speaker ($315.20) came to $504.70" states a total no record
holds, yet every amount in it is grounded: the two the record gives, and the one the answer
adds up from them. A result that is off ("came to $540.70") is worked out from nothing and
stays unseen, as does any amount whose parts the claim does not state.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

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
