"""Prices compared between groups of a product's variants: "the Wi-Fi cameras all cost less
than the Ethernet ones" holds when every Wi-Fi camera is cheaper than every Ethernet one;
"red undercuts every blue speaker" is the same comparison without "than". A hedged
comparison ("generally cheaper") is not judged."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL


def variant(n: int, connectivity: str, resolution: str, price: float) -> dict[str, Any]:
    options = {"connectivity": connectivity, "resolution": resolution}
    return {"item_id": f"6{n}", "options": options, "available": True, "price": price}


CAMERA = {
    "name": "Indoor Security Camera",
    "product_id": "9000000003",
    "variants": {
        "61": variant(1, "Ethernet", "2K", 291.31),
        "62": variant(2, "Wi-Fi", "4K", 274.98),
        "63": variant(3, "Wi-Fi", "2K", 294.47),
        "64": variant(4, "Ethernet", "4K", 329.58),
    },
}


def flagged(answer: str) -> bool:
    evidence = [Evidence("tool:1", "tool:get_product_details", json.dumps(CAMERA))]
    return RETAIL.grounding.verifier().verify_items(answer, evidence).flagged


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        # the Wi-Fi 2K ($294.47) costs more than the Ethernet 2K ($291.31)
        ("The Wi-Fi cameras all cost less than the Ethernet ones.", True),
        ("The Wi-Fi cameras are cheaper than the Ethernet ones.", True),
        ("The Ethernet cameras cost more than the Wi-Fi ones.", True),
        ("The 4K Wi-Fi camera undercuts every Ethernet camera.", False),
        ("The 2K Wi-Fi camera undercuts every Ethernet camera.", True),
        # every 2K one is cheaper than... no: $294.47 > $274.98; the 4K ones are not all dearer
        ("The 4K cameras all cost more than the 2K ones.", True),
        # a hedge says "most", which is not judged
        ("The Wi-Fi cameras are generally cheaper than the Ethernet ones.", False),
        # denied, it says some are not, which is so
        ("The Wi-Fi cameras aren't all cheaper than the Ethernet ones.", False),
        # one of several, unclear which, is no group: "the Ethernet one" is not every one
        ("The 2K Wi-Fi camera costs more than the Ethernet one.", False),
    ],
)
def test_groups_of_variants_compared_by_price(answer: str, wrong: bool) -> None:
    assert flagged(answer) is wrong


ORDER = {
    "order_id": "#W8411016",
    "status": "pending",
    "items": [
        {"name": "Air Purifier", "item_id": "71", "price": 504.19},
        {"name": "Backpack", "item_id": "72", "price": 218.04},
        {"name": "Vacuum Cleaner", "item_id": "73", "price": 655.59},
    ],
}


def on_order(answer: str) -> bool:
    evidence = [Evidence("tool:1", "tool:get_order_details", json.dumps(ORDER))]
    return RETAIL.grounding.verifier().verify_items(answer, evidence).flagged


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        # $655.59 against $504.19 + $218.04 = $722.23
        ("The vacuum costs more than the purifier and the backpack put together.", True),
        ("The vacuum cleaner is dearer than the purifier and backpack combined.", True),
        ("The backpack is cheaper than the purifier and the vacuum together.", False),
        ("The vacuum costs less than the purifier and the backpack together.", False),
        # more than each alone, which is no sum
        ("The vacuum costs more than the purifier and more than the backpack.", False),
        ("The air purifier costs more than the backpack and the vacuum together.", True),
        # denied or hedged, the sum is not judged
        ("The vacuum doesn't cost more than the purifier and the backpack together.", False),
    ],
)
def test_one_item_against_others_together_is_judged_by_their_sum(answer: str, wrong: bool) -> None:
    assert on_order(answer) is wrong


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        # the Wi-Fi 2K ($294.47) against the Ethernet 2K ($291.31): $3.16 apart
        ("The Wi-Fi 2K camera is $3.16 dearer than the Ethernet 2K one.", False),
        ("The Ethernet 2K camera is $3.16 cheaper than the Wi-Fi 2K one.", False),
        ("The Wi-Fi 2K camera costs $3.16 more than the Ethernet 2K one.", False),
        # the gap turned round, or not the gap
        ("The Wi-Fi 2K camera is $3.16 cheaper than the Ethernet 2K one.", True),
        ("The Ethernet 2K camera costs $3.16 more than the Wi-Fi 2K one.", True),
        ("The Wi-Fi 2K camera is $4.16 dearer than the Ethernet 2K one.", True),
        # what follows the compared one is another phrase, not part of it
        ("The Wi-Fi 2K camera is $3.16 dearer than the Ethernet 2K one, and the Wi-Fi 4K is "
         "the cheapest at $274.98.", False),
    ],
)  # fmt: skip
def test_a_gap_between_two_variants_is_judged_by_their_prices(answer: str, wrong: bool) -> None:
    assert flagged(answer) is wrong
