"""A state said as where the parcel is ("still with the carrier", "at your door") says where
the order is now, and the record's parts named by their kind ("your items") speak of the one
record in view: of a delivered order, being with the carrier contradicts it, no longer being
with it and having been handed to it do not."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL
from tether.grounding.verifier import Verification

DELIVERED: dict[str, Any] = {
    "order_id": "#D620",
    "status": "delivered",
    "items": [
        {"name": "Yoga Mat", "item_id": "61", "price": 30.0},
        {"name": "Water Bottle", "item_id": "62", "price": 18.0},
    ],
    "fulfillments": [{"tracking_id": ["111222333444"], "item_ids": ["61", "62"]}],
}
SHIPPED: dict[str, Any] = {**DELIVERED, "order_id": "#D621", "status": "shipped"}
PENDING: dict[str, Any] = {
    **DELIVERED,
    "order_id": "#D622",
    "status": "pending",
    "fulfillments": [],
}


def on_order(answer: str, record: dict[str, Any]) -> Verification:
    evidence = [Evidence("tool:1", "tool:get_order_details", json.dumps(record))]
    return RETAIL.grounding.verifier().verify_items(answer, evidence)


@pytest.mark.parametrize(
    ("answer", "record", "flagged"),
    [
        ("Your two items are still with the carrier under tracking 111222333444.", DELIVERED, True),
        ("Your items are with the courier.", DELIVERED, True),
        ("Your items are still in transit.", DELIVERED, True),
        ("Your items aren't at your door yet.", DELIVERED, True),
        # said of a delivered order the way it is
        ("Your items are no longer with the carrier: they were delivered.", DELIVERED, False),
        ("Your items were handed to the carrier and have been delivered.", DELIVERED, False),
        ("Your items are at your door.", DELIVERED, False),
        # and of a shipped one
        ("Your two items are still with the carrier under tracking 111222333444.", SHIPPED, False),
        ("Your items are still in transit.", SHIPPED, False),
        # left the warehouse and on the road: shipped, not yet delivered
        ("Your items have left our warehouse and are on the road to you.", PENDING, True),
        ("Your items have left our warehouse and are on the road to you.", SHIPPED, False),
        # at the carrier's depot: with it still
        ("All three items are at the carrier's Denver depot waiting to go out.", DELIVERED, True),
        ("Your items are at the courier's depot.", SHIPPED, False),
    ],
)  # fmt: skip
def test_a_state_said_as_a_place(answer: str, record: dict[str, Any], flagged: bool) -> None:
    v = on_order(answer, record)
    assert v.flagged is flagged, v.claims
