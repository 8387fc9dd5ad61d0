"""The thing a price is compared with is not what the price is said of: in "at $981.47 it
costs nearly five times what the skateboard does" the $981.47 is the grill's, named before, and
the skateboard is only the standard. Another item's price said of the first object is still
caught, and so is one pinned on the standard itself."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL

ORDER: dict[str, Any] = {
    "order_id": "#W7200001",
    "status": "pending",
    "items": [
        {
            "name": "Portable Charger",
            "item_id": "7200000001",
            "price": 105.49,
            "options": {"capacity": "5000mAh", "color": "white"},
        },
        {
            "name": "Grill",
            "item_id": "7200000002",
            "price": 981.47,
            "options": {"type": "electric", "size": "portable"},
        },
        {
            "name": "Skateboard",
            "item_id": "7200000003",
            "price": 200.80,
            "options": {"deck material": "bamboo", "length": "31 inch"},
        },
    ],
    "payment_history": [
        {"transaction_type": "payment", "amount": 1287.76, "payment_method_id": "gift_card_1"}
    ],
}


def flagged(answer: str) -> bool:
    evidence = [Evidence("tool:1", "tool:get_order_details", json.dumps(ORDER))]
    return RETAIL.grounding.verifier().verify_items(answer, evidence).flagged


@pytest.mark.parametrize(
    "answer",
    [
        "The grill accounts for just over three-quarters of the $1,287.76, and at $981.47 it "
        "costs nearly five times what the skateboard does.",
        "The grill makes up most of the order, and at $981.47 it costs more than the skateboard.",
        "The grill is the big one, and at $981.47 it costs more than three times as much as the "
        "skateboard and the charger together.",
    ],
)
def test_a_price_said_before_the_thing_compared_with_is_the_first_ones(answer: str) -> None:
    assert not flagged(answer)


@pytest.mark.parametrize(
    "answer",
    [
        # the skateboard's price said of the grill, before the comparison
        "The grill accounts for just over three-quarters of the $1,287.76, and at $200.80 it "
        "costs nearly five times what the skateboard does.",
        # the grill's price pinned on the skateboard, which comes first here
        "The skateboard, at $981.47, costs nearly five times what the grill does.",
        "At $200.80 the grill costs more than the skateboard does.",
    ],
)
def test_another_items_price_said_of_either_side_is_caught(answer: str) -> None:
    assert flagged(answer)
