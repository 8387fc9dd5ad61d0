"""Counts and words as a support desk writes them: "both items", "all three items", "your
account lists four orders" are the length of the record's list; "at the moment" adds nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.grounding.common import THREE_ITEMS as ORDER
from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL
from tether.grounding.verifier import Verification

ONE_ITEM: dict[str, Any] = {
    "order_id": "#W5100317",
    "status": "processed",
    "items": [{"name": "Tablet", "item_id": "4", "price": 962.34}],
    "fulfillments": [{"tracking_id": ["132637124790"], "item_ids": ["4"]}],
    "payment_history": [{"transaction_type": "payment", "amount": 962.34}],
}
ACCOUNT: dict[str, Any] = {
    "user_id": "noah_ito_3850",
    "payment_methods": {
        "credit_card_1": {"source": "credit_card", "brand": "mastercard", "last_four": "1065"}
    },
    "orders": ["#W3445693", "#W4219264", "#W6729841"],
}


def desk(answer: str, record: dict[str, Any], tool: str) -> Verification:
    evidence = [Evidence("tool:1", f"tool:{tool}", json.dumps(record))]
    return RETAIL.grounding.verifier().verify_items(answer, evidence)


@pytest.mark.parametrize(
    ("answer", "record", "tool", "flagged"),
    [
        ("Both items share tracking number 132637124790.", ONE_ITEM, "get_order_details", True),
        ("The one item has tracking number 132637124790.", ONE_ITEM, "get_order_details", False),
        # "both" of a verb is no count ("both shipped"), nor "both of the …"
        ("The tablet and the case both shipped.", ONE_ITEM, "get_order_details", False),
        ("Your account lists four orders.", ACCOUNT, "get_user_details", True),
        ("Your account lists three orders.", ACCOUNT, "get_user_details", False),
        ("All three items share tracking number 619979868825.", ORDER, "get_order_details", False),
        ("All four items share tracking number 619979868825.", ORDER, "get_order_details", True),
    ],
)
def test_counts_said_with_both_all_or_lists_are_the_list_length(
    answer: str, record: dict[str, Any], tool: str, flagged: bool
) -> None:
    assert desk(answer, record, tool).flagged is flagged


CAMERA: dict[str, Any] = {
    "name": "Action Camera",
    "product_id": "3377618313",
    "variants": {
        "1": {"options": {"resolution": "5K", "waterproof": "no", "color": "black"},
              "available": True, "price": 523.66},
        "2": {"options": {"resolution": "5K", "waterproof": "yes", "color": "silver"},
              "available": False, "price": 497.39},
        "3": {"options": {"resolution": "4K", "waterproof": "yes", "color": "black"},
              "available": True, "price": 466.75},
    },
}  # fmt: skip


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        # "at the moment" is "now": it is no word the answer adds
        (
            "The only one we can sell you at the moment is the black non-waterproof model "
            "at $523.66.",
            False,
        ),
        (
            "The only one we can sell you at the moment is the black non-waterproof model, "
            "and it ships with a free tripod and memory card.",
            True,
        ),
    ],
)
def test_a_time_adverb_adds_nothing(answer: str, flagged: bool) -> None:
    assert desk(answer, CAMERA, "get_product_details").flagged is flagged
