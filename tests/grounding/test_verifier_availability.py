"""Availability said of the variants a clause picks out by a value, under "neither", "no" or a
plural ("the blue versions are"): judged on every variant holding the value. A negation whose
scope is availability ("neither silver version is available") denies that they are in stock,
not that the record holds silver, so it is no swap and no count."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL
from tether.grounding.variants import availability_said
from tether.grounding.verifier import Verification


def variant(n: int, color: str, material: str, available: bool) -> dict[str, Any]:
    options = {"color": color, "material": material}
    return {"item_id": f"10{n}", "options": options, "available": available, "price": 400.0 + n}


PRODUCT = {
    "name": "Luggage Set",
    "product_id": "5426915165",
    "variants": {
        "101": variant(1, "silver", "hardshell", False),
        "102": variant(2, "silver", "softshell", False),
        "103": variant(3, "blue", "softshell", True),
        "104": variant(4, "blue", "hardshell", True),
        "105": variant(5, "red", "hardshell", True),
        "106": variant(6, "red", "softshell", False),
    },
}


def on_product(answer: str) -> Verification:
    evidence = [Evidence("tool:1", "tool:get_product_details", json.dumps(PRODUCT))]
    return RETAIL.grounding.verifier().verify_items(answer, evidence)


@pytest.mark.parametrize(
    "answer",
    [
        "Neither silver version is available right now.",
        "No silver version is available at the moment.",
        "The silver versions are not available right now.",
        "The silver versions are both sold out.",
        "The blue versions are available.",
        "No blue version is sold out.",
    ],
)
def test_availability_that_holds_for_every_variant_it_covers_passes(answer: str) -> None:
    v = on_product(answer)
    assert not v.flagged, v.claims


@pytest.mark.parametrize(
    "answer",
    [
        "Neither blue version is available right now.",
        "No blue version is available at the moment.",
        "The blue versions are not available right now.",
        "The silver versions are available.",
        "No red version is available.",  # one of the two is
    ],
)
def test_availability_wrong_for_a_variant_it_covers_is_contradicted(answer: str) -> None:
    v = on_product(answer)
    assert v.flagged
    assert any(c.status == "contradicted" and "flag" in c.kinds for c in v.claims), v.claims


def test_a_denied_value_is_still_a_swap_when_availability_is_not_its_predicate() -> None:
    """ "No gold version" denies that the record holds gold; "no silver version" does not."""
    assert availability_said("neither silver version is available", len("neither silver"))
    assert availability_said("no blue variant is in stock", len("no blue"))
    assert not availability_said("there is no silver version", len("there is no silver"))
    assert on_product("There is no silver version of this luggage set.").flagged


def test_a_value_the_record_lacks_said_available_is_still_a_swap() -> None:
    """Availability spares a denied value the swap reading, not a value said outright."""
    v = on_product("The gold version is available right now.")
    assert any(c.status == "contradicted" and "swap" in c.kinds for c in v.claims), v.claims


def test_no_longer_quantifies_nothing() -> None:
    """ "The red version is no longer available" with one red in stock and one not: which red
    is meant is unclear, so it is no claim about every red variant."""
    v = on_product("The red version is no longer available.")
    assert not any(c.status == "contradicted" for c in v.claims), v.claims
