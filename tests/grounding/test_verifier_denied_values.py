"""A clause that stops at its verb ("…, but the capsule one isn't") says what the clause
before it says; the contrast the record bears out passes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL
from tether.grounding.indirect import plainly

KETTLE: dict[str, Any] = {
    "name": "Kettle",
    "product_id": "500",
    "variants": {
        "1": {"item_id": "1", "options": {"capacity": "1L", "material": "glass"},
              "available": True, "price": 40.0},
        "2": {"item_id": "2", "options": {"capacity": "1.7L", "material": "glass"},
              "available": False, "price": 55.0},
        "3": {"item_id": "3", "options": {"capacity": "1.7L", "material": "steel"},
              "available": True, "price": 60.0},
    },
}  # fmt: skip


def on_product(answer: str, record: dict[str, Any]) -> bool:
    evidence = [Evidence("tool:1", "tool:get_product_details", json.dumps(record))]
    return RETAIL.grounding.verifier().verify_items(answer, evidence).flagged


@pytest.mark.parametrize(
    ("said", "plain"),
    [
        ("The 1L ones are available, but the 1.7L glass one isn't.",
         "The 1L ones are available, but the 1.7L glass one isn't available."),
        ("The glass one isn't in stock, though the steel one is!",
         "The glass one isn't in stock, though the steel one is in stock!"),
        # a clause that goes on after its verb, or a first clause with no verb, stays as written
        ("It is in stock, but the other is not in stock.", "It is in stock, but the other is not in stock."),
        ("Glass, but the steel one isn't.", "Glass, but the steel one isn't."),
    ],
)  # fmt: skip
def test_a_clause_that_stops_at_its_verb_borrows_the_predicate_before_it(
    said: str, plain: str
) -> None:
    assert plainly(said) == plain


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("The 1L glass one is available, but the 1.7L steel one isn't.", True),
        ("The 1.7L glass one isn't available, while the 1.7L steel one is.", False),
        ("The 1.7L steel one is available, but the 1.7L glass one isn't.", False),
        ("The 1.7L glass one is out of stock, though the 1L glass one is.", True),
    ],
)
def test_an_elliptic_availability_is_read_with_its_predicate(answer: str, flagged: bool) -> None:
    assert on_product(answer, KETTLE) is flagged
