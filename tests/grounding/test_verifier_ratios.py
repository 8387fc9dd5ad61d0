"""A ratio said of two amounts: "about four times what the T-shirt and the puzzle cost together
($92.56)", "more than twice what …", "almost three times the notebook's $32.37", "more than three
and a half times as much". Its number is no fact the record lacks, nor are its words ("times",
"much") something the answer adds, when it is near the ratio of what two items it names cost
(or one and two together); a ratio that no two of them bear out is contradicted."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL

ORDER: dict[str, Any] = {
    "order_id": "#W7100001",
    "status": "delivered",
    "items": [
        {
            "name": "Smart Watch",
            "item_id": "7100000001",
            "price": 370.87,
            "options": {"color": "black"},
        },
        {"name": "T-Shirt", "item_id": "7100000002", "price": 50.00, "options": {"size": "M"}},
        {
            "name": "Jigsaw Puzzle",
            "item_id": "7100000003",
            "price": 42.56,
            "options": {"pieces": "1000"},
        },
        {
            "name": "Wall Clock",
            "item_id": "7100000004",
            "price": 183.00,
            "options": {"type": "analog"},
        },
        {
            "name": "Water Bottle",
            "item_id": "7100000005",
            "price": 50.29,
            "options": {"capacity": "1L"},
        },
    ],
    "payment_history": [
        {"transaction_type": "payment", "amount": 696.72, "payment_method_id": "credit_card_1"}
    ],
}


def flagged(answer: str) -> bool:
    evidence = [Evidence("tool:1", "tool:get_order_details", json.dumps(ORDER))]
    return RETAIL.grounding.verifier().verify_items(answer, evidence).flagged


@pytest.mark.parametrize(
    "answer",
    [
        "The smart watch, $370.87, is about four times what the T-shirt and the puzzle cost "
        "together ($92.56).",
        "The smart watch, $370.87, is more than twice what the clock and the T-shirt cost "
        "together ($233.00).",
        "The smart watch, $370.87, is almost nine times the puzzle's $42.56.",
        # the sum of two it names, unstated, is what the first is compared with
        "The smart watch is about four times what the T-shirt and the puzzle cost together.",
        # as written in a reply, the whole named first
        "The smart watch is most of it: $370.87 of the $696.72, about four times what the "
        "T-shirt and the puzzle cost together ($92.56).",
        "The clock cost $132.71 more than the bottle, more than three and a half times as much.",
        "The smart watch ($370.87) cost more than twice as much as the wall clock ($183.00).",
        # compared with "its price", the other thing's
        "The smart watch cost $187.87 more than the wall clock, close to twice its price.",
        "The wall clock cost $132.71 more than the water bottle, about 3.6 times its price.",
    ],
)
def test_a_ratio_near_that_of_two_amounts_said_passes(answer: str) -> None:
    assert not flagged(answer)


@pytest.mark.parametrize(
    "answer",
    [
        "The smart watch, $370.87, is about six times what the T-shirt and the puzzle cost "
        "together ($92.56).",
        "The smart watch, $370.87, is more than twice what the clock and the watch's strap "
        "cost together ($233.00), or three times the puzzle's $42.56.",
        "The clock cost $132.71 more than the bottle, more than five and a half times as much.",
        "The wall clock ($183.00) cost more than four times as much as the water bottle ($50.29).",
        "The wall clock cost $132.71 more than the water bottle, about 2.6 times its price.",
    ],
)
def test_a_ratio_far_from_that_of_any_two_amounts_is_contradicted(answer: str) -> None:
    evidence = [Evidence("tool:1", "tool:get_order_details", json.dumps(ORDER))]
    found = RETAIL.grounding.verifier().verify_items(answer, evidence)
    assert found.flagged
    assert any(c.status == "contradicted" and "times apart" in " ".join(c.reasons)
               for c in found.claims), [c.reasons for c in found.claims]  # fmt: skip


def test_a_ratio_that_holds_however_far_over_is_not_contradicted() -> None:
    # 7.4 is "more than three times"; said so loosely it is not excused, but not false either
    evidence = [Evidence("tool:1", "tool:get_order_details", json.dumps(ORDER))]
    answer = "The smart watch ($370.87) cost more than three times as much as the water bottle."
    found = RETAIL.grounding.verifier().verify_items(answer, evidence)
    assert not any("times apart" in r for c in found.claims for r in c.reasons)
    assert not any(c.status == "contradicted" for c in found.claims)
