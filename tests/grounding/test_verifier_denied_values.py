"""A value denied of the object that holds it ("the camera, which isn't 4K") contradicts the
record, and a clause that stops at its verb ("…, but the capsule one isn't") says what the
clause before it says. A value denied of another object, a wish, a question and the contrast
the record bears out all pass."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.grounding.common import on_record
from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL
from tether.grounding.indirect import plainly

ORDER: dict[str, Any] = {
    "order_id": "#D400",
    "status": "pending",
    "items": [
        {"name": "Desk Lamp", "item_id": "41", "price": 39.5,
         "options": {"colour": "black", "bulb": "LED"}},
        {"name": "Action Camera", "item_id": "42", "price": 219.0,
         "options": {"resolution": "5K", "mount": "magnetic"}},
    ],
}  # fmt: skip
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
    ("answer", "flagged"),
    [
        ("The camera, which isn't 5K, has a magnetic mount.", True),
        ("The action camera is not a 5K one.", True),
        ("Your lamp never was LED, it's black.", True),
        # the record's own values, said as they are
        ("The camera, which is 5K, has a magnetic mount.", False),
        ("The camera is 5K and the lamp is LED.", False),
        # denied of the object that lacks it, in a wish, or asked
        ("The lamp isn't 5K, but the camera is.", False),
        ("The lamp, which isn't magnetic, is black.", False),
        ("If you wanted one that isn't 5K, the camera would not do.", False),
    ],
)
def test_a_value_denied_of_its_object(answer: str, flagged: bool) -> None:
    v = on_record(answer, ORDER)
    assert v.flagged is flagged, v.claims


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


VACUUM_AND_CAMERA: dict[str, Any] = {
    "order_id": "#D401",
    "status": "delivered",
    "items": [
        {"name": "Vacuum Cleaner", "item_id": "51", "price": 565.79,
         "options": {"type": "canister", "bagged/bagless": "bagless", "features": "pet hair removal"}},
        {"name": "Digital Camera", "item_id": "52", "price": 3204.43,
         "options": {"resolution": "20MP", "storage": "SD card"}},
    ],
}  # fmt: skip


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        # denied through a verb of having, in the plural, or by the value's leading words
        ("The camera was delivered, though it doesn't take SD cards.", True),
        ("It's a bagless canister vacuum, but it isn't made for pet hair.", True),
        ("The camera arrived without an SD card slot.", True),
        ("The vacuum lacks pet hair removal.", True),
        # the same words said as the record says them, or denied of the other item
        ("The camera was delivered, and it takes SD cards.", False),
        ("It's a bagless canister vacuum made for pet hair.", False),
        ("The camera isn't made for pet hair; the vacuum is.", False),
        ("The vacuum doesn't take SD cards, the camera does.", False),
    ],
)
def test_a_value_denied_through_a_verb_of_having(answer: str, flagged: bool) -> None:
    v = on_record(answer, VACUUM_AND_CAMERA)
    assert v.flagged is flagged, v.claims
