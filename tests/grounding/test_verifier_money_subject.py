"""A state word said of a sum is said of the money, not of the record: "the $308.38 you paid
was refunded" tells where the money went while the order stays cancelled, so it contradicts no
status. Said of the order ("your order of $308.38 was delivered"), the same word is the order's
state and is checked against the record."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL
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
