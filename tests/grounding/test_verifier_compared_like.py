"""A price compared with an object named by one value several hold ("than the green one"):
the one meant is the one most like the object it is compared with, the values it leaves
unsaid being that object's ("in large, the red hoodie costs less than the green one" compares
the two large hoodies); when no one object is most like it, nothing is judged."""

from __future__ import annotations

import pytest

from tests.grounding.common import on_record

HOODIE = {
    "name": "Hoodie",
    "product_id": "5550001111",
    "variants": {
        "101": {"item_id": "101", "options": {"color": "red", "size": "large", "fit": "loose"},
                "available": True, "price": 61.20},
        "102": {"item_id": "102", "options": {"color": "green", "size": "large", "fit": "loose"},
                "available": True, "price": 58.40},
        "103": {"item_id": "103", "options": {"color": "green", "size": "small", "fit": "slim"},
                "available": True, "price": 66.90},
        "104": {"item_id": "104", "options": {"color": "red", "size": "small", "fit": "slim"},
                "available": True, "price": 63.10},
    },
}  # fmt: skip


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("In large, the red loose hoodie ($61.20) costs less than the green one.", True),
        ("The red large loose hoodie is cheaper than the green one.", True),
        ("The small slim red hoodie is more expensive than the green one.", True),
        # the right way round
        ("In large, the red loose hoodie ($61.20) costs more than the green one.", False),
        ("The small slim red hoodie is cheaper than the green one.", False),
    ],
)
def test_the_one_meant_is_the_one_most_like_the_other(answer: str, wrong: bool) -> None:
    assert on_record(answer, HOODIE).flagged is wrong


def test_no_one_object_most_like_it_judges_nothing() -> None:
    tied = {
        "name": "Hoodie",
        "product_id": "5550001112",
        "variants": {
            "201": {"options": {"color": "red", "size": "large", "fit": "loose"}, "price": 61.2},
            "202": {"options": {"color": "green", "size": "large", "fit": "slim"}, "price": 50.0},
            "203": {"options": {"color": "green", "size": "small", "fit": "loose"}, "price": 70.0},
        },
    }
    said = "The red large loose hoodie is cheaper than the green one."
    assert not any(c.status == "contradicted" for c in on_record(said, tied).claims)


ORDER = {
    "order_id": "#W9360566",
    "status": "delivered",
    "items": [
        {"name": "Jigsaw Puzzle", "item_id": "9237024510", "price": 53.53},
        {"name": "Cycling Helmet", "item_id": "3339188619", "price": 200.24},
        {"name": "Backpack", "item_id": "3928046918", "price": 198.0},
    ],
    "payment_history": [{"transaction_type": "payment", "amount": 451.77}],
}


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        # what the backpack is compared with ends with its clause: the puzzle after "while"
        # is not among what it is compared with
        ("The backpack is dearer than the helmet, while the puzzle was only $53.53.", True),
        ("The backpack, at $198.00, is a couple of dollars dearer than the $200.24 helmet, "
         "while the puzzle was only $53.53.", True),
        ("The backpack is cheaper than the helmet, while the puzzle was only $53.53.", False),
        # "… and the puzzle put together" is still one side of the comparison
        ("The helmet costs more than the backpack and the puzzle put together.", True),
        ("The helmet costs less than the backpack and the puzzle put together.", False),
    ],
)  # fmt: skip
def test_what_a_price_is_compared_with_ends_with_its_clause(answer: str, wrong: bool) -> None:
    assert on_record(answer, ORDER).flagged is wrong


MICE = {
    "name": "Gaming Mouse",
    "product_id": "5713490933",
    "variants": {
        "101": {"item_id": "101", "options": {"color": "black", "sensor type": "laser",
                "connectivity": "wireless"}, "available": True, "price": 150.58},
        "102": {"item_id": "102", "options": {"color": "black", "sensor type": "laser",
                "connectivity": "wired"}, "available": True, "price": 162.15},
        "103": {"item_id": "103", "options": {"color": "black", "sensor type": "optical",
                "connectivity": "wired"}, "available": True, "price": 137.32},
        "104": {"item_id": "104", "options": {"color": "white", "sensor type": "optical",
                "connectivity": "wired"}, "available": True, "price": 137.22},
    },
}  # fmt: skip


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        # "which" stands for the phrase just before it, not for the list it ends
        ("The black ones are laser wireless at $150.58, laser wired at $162.15 and optical wired "
         "at $137.32, which undercuts even the white optical wired at $137.22.", True),
        ("The black ones are laser wireless at $150.58, laser wired at $162.15 and optical wired "
         "at $137.32, which is cheaper than the black laser wired.", False),
        ("The white optical wired one is $137.22, which undercuts the black optical wired one.",
         False),
    ],
)  # fmt: skip
def test_what_which_compares_is_the_phrase_before_it(answer: str, wrong: bool) -> None:
    assert on_record(answer, MICE).flagged is wrong


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        # how much, said between the verb and its comparative, leaves the direction to judge
        ("The black laser wired one costs a little more than the laser wireless.", False),
        ("The black laser wired one costs slightly less than the laser wireless.", True),
        ("The black optical wired one costs a bit less than the white optical wired.", True),
    ],
)
def test_a_comparative_said_with_how_much_is_judged(answer: str, wrong: bool) -> None:
    assert on_record(answer, MICE).flagged is wrong
