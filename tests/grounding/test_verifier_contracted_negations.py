"""A negation word whose verb is cut down to "'s" ("nothing's shipped", "nobody's sent it")
denies as "nothing has shipped" does: said of a pending order it restates the record, while
the same state asserted ("it's shipped already", "everything's been sent") is still caught."""

from __future__ import annotations

from typing import Any

import pytest

from tests.grounding.common import on_record
from tether.grounding.meaning import negated

PENDING: dict[str, Any] = {
    "order_id": "#P510",
    "status": "pending",
    "items": [{"name": "Wall Clock", "item_id": "51", "price": 42.0}],
    "fulfillments": [],
}


@pytest.mark.parametrize(
    ("clause", "denies"),
    [
        ("nothing's shipped yet", True),
        ("nobody\u2019s sent it", True),
        ("nothing has shipped yet", True),
        ("something's shipped", False),
        ("everything's shipped", False),
        ("the order's shipped", False),
    ],
)
def test_a_negation_word_with_a_cut_verb_denies(clause: str, denies: bool) -> None:
    assert negated(clause) is denies


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("Nothing's shipped on this one yet: it's pending.", False),
        ("Your order's pending, nothing's shipped.", False),
        ("Nobody's shipped it yet; the order's pending.", False),
        ("It's shipped already.", True),
        ("The clock's shipped already.", True),
    ],
)
def test_a_cut_denial_of_a_state_restates_the_record(answer: str, flagged: bool) -> None:
    v = on_record(answer, PENDING)
    assert v.flagged is flagged, v.claims
