"""Comparisons, relative clauses and points in time read as said, each beside its near miss.

- "came in a little above the digital camera" is dearer than it (as "came in under" is
  cheaper), and what is compared starts with its own clause ("…, and the wristwatch came in …").
- "the metal-strap one" is the one object whose strap is metal, when no other is.
- "the more expensive of the two" is said of the two named just before it.
- "…, and a leather high-back one at $466.44, which is also available" speaks of that one.
- "non-polarized" said "polarized" is a value said as its opposite.
- "the payment for it has not gone through" denies the payment the record holds.
- "expires at the end of the year" places something in time the evidence never dates.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.grounding.common import TWO_WATCHES, flagged, product

DELIVERED: dict[str, Any] = {
    "order_id": "#W1764038",
    "items": [
        {"name": "Digital Camera", "item_id": "4326528037", "price": 2714.51},
        {"name": "Wristwatch", "item_id": "2226219750", "price": 2009.03},
        {"name": "Tea Kettle", "item_id": "4238115171", "price": 91.78},
    ],
    "status": "delivered",
    "payment_history": [{"transaction_type": "payment", "amount": 4815.32}],
}


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (
            "The tea kettle was the least expensive item at $91.78, and the wristwatch came in a "
            "little above the digital camera.",
            True,
        ),
        (
            "The tea kettle was the least expensive item at $91.78, and the wristwatch came in a "
            "little under the digital camera.",
            False,
        ),
        ("The digital camera came in well above the wristwatch.", False),
        ("The tea kettle came in well above the wristwatch.", True),
    ],
)
def test_came_in_above_is_dearer(answer: str, wrong: bool) -> None:
    assert flagged(answer, DELIVERED) is wrong


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (
            "Both have blue dials; the metal-strap one is slightly dearer than the silicone-strap one.",
            True,
        ),
        (
            "Both have blue dials; the silicone-strap one is slightly dearer than the metal-strap one.",
            False,
        ),
        ("The metal one is cheaper than the silicone one.", False),
    ],
)
def test_one_value_only_one_object_holds_names_it(answer: str, wrong: bool) -> None:
    assert flagged(answer, TWO_WATCHES) is wrong


CHAIRS = product(
    "Office Chair",
    ("material", "color", "backrest height"),
    ("8323284863", "fabric", "blue", "standard", True, 511.24),
    ("4648362606", "leather", "black", "high-back", True, 503.76),
    ("3609437808", "leather", "red", "high-back", False, 466.44),
    ("4274709903", "mesh", "red", "standard", True, 544.29),
)


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (
            "There are two choices: the blue fabric chair at $511.24 and the black leather "
            "high-back at $503.76, so the leather one is the more expensive of the two.",
            True,
        ),
        (
            "There are two choices: the blue fabric chair at $511.24 and the black leather "
            "high-back at $503.76, so the fabric one is the more expensive of the two.",
            False,
        ),
    ],
)
def test_the_more_expensive_of_the_two_named_before(answer: str, wrong: bool) -> None:
    assert flagged(answer, CHAIRS, "get_product_details") is wrong


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (
            "There are two red ones: a mesh one with a standard back at $544.29, and a leather "
            "high-back one at $466.44, which is also available.",
            True,
        ),
        (
            "There are two red ones: a mesh one with a standard back at $544.29, and a leather "
            "high-back one at $466.44, which is not available.",
            False,
        ),
    ],
)
def test_which_stands_for_the_one_just_described(answer: str, wrong: bool) -> None:
    assert flagged(answer, CHAIRS, "get_product_details") is wrong


PENDING: dict[str, Any] = {
    "order_id": "#W1558044",
    "items": [
        {"name": "Sunglasses", "item_id": "4245201809", "price": 281.48,
         "options": {"frame color": "black", "lens color": "green", "lens type": "non-polarized"}},
    ],
    "status": "pending",
    "payment_history": [
        {"transaction_type": "payment", "amount": 281.48, "payment_method_id": "gift_card_5327033"}
    ],
}  # fmt: skip


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("The sunglasses have a black frame and polarized green lenses.", True),
        ("The sunglasses are polarized.", True),
        ("The sunglasses are non-polarized.", False),
        ("The sunglasses aren't polarized.", False),
    ],
)
def test_non_said_away_is_the_opposite(answer: str, wrong: bool) -> None:
    assert flagged(answer, PENDING) is wrong


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (
            "It was paid with your gift card, though the payment for it has not gone through yet.",
            True,
        ),
        ("It was paid with your gift card, and the payment for it has gone through.", False),
    ],
)
def test_a_payment_for_it_denied(answer: str, wrong: bool) -> None:
    assert flagged(answer, PENDING) is wrong


ACCOUNT: dict[str, Any] = {
    "user_id": "lei_gonzalez_5407",
    "payment_methods": {
        "paypal_4563893": {"source": "paypal", "id": "paypal_4563893"},
        "gift_card_4411177": {"source": "gift_card", "id": "gift_card_4411177", "balance": 78.0},
    },
    "orders": ["#W1632213", "#W7870498"],
}


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("Your gift card has a $78.00 balance, which expires at the end of the year.", True),
        ("Your gift card has a $78.00 balance, usable by the start of next month.", True),
        ("Your gift card has a $78.00 balance.", False),
    ],
)
def test_a_point_in_time_the_evidence_never_dates(answer: str, wrong: bool) -> None:
    assert flagged(answer, ACCOUNT, "get_user_details") is wrong
