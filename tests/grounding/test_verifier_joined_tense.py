"""A member of a closed class (a payment method) said of a record is checked in the tense it is
said in: "it was paid with your credit card and will ship to …" states a past payment, and the
verb phrase joined on with its own "will" does not make it a future one. What is said to be
possible or to come ("it will be refunded to your credit card", "can be refunded to a credit
card") still states nothing the record holds."""

from __future__ import annotations

from typing import Any

import pytest

from tests.grounding.common import flagged

PAID_BY_GIFT_CARD: dict[str, Any] = {
    "order_id": "#W4135875",
    "status": "pending",
    "address": {"address1": "996 Cedar Street", "city": "San Antonio", "state": "TX"},
    "items": [{"name": "Tablet", "item_id": "7535423717", "price": 904.46}],
    "fulfillments": [],
    "payment_history": [
        {"transaction_type": "payment", "amount": 904.46, "payment_method_id": "gift_card_8168843"}
    ],
}


@pytest.mark.parametrize(
    "answer",
    [
        "It was paid with your credit card and will ship to 996 Cedar Street.",
        "Order #W4135875 was paid with your credit card, and it will ship to San Antonio.",
        "You paid with PayPal but can still change the address.",
    ],
)
def test_a_past_payment_before_a_joined_will_is_checked(answer: str) -> None:
    assert flagged(answer, PAID_BY_GIFT_CARD)


@pytest.mark.parametrize(
    "answer",
    [
        "It was paid with your gift card and will ship to 996 Cedar Street.",
        "It will be refunded to your credit card.",
        "It was paid with your gift card and can be refunded to a credit card.",
        "If you had paid with a credit card, it would go back to that card.",
    ],
)
def test_the_near_miss_a_true_payment_or_one_to_come_passes(answer: str) -> None:
    assert not flagged(answer, PAID_BY_GIFT_CARD)
