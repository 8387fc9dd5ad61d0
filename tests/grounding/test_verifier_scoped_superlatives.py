"""A superlative said among a set the clause opens by naming ("Among the 30-50 lbs sets, …",
"Of the two headphones, …") is judged among that set's objects alone, and the object may be
picked by a value only it holds; "costs the most" and "costs the least" are superlatives."""

from __future__ import annotations

from typing import Any

import pytest

from tests.grounding.common import flagged


def item(n: int, name: str, price: float, **options: str) -> dict[str, Any]:
    return {"name": name, "item_id": f"4{n}", "price": price, "options": options}


ORDER = {
    "order_id": "#W7100004",
    "status": "pending",
    "items": [
        item(1, "Headphones", 377.97, type="on-ear", color="red"),
        item(2, "Bookshelf", 549.84, material="glass", color="black"),
        item(3, "Headphones", 344.55, type="in-ear", color="red"),
    ],
}


def variant(n: int, weights: str, material: str, kind: str, price: float) -> dict[str, Any]:
    options = {"weight range": weights, "material": material, "set type": kind}
    return {"item_id": f"5{n}", "options": options, "available": True, "price": price}


PRODUCT = {
    "name": "Dumbbell Set",
    "product_id": "9000000002",
    "variants": {
        "51": variant(1, "30-50 lbs", "rubber", "fixed", 462.84),
        "52": variant(2, "30-50 lbs", "iron", "adjustable", 499.10),
        "53": variant(3, "55-75 lbs", "rubber", "fixed", 528.12),
        "54": variant(4, "55-75 lbs", "iron", "fixed", 534.84),
    },
}


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("Of the two headphones, the in-ear pair is the pricier one.", True),
        ("Of the two headphones, the on-ear pair is the pricier one.", False),
        ("Of the two headphones, the in-ear pair is the cheaper one.", False),
    ],
)
def test_a_superlative_among_the_named_items(answer: str, wrong: bool) -> None:
    assert flagged(answer, ORDER, "get_order_details") is wrong


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("Among the 30-50 lbs sets, the fixed rubber one, at $462.84, costs the most.", True),
        ("Among the 30-50 lbs sets, the adjustable iron one, at $499.10, costs the most.", False),
        ("Among the 30-50 lbs sets, the fixed rubber one, at $462.84, costs the least.", False),
        # among every set, the 30-50 lbs adjustable one is not the dearest
        ("The adjustable iron 30-50 lbs set, at $499.10, costs the most.", True),
    ],
)
def test_a_superlative_among_the_variants_holding_a_value(answer: str, wrong: bool) -> None:
    assert flagged(answer, PRODUCT, "get_product_details") is wrong


def clock(n: int, diameter: str, color: str, kind: str, available: bool, price: float) -> Any:
    options = {"diameter": diameter, "color": color, "type": kind}
    return {"item_id": f"7{n}", "options": options, "available": available, "price": price}


CLOCK = {
    "name": "Wall Clock",
    "product_id": "9000000004",
    "variants": {
        "71": clock(1, "10 inches", "black", "analog", False, 182.85),
        "72": clock(2, "14 inches", "white", "digital", True, 184.48),
        "73": clock(3, "14 inches", "black", "analog", True, 195.63),
    },
}


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        # "of all" sets the superlative's range; "can't be ordered" is no "in stock" filter
        ("The cheapest clock of all, the black analog at $182.85, can't be ordered.", False),
        ("The cheapest clock of all, the black analog at $182.85, can be ordered.", True),
        ("The cheapest clock you can order is the white digital at $184.48.", False),
        ("The cheapest clock you can order is the black analog at $195.63.", True),
    ],
)
def test_of_all_and_a_denied_stock_phrase_quantify_nothing(answer: str, wrong: bool) -> None:
    assert flagged(answer, CLOCK, "get_product_details") is wrong
