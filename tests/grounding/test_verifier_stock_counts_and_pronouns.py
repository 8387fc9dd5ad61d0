"""What a sentence says of the variants in stock, read as it is said.

- "Three are available, all of them Ethernet models" describes the ones in stock: every one of
  them must be an Ethernet model; it does not say that every Ethernet model is in stock.
- "eight versions of this camera; four of them are available" counts the ones in stock after
  the list was counted and said what it is of; "eight in all" counts the whole and quantifies
  nothing.
- "one" and "the two" standing for things named before ("exchanged for one", "however close the
  two feel", "between the two.") state no count.
"""

from __future__ import annotations

import pytest

from tests.grounding.common import desk, flagged, product

CAMERA = product(
    "Indoor Security Camera",
    ("resolution", "field of view", "connectivity"),
    ("8470360507", "2K", "130 degrees", "Ethernet", True, 291.31),
    ("5810561222", "4K", "130 degrees", "Wi-Fi", False, 274.98),
    ("1999523885", "4K", "160 degrees", "Wi-Fi", False, 294.47),
    ("6901578702", "4K", "130 degrees", "Ethernet", True, 307.42),
    ("3909704820", "4K", "110 degrees", "Ethernet", False, 308.38),
    ("6867855179", "1080p", "130 degrees", "Wi-Fi", False, 319.53),
    ("5966895767", "2K", "160 degrees", "Ethernet", False, 329.58),
    ("1569829406", "1080p", "160 degrees", "Ethernet", True, 320.55),
)


def _flagged(answer: str) -> bool:
    return flagged(answer, CAMERA, "get_product_details")


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        # every one in stock is an Ethernet model, though not every Ethernet one is in stock
        ("Three are available, all of them Ethernet models.", False),
        (
            "Three are available right now, all of them Ethernet models: 2K with a 130-degree "
            "view at $291.31, 4K with 130 degrees at $307.42, and 1080p with 160 degrees at "
            "$320.55.",
            False,
        ),
        ("Three can be ordered, all of them Ethernet.", False),
        # the ones in stock are not all Wi-Fi models
        ("Three are available, all of them Wi-Fi models.", True),
        # five are sold out: three Wi-Fi models and two Ethernet ones
        ("Five are sold out, all of them Wi-Fi models.", True),
        ("Five are sold out, all of them 4K models.", True),
        # said of every Ethernet model, as before: one of them is sold out
        ("The Ethernet models are all available.", True),
    ],
)
def test_values_after_the_quantifier_describe_the_ones_in_stock(answer: str, wrong: bool) -> None:
    assert _flagged(answer) is wrong


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("There are eight versions of this camera; three of them are available to order.", False),
        ("There are eight versions of this camera; four of them are available to order.", True),
        (
            "There are eight versions of this camera; four of them are available to order, all "
            "wired over Ethernet, priced from $291.31 to $320.55.",
            True,
        ),
        ("There are eight versions in all, three of which can be ordered.", False),
        ("There are eight versions in all, two of which can be ordered.", True),
    ],
)
def test_a_count_in_stock_after_what_the_list_is_of(answer: str, wrong: bool) -> None:
    assert _flagged(answer) is wrong


EXCHANGES = (
    "Items from an order whose status is delivered can be exchanged for another variant of the "
    "same product, such as a different size or colour, provided that variant is available. "
    "Exchanging for a different kind of product is not possible; for that, return the item "
    "instead."
)


@pytest.mark.parametrize(
    "answer",
    [
        "A hand blender is a different kind of product, so the grinder can't be exchanged for "
        "one, however close the two feel. You'd return the grinder instead.",
        "The grinder and the blender are different kinds of product, and the rule doesn't bend "
        "for how alike the two seem. You'd return the grinder instead.",
    ],
)
def test_one_and_the_two_standing_for_named_things_count_nothing(answer: str) -> None:
    assert not desk(answer, EXCHANGES).flagged


@pytest.mark.parametrize(
    "answer",
    [
        # a count of the items the rule is about, which the passage never gives
        "Two items can be exchanged for another variant of the same product, provided that "
        "variant is available.",
        "The two items can be exchanged for another variant of the same product, however "
        "close the two feel.",
    ],
)
def test_the_near_miss_counts_are_still_read(answer: str) -> None:
    assert desk(answer, EXCHANGES).flagged


def test_the_pair_between_two_amounts_states_no_count() -> None:
    record = {
        "order_id": "#W5056519",
        "status": "delivered",
        "items": [
            {"name": "Bluetooth Earbuds", "item_id": "1", "price": 120.27},
            {"name": "Phone Stand", "item_id": "2", "price": 28.22},
        ],
        "payment_history": [{"transaction_type": "payment", "amount": 148.49}],
    }
    assert not flagged("That comes to $148.49 between the two.", record)
    assert flagged("That comes to $148.94 between the two.", record)
