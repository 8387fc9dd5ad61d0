"""Availability of the variants a clause describes, when several fit the description: whichever
is meant must be in stock for "available" to hold, so where every one that fits is sold out the
claim is contradicted, and where they differ it is left alone. "You can order" it says it is in
stock; a figure value ("5K") names its variant like a word does; "the other three 5K versions"
leaves out the one named before."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL


def variant(resolution: str, waterproof: str, color: str, available: bool) -> dict[str, Any]:
    options = {"resolution": resolution, "waterproof": waterproof, "color": color}
    return {"options": options, "available": available, "price": 500.0}


CAMERA = {
    "name": "Action Camera",
    "product_id": "3377618313",
    "variants": {
        "1": variant("5K", "no", "silver", False),
        "2": variant("5K", "yes", "silver", False),
        "3": variant("5K", "no", "black", True),
        "4": variant("5K", "yes", "black", False),
        "5": variant("4K", "yes", "silver", True),
        "6": variant("4K", "no", "silver", True),
    },
}


def flagged(answer: str) -> bool:
    evidence = [Evidence("tool:1", "tool:get_product_details", json.dumps(CAMERA))]
    return RETAIL.grounding.verifier().verify_items(answer, evidence).flagged


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        # every silver 5K is sold out: whichever is meant, it cannot be ordered
        ("You can order the silver 5K today.", True),
        ("Good news: the silver 5K is available.", True),
        ("The silver 5K is unavailable.", False),
        ("You can't order the silver 5K.", False),
        # every silver 4K is in stock
        ("You can order the silver 4K today.", False),
        ("The silver 4K is sold out.", True),
        # the black 5Ks differ: which one is meant is unclear
        ("The black 5K is available.", False),
        ("The black 5K is unavailable.", False),
        (
            "The only 5K we can sell you is the black one; the other three 5K versions are "
            "unavailable.",
            False,
        ),
    ],
)
def test_availability_of_every_variant_that_fits(answer: str, wrong: bool) -> None:
    assert flagged(answer) is wrong
