"""A state word said of a sum is said of the money, not of the record: "the $308.38 you paid
was refunded" tells where the money went while the order stays cancelled, so it contradicts no
status. Said of the order ("your order of $308.38 was delivered"), the same word is the order's
state and is checked against the record."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.grounding.common import growth
from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL
from tether.grounding.meaning import clauses
from tether.grounding.verifier import Verification

CANCELLED: dict[str, Any] = {
    "order_id": "#W7",
    "user_id": "u7",
    "status": "cancelled",
    "items": [{"name": "Desk Lamp", "product_id": "p1", "item_id": "1", "price": 308.38}],
    "fulfillments": [],
    "payment_history": [
        {"transaction_type": "payment", "amount": 308.38, "payment_method_id": "gift_card_1"},
        {"transaction_type": "refund", "amount": 308.38, "payment_method_id": "gift_card_1"},
    ],
}


def on_order(answer: str) -> Verification:
    evidence = [Evidence("tool:1", "tool:get_order_details", json.dumps(CANCELLED))]
    return RETAIL.grounding.verifier().verify_items(answer, evidence)


@pytest.mark.parametrize(
    "answer",
    [
        "Order #W7 was cancelled, and the $308.38 you paid was refunded to that same gift card.",
        "Order #W7 was cancelled; the full payment was returned to your gift card.",
    ],
)
def test_money_said_to_move_leaves_the_status_alone(answer: str) -> None:
    v = on_order(answer)
    assert not v.flagged, v.claims


@pytest.mark.parametrize(
    "answer",
    [
        "Your order of $308.38 was delivered last week.",
        "Order #W7 has shipped, and the $308.38 you paid was charged to your gift card.",
        "The $308.38 order was delivered.",
    ],
)
def test_a_state_said_of_the_order_is_still_checked(answer: str) -> None:
    assert on_order(answer).flagged


# a sum in brackets is an aside: what follows it is still said of the clause's subject
@pytest.mark.parametrize(
    "answer",
    [
        "Order #W7 was paid in full ($308.38) from your gift card and has already been delivered.",
        "Order #W7 was paid ($308.38) and has been delivered.",
        "Order #W7, a Desk Lamp ($308.38), has shipped.",
    ],
)
def test_a_state_after_a_price_in_brackets_is_the_orders(answer: str) -> None:
    assert on_order(answer).flagged


@pytest.mark.parametrize(
    "answer",
    [
        "Order #W7 was paid in full ($308.38) from your gift card and has been cancelled.",
        "Order #W7 was paid ($308.38) and was cancelled, and the money was refunded.",
        "Order #W7 was cancelled, and the full payment ($308.38) was refunded to your gift card.",
    ],
)
def test_the_near_miss_a_true_state_after_a_price_in_brackets_holds(answer: str) -> None:
    v = on_order(answer)
    assert not v.flagged, v.claims


def test_a_price_in_brackets_parts_a_clause_only_after_a_denial() -> None:
    kept = clauses("It was paid in full ($308.38) and has shipped.")
    assert [c.text for c in kept] == ["It was paid in full ($308.38) and has shipped."]
    # "no water resistance ($298.91) can be ordered": the "no" is the option's, not the verb's
    parted = clauses("The one with no water resistance ($298.91) can be ordered.")
    assert [c.text.strip() for c in parted] == [
        "The one with no water resistance",
        "can be ordered.",
    ]
    # a bracket that holds words still parts one, as before
    worded = clauses("It was paid in full (from your gift card) and has shipped.")
    assert len(worded) > 1


def test_a_clause_through_many_prices_in_brackets_is_read_in_linear_time() -> None:
    """Each stretch of a clause is read for a denial once, not once per bracket after it."""
    piece = "lamp ($308.38) plus "
    ratio = growth(lambda: clauses(piece * 500), lambda: clauses(piece * 2000))
    assert ratio < 8  # 4x the text: linear is 4x, quadratic 16x
    assert on_order(piece * 300 + "it has shipped.").flagged
