"""How many shipments an order came in, said as a whole split into parts ("came in two separate
shipments", "arrived in three distinct packages"), is a count of its fulfilments, judged
against how many the record lists. Without such a word the parts may be some of several ("the
keyboard came in one shipment", "as seen in one review"), and what could be done ("could be
split into two shipments") counts nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL


def order(shipments: int) -> dict[str, Any]:
    return {
        "order_id": "#W7400001",
        "status": "delivered",
        "items": [
            {"name": "Mechanical Keyboard", "item_id": "7400000001", "price": 228.84},
            {"name": "Dumbbell Set", "item_id": "7400000002", "price": 483.45},
        ],
        "fulfillments": [
            {"tracking_id": [f"83511966872{n}"], "item_ids": ["7400000001", "7400000002"]}
            for n in range(shipments)
        ],
    }


def flagged(answer: str, shipments: int) -> bool:
    evidence = [Evidence("tool:1", "tool:get_order_details", json.dumps(order(shipments)))]
    return RETAIL.grounding.verifier().verify_items(answer, evidence).flagged


@pytest.mark.parametrize(
    ("answer", "shipments"),
    [
        ("The keyboard and the dumbbell set came in two separate shipments.", 1),
        ("The keyboard and the dumbbell set arrived in three distinct packages.", 1),
        ("The keyboard and the dumbbell set were split into two separate shipments.", 3),
    ],
)
def test_a_wrong_count_of_shipments_is_caught(answer: str, shipments: int) -> None:
    assert flagged(answer, shipments)


@pytest.mark.parametrize(
    ("answer", "shipments"),
    [
        ("The keyboard and the dumbbell set came in two separate shipments.", 2),
        ("The keyboard and the dumbbell set came in one shipment.", 1),
        # one of several: no count of the list
        ("The keyboard came in one shipment.", 2),
        # what could be done, and a count of another list beside it
        ("An order like this could be split into two shipments.", 1),
        ("Its two items came in one shipment.", 1),
    ],
)
def test_the_count_held_or_no_count_of_the_list_passes(answer: str, shipments: int) -> None:
    assert not flagged(answer, shipments)
