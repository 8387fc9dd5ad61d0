"""A lifecycle state said of several things at once ("the charger and the grill are on their
way") is the state said of one ("the order is on its way"), and is judged against the record's
status the same way: in transit against a pending order is contradicted."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL


def order(status: str) -> dict[str, Any]:
    return {
        "order_id": "#W7300001",
        "status": status,
        "items": [
            {"name": "Portable Charger", "item_id": "7300000001", "price": 105.49},
            {"name": "Grill", "item_id": "7300000002", "price": 981.47},
        ],
        "fulfillments": [],
    }


def flagged(answer: str, status: str) -> bool:
    evidence = [Evidence("tool:1", "tool:get_order_details", json.dumps(order(status)))]
    return RETAIL.grounding.verifier().verify_items(answer, evidence).flagged


@pytest.mark.parametrize(
    "answer",
    [
        "Your charger and grill are packed and on their way.",
        "Both items are on their way to you.",
        "Your order is on its way.",
    ],
)
def test_in_transit_said_of_a_pending_order_is_caught(answer: str) -> None:
    assert flagged(answer, "pending")


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        ("Your charger and grill are on their way.", "shipped"),
        # denied, or what will happen once the state changes: no state said of now
        ("Your charger and grill aren't on their way yet; the order is still pending.", "pending"),
        ("Once the order ships, the charger and grill will be on their way.", "pending"),
    ],
)
def test_the_state_held_denied_or_to_come_passes(answer: str, status: str) -> None:
    assert not flagged(answer, status)
