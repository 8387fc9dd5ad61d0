"""An item of a bulleted list headed by what is needed, said not to be needed ("the list of items
isn't needed"), contradicts the list; what no bullet is, a condition and the list restated
pass."""

from __future__ import annotations

import pytest

from tests.grounding.common import desk
from tether.grounding.listed_needs import check_listed_needs

NEEDED = (
    "What we need from you\n"
    "- the order id,\n"
    "- the list of items you are sending back, and\n"
    "- where the refund should go."
)
OFFERED = "What we can offer\n- a refund to the original payment method,\n- a gift card."


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("Just the order id and where the refund should go; the list of items isn't needed.", True),
        ("The order id is not required, only the items.", True),
        ("You don't need to give us the list of items.", True),
        ("Give us the order id and the items; we can go ahead without knowing where the refund "
         "should go.", True),
        ("We can proceed without the list of items.", True),
        ("We can go ahead without a photo of the items.", False),
        # the list as it is, what it lacks, and a condition
        ("We need the order id, the list of items and where the refund should go.", False),
        ("We don't need a photo of the items.", False),
        ("If you keep everything, nothing is sent back and no list is needed.", False),
    ],
)  # fmt: skip
def test_a_needed_item_said_not_to_be(answer: str, wrong: bool) -> None:
    assert desk(answer, NEEDED).flagged is wrong


def test_a_list_not_headed_by_a_need_decides_nothing() -> None:
    assert check_listed_needs("A gift card isn't needed.", {"kb:1": OFFERED}) == []
    assert check_listed_needs("The order id isn't needed.", {"kb:1": NEEDED})


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("Send us the order id; the items themselves don't need to be listed.", True),
        ("The jacket you keep doesn't need to be listed.", False),
        ("The items you keep don't need to be sent back.", False),
    ],
)
def test_a_need_denied_in_the_passive(answer: str, wrong: bool) -> None:
    assert desk(answer, NEEDED).flagged is wrong
