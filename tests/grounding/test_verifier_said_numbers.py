"""Numbers as a support desk writes them: an amount in words, a resolution like "5K", a total
of the things a claim names. Right, they are grounded; wrong, they are flagged."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.grounding.common import THREE_ITEMS as ORDER
from tests.grounding.common import on_record
from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL
from tether.grounding.arithmetic import named_total
from tether.grounding.claims import numbers, spoken_amounts, stated_count
from tether.grounding.verifier import Verification


def desk(answer: str, record: dict[str, Any], tool: str) -> Verification:
    evidence = [Evidence("tool:1", f"tool:{tool}", json.dumps(record))]
    return RETAIL.grounding.verifier().verify_items(answer, evidence)


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("You paid one hundred ninety-two dollars and fifteen cents.", [192.15]),
        ("It came to two thousand and five dollars.", [2005.0]),
        ("It's thirty-five dollars short of the $310.", [310.0, 35.0]),
        ("a hundred dollars", [100.0]),
        ("the other three 5K versions", [5000.0, 3.0]),  # the K of 5K is no "thousand"
        ("three thousand reviews", [3000.0]),
    ],
)
def test_amounts_in_words_are_one_amount(text: str, values: list[float]) -> None:
    assert numbers(text) == values


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("You paid one hundred ninety-two dollars and fifteen cents by PayPal.", False),
        ("You paid one hundred ninety-two dollars and fifty cents by PayPal.", True),
        ("You paid two hundred ninety-two dollars and fifteen cents by PayPal.", True),
    ],
)
def test_an_amount_in_words_is_checked_as_the_amount(answer: str, flagged: bool) -> None:
    record = {"order_id": "#W1", "payment_history": [{"amount": 192.15, "method": "paypal"}]}
    assert on_record(answer, record).flagged is flagged


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        # the words of a large amount in words are the amount, not words the record lacks
        (
            "It's processed, and the payment covered all two thousand five hundred forty-two "
            "dollars and forty-nine cents.",
            False,
        ),
        (
            "It's processed, and the payment covered all two thousand five hundred forty-two "
            "dollars and ninety-four cents.",
            True,
        ),
        # near miss: what a clause adds beside such an amount is still an addition
        (
            "It's processed, and the payment covered all two thousand five hundred forty-two "
            "dollars and forty-nine cents and earned you loyalty points toward a free gift.",
            True,
        ),
    ],
)
def test_a_large_amount_in_words_is_the_amount_and_adds_no_words(
    answer: str, flagged: bool
) -> None:
    assert desk(answer, ORDER, "get_order_details").flagged is flagged


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("As far as this record shows, it's processed and was paid in one payment.", False),
        ("According to our records, it's processed and was paid in one payment.", False),
        ("From what I can see, it's processed and was paid in one payment.", False),
        # near misses: the hedge excuses its own words, never what follows it
        ("As far as this record shows, it's delivered and was paid in one payment.", True),
        (
            "According to our records, it's processed and comes with a lifetime warranty "
            "and free engraving.",
            True,
        ),
    ],
)
def test_where_an_answer_says_it_read_its_facts_adds_no_words(answer: str, flagged: bool) -> None:
    assert desk(answer, ORDER, "get_order_details").flagged is flagged


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("The wristwatch makes up roughly 84% of the total.", False),
        ("The gaming mouse is about 6 per cent of the order's total.", False),
        # near misses: a share the prices do not bear out, and one of nothing named
        ("The wristwatch makes up roughly 74% of the total.", True),
        ("One item makes up roughly 84% of the total.", True),
    ],
)
def test_a_share_of_the_total_is_worked_out_from_the_named_price(
    answer: str, flagged: bool
) -> None:
    assert desk(answer, ORDER, "get_order_details").flagged is flagged


def test_a_total_of_named_things_is_their_prices_added() -> None:
    records = [ORDER]
    assert named_total(414.87, "the thermostat and the mouse come to $414.87", records)
    assert named_total(2383.60, "the thermostat and the watch… the wristwatch", records)
    assert not named_total(424.87, "the thermostat and the mouse come to $424.87", records)
    # the parts must be named: the same sum said of nothing is worked out from nothing
    assert not named_total(414.87, "two of the items come to $414.87", records)
    assert not named_total(158.89, "the mouse alone is $158.89", records)


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        (
            "The wristwatch costs more than the thermostat and the mouse put together, "
            "which come to $414.87.",
            False,
        ),
        ("The thermostat and the mouse together come to $424.87.", True),
        ("The thermostat and the watch together come to $414.87.", True),
    ],
)
def test_a_total_of_named_items_is_grounded_only_when_it_adds_up(
    answer: str, flagged: bool
) -> None:
    assert desk(answer, ORDER, "get_order_details").flagged is flagged


@pytest.mark.parametrize(
    "said",
    [
        "It is f\u0130ve dollars short of the $15 difference.",  # a dotted capital I
        "F\u0130FTY-ONE DOLLARS AND TWENTY CENTS went back to you.",
        "one hundred n\u0130nety-two dollars and fifteen cents",
    ],
)
def test_a_number_word_matched_only_by_case_folding_is_no_amount(said: str) -> None:
    """'İ' matches 'i' in the pattern but lowercases to a dotted 'i̇': such a run of words is
    not read as an amount, and the verifier answers instead of raising."""
    assert spoken_amounts(said) == []
    assert isinstance(on_record(said, ORDER), Verification)  # an answer, not a KeyError


@pytest.mark.parametrize(
    ("text", "values"),
    [
        # "one" standing for a thing named before counts nothing
        ("From $281.98 for the brown one with brown lenses to $297.33 for the silver one.", [281.98, 297.33]),
        ("The silver one is available.", []),
        ("A new one, I'm afraid, isn't possible.", []),
        ("Pick any one you like.", []),
        # a count of one is still a count
        ("It came in one shipment.", [1.0]),
        ("The one shipment is on its way.", [1.0]),
        ("Only one non-polarized pair is on offer.", [1.0]),
        ("One of the two items has shipped.", [1.0, 2.0]),
    ],
)  # fmt: skip
def test_one_as_a_pronoun_is_no_number(text: str, values: list[float]) -> None:
    assert numbers(text) == values


@pytest.mark.parametrize(
    ("text", "value", "counted"),
    [
        # a digit inside a larger figure is no count of its own
        ("That is one of the two grounds, and the $1,287.76 has nothing to do with it.", 1, False),
        ("It cost $2,195.04 and took 2 weeks.", 2, True),
        ("It cost $2,195.04, about three-quarters.", 2, False),
        ("The 1.5 litre bottle is one of three.", 1, False),
        # a figure standing alone is one, wherever it sits
        ("You have 1 order.", 1, True),
        ("Orders: 2, both pending.", 2, True),
    ],
)
def test_a_count_in_digits_is_a_figure_of_its_own(text: str, value: int, counted: bool) -> None:
    assert stated_count(text, value) is counted
