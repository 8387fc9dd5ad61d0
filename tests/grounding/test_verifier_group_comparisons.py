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
