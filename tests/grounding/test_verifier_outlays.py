"""A price said as the size of what was spent ("the bigger spend", "the smallest purchase")
compares the prices of the things a record lists, as "the pricier" does."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL

ORDER: dict[str, Any] = {
    "order_id": "#S730",
    "status": "pending",
    "items": [
        {"name": "Pet Bed", "item_id": "71", "price": 191.21},
        {"name": "Tablet", "item_id": "72", "price": 951.21},
    ],
}


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("Of the two, the pet bed is the bigger spend, at $191.21.", True),
        ("The tablet is the smaller purchase.", True),
        ("The pet bed is the highest cost on the order.", True),
        ("Of the two, the tablet is the bigger spend.", False),
        ("The pet bed is the smaller spend, at $191.21.", False),
        ("The tablet is the largest expense.", False),
    ],
)
def test_a_price_said_as_the_size_of_the_spend(answer: str, wrong: bool) -> None:
    evidence = [Evidence("tool:1", "tool:get_order_details", json.dumps(ORDER))]
    assert RETAIL.grounding.verifier().verify_items(answer, evidence).flagged is wrong
