"""A value named with its field's name: "size large" of a medium backpack, "light skin tones"
of a kit for dark ones, "linear switches" of a tactile keyboard; or just before the item's name:
"a digital wall clock" of an analog one. The pack says which values each field can take (the
retail catalogue's option values), so a value so named is read as that field's and judged
against the item's. A value said without its field's name ("large enough for a laptop") says
nothing of the field; other forms of the item's own value ("size L", "grey"), words of it
("natural rubber"), values denied, and values of another variant than the item (the one it is
exchanged for, one on offer) pass."""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from dataclasses import replace
from importlib import resources
from typing import Any

import pytest

from tether.core.types import Evidence
from tether.domains.retail.grounding import option_values
from tether.domains.retail.option_values import OPTION_VALUES
from tether.domains.retail.pack import RETAIL
from tether.grounding import GroundingPack

ORDER: dict[str, Any] = {
    "order_id": "#W7000001",
    "status": "delivered",
    "items": [
        {"name": "T-Shirt", "item_id": "1", "price": 54.84,
         "options": {"color": "gray", "size": "L", "material": "cotton", "style": "crew neck"}},
        {"name": "Backpack", "item_id": "2", "price": 212.79,
         "options": {"color": "black", "size": "medium", "material": "polyester",
                     "compartment": "laptop"}},
        {"name": "Makeup Kit", "item_id": "3", "price": 235.44,
         "options": {"skin tone": "dark", "kit size": "professional", "brand": "Brand C"}},
        {"name": "Wristwatch", "item_id": "4", "price": 1042.04,
         "options": {"strap material": "leather", "dial color": "white"}},
        {"name": "Mechanical Keyboard", "item_id": "5", "price": 268.77,
         "options": {"switch type": "tactile", "backlight": "RGB", "size": "full size"}},
        {"name": "Perfume", "item_id": "6", "price": 289.66,
         "options": {"scent family": "oriental", "size": "30ml", "gender": "women"}},
        {"name": "Wall Clock", "item_id": "7", "price": 182.85,
         "options": {"diameter": "10 inches", "color": "black", "type": "analog"}},
        {"name": "Yoga Mat", "item_id": "8", "price": 94.38,
         "options": {"thickness": "6mm", "material": "natural rubber", "color": "pink"}},
    ],
}  # fmt: skip


def flagged(answer: str, pack: GroundingPack = RETAIL.grounding) -> bool:
    evidence = [Evidence("tool:1", "tool:get_order_details", json.dumps(ORDER))]
    return pack.verifier().verify_items(answer, evidence).flagged


@pytest.mark.parametrize(
    "answer",
    [
        "Your black polyester backpack in size large was delivered.",
        "The makeup kit, for light skin tones, was delivered.",
        "The mechanical keyboard has linear switches and an RGB backlight.",
        "The perfume is a woody scent for women, in 30ml.",
        # a value just before the item's name is one of its fields'
        "Your digital wall clock cost $182.85.",
    ],
)
def test_a_value_named_with_its_field_is_that_fields(answer: str) -> None:
    assert flagged(answer)
    # with no values known for the fields, the pack cannot tell
    assert not flagged(answer, replace(RETAIL.grounding, values={}))


@pytest.mark.parametrize(
    "answer",
    [
        "Your black polyester backpack, size medium, was delivered.",
        "The backpack is large enough for a laptop and was delivered.",  # no field named
        "The T-shirt is a cotton crew neck in size large.",  # "L" said in words
        "The grey cotton T-shirt was delivered.",  # the other spelling
        "The makeup kit for dark skin tones was delivered.",
        "The wristwatch has a white dial and a leather strap.",
        "The mechanical keyboard has tactile switches and an RGB backlight.",
        "The perfume is an oriental scent for women, in 30ml.",
        "The backpack isn't in size large: it is a medium one.",  # a value denied
        "Your black analog wall clock was delivered.",
        "The pink natural rubber yoga mat was delivered.",
        # another variant than the item: the one it is exchanged for, or one on offer
        "I can exchange your analog wall clock for a digital wall clock.",
        "I can exchange your size L T-shirt for one in size M.",
        "Your backpack can be switched to size large, since it was delivered.",
        "The mechanical keyboard is also available with linear switches.",
    ],
)
def test_the_items_own_values_and_values_not_named_with_a_field_pass(answer: str) -> None:
    assert not flagged(answer)


def test_the_option_values_are_the_catalogues() -> None:
    packaged = resources.files("tether.domains.retail") / "data" / "db.json.gz"
    products = json.loads(gzip.decompress(packaged.read_bytes()))["products"]
    found: dict[str, set[str]] = defaultdict(set)
    for product in products.values():
        for variant in product["variants"].values():
            for option, value in variant["options"].items():
                found[option].add(value)
    assert {k: set(v) for k, v in OPTION_VALUES.items()} == found
    # every value is known to the verifier, a size's letter with its word
    assert set(option_values()) == set(found)
    assert option_values()["size"]["L"] == ("large",)
