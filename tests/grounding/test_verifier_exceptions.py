"""The one object set apart from what a clause says of the rest: "eighteen can be ordered;
the one exception is the maple 34-inch board", "every variant except the maple one can be
ordered", "other than the bamboo one, all are in stock". The excepted object is said to hold
the other value, so a right exception passes and a wrong one is caught; and "the only one you
can't order is the maple board" denies the ordering, not the board's maple deck."""

from __future__ import annotations

from typing import Any

import pytest

from tests.grounding.common import on_tool
from tether.grounding.bindings import excepted
from tether.grounding.verifier import Verification


def _board(n: int, deck: str, length: str, available: bool) -> dict[str, Any]:
    options = {"deck material": deck, "length": length, "design": "graphic"}
    return {"item_id": f"90{n}", "options": options, "available": available, "price": 180.0 + n}


BOARD: dict[str, Any] = {
    "name": "Skateboard",
    "product_id": "1968349452",
    "variants": {
        v["item_id"]: v
        for v in (
            _board(1, "maple", "34 inch", False),
            _board(2, "bamboo", "28 inch", True),
            _board(3, "plastic", "31 inch", True),
        )
    },
}


def verified(answer: str) -> Verification:
    return on_tool(answer, BOARD, "get_product_details")


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("Two of them can be ordered; the one exception is the maple 34-inch board.", False),
        ("Two of them can be ordered, except the maple 34-inch board.", False),
        ("Except for the maple 34-inch board, every variant can be ordered.", False),
        ("Other than the maple 34-inch board, all of them are in stock.", False),
        # the wrong board set apart
        ("Two of them can be ordered; the one exception is the bamboo 28-inch board.", True),
        ("Except for the bamboo 28-inch board, every variant can be ordered.", True),
        ("Every variant except the maple 34-inch board is unavailable.", True),
        # no exception: the maple board said to be orderable, with or without an aside
        ("The maple 34-inch board can be ordered.", True),
        ("The maple 34-inch board can be ordered, except on weekends.", True),
    ],
)
def test_an_object_set_apart_is_said_to_hold_the_other_value(answer: str, flagged: bool) -> None:
    v = verified(answer)
    assert v.flagged is flagged, v.claims


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("The only one you can't order is the maple 34-inch board.", False),
        ("The one that isn't available is the maple 34-inch board.", False),
        ("The only one you can't order is the bamboo 28-inch board.", True),
        # a denial of the value itself is still one
        ("The 34-inch board is not made of maple.", True),
    ],
)
def test_a_denied_subject_does_not_deny_the_value_it_is_equated_with(
    answer: str, flagged: bool
) -> None:
    v = verified(answer)
    assert v.flagged is flagged, v.claims


def test_the_exception_must_come_before_the_object() -> None:
    assert excepted("all can be ordered except the maple one", ["maple"])
    assert excepted("the one exception is the maple one", ["maple", "34 inch"])
    assert not excepted("the maple one can be ordered, except on weekends", ["maple"])
    assert not excepted("the maple one can be ordered", ["maple"])
    assert not excepted("all can be ordered except the maple one", ["bamboo"])


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        # availability in other words: stock on hand, waiting for a buyer
        ("The maple 34-inch board is in our warehouse waiting to be ordered.", True),
        ("The maple 34-inch board is waiting to be ordered.", True),
        ("The bamboo 28-inch board is in our warehouse.", False),
        ("The bamboo 28-inch board is waiting to be bought.", False),
    ],
)
def test_availability_said_as_stock_on_hand(answer: str, flagged: bool) -> None:
    v = verified(answer)
    assert v.flagged is flagged, v.claims
