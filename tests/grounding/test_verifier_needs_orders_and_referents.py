"""More readings, each beside the near miss that must still be caught.

- "won't be given a summary" denies the summary, as "won't get a summary" does.
- Two acts put in the other order are matched by the verb each opens with when their words tie
  ("… before you confirm the exchange" is the act "you confirm", not "the status becomes
  exchange requested"); "you confirm before the status becomes …" says the evidence's order
  in other words and swaps no before/after.
- A list run into one line ("What we need from you - a, - b, and - c") counts its items, and a
  claim listing more needs than it, one of them in words the evidence never uses, adds one.
- A state said in a pack's words ("handed to the carrier") is that state.
- A value that joins several ("Wi-Fi + Cellular") holds each: denying one part contradicts it;
  denying that it is the only one ("isn't Wi-Fi only") does not.
- "It is also available" after a sentence describing one variant speaks of that variant.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.grounding.common import desk, flagged, product

TRANSFER = (
    "When we transfer you, you are told that you are being transferred and asked to hold on; a "
    "colleague then continues from a short summary of your request, so you need not repeat it."
)


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (
            "You'll be asked to hold, but the colleague won't be given a summary of your request.",
            True,
        ),
        ("The colleague won't get a summary of your request.", True),
        (
            "The colleague is given a short summary of your request, so you needn't repeat it.",
            False,
        ),
    ],
)
def test_a_summary_not_given_is_not_had(answer: str, wrong: bool) -> None:
    assert desk(answer, TRANSFER).flagged is wrong


NEXT = (
    "What happens next After you confirm, the status becomes **exchange requested** and an "
    "e-mail tells you how to send the original items back. You do not need to place a new order."
)


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (
            "You'll get an e-mail explaining how to send the original headphones back before you "
            "confirm the exchange, and once you confirm, the status becomes exchange requested.",
            True,
        ),
        ("The status becomes exchange requested before you confirm.", True),
        (
            "Once you confirm the exchange, the status becomes exchange requested and you'll get "
            "an e-mail explaining how to send the headphones back.",
            False,
        ),
        ("You confirm the exchange before the status becomes exchange requested.", False),
        (
            "You confirm before the status becomes exchange requested and an e-mail tells you how "
            "to send the original items back.",
            False,
        ),
    ],
)
def test_acts_ordered_by_their_verbs(answer: str, wrong: bool) -> None:
    assert desk(answer, NEXT).flagged is wrong


NEEDS = (
    "What we need from you - the order id, - the list of items you are sending back, and - where "
    "the refund should go."
)


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (
            "To set up the return I'll need three things: - the order id, - the list of items "
            "you're sending back (the blender and the toaster), and - where you'd like the "
            "refund to go.",
            False,
        ),
        (
            "I'll need four things from you: the order id, the items, and the refund's destination.",
            True,
        ),
        (
            "We need the order id (#W6603371), the list of items you're sending back, where the "
            "refund should go, and a photo of each item.",
            True,
        ),
        (
            "We need the order id, the items you're returning, and where the refund should go.",
            False,
        ),
        (
            "We need the order id, the list of items you're sending back, which you've listed "
            "already, and where the refund should go.",
            False,
        ),
        (
            "You don't need a photo of each item: we need the order id, the items and where the "
            "refund goes.",
            False,
        ),
    ],
)
def test_a_list_of_needs_run_into_one_line(answer: str, wrong: bool) -> None:
    assert desk(answer, NEEDS).flagged is wrong


PENDING: dict[str, Any] = {
    "order_id": "#W4776164",
    "items": [
        {"name": "T-Shirt", "item_id": "8349118980", "price": 53.43},
        {"name": "Espresso Machine", "item_id": "6324294385", "price": 2719.01},
    ],
    "status": "pending",
    "fulfillments": [],
    "payment_history": [{"transaction_type": "payment", "amount": 2772.44}],
}


@pytest.mark.parametrize(
    ("answer", "status", "wrong"),
    [
        ("Both items have been handed to the carrier.", "pending", True),
        ("Both items have been handed over to the courier.", "pending", True),
        ("Both items have been handed to the carrier.", "processed", True),
        ("Both items have been handed to the carrier.", "shipped", False),
        (
            "Nothing has been handed to the carrier yet: the order is still pending.",
            "pending",
            False,
        ),
    ],
)
def test_handed_to_the_carrier_is_shipped(answer: str, status: str, wrong: bool) -> None:
    assert flagged(answer, {**PENDING, "status": status}) is wrong


E_READER: dict[str, Any] = {
    "order_id": "#W3897284",
    "items": [
        {
            "name": "E-Reader",
            "item_id": "5418781403",
            "price": 267.58,
            "options": {
                "screen size": "7-inch",
                "connectivity": "Wi-Fi + Cellular",
                "storage": "8GB",
            },
        }
    ],
    "status": "pending",
    "payment_history": [{"transaction_type": "payment", "amount": 267.58}],
}


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (
            "The E-Reader is the 7-inch model with 8GB, and it doesn't include cellular connectivity.",
            True,
        ),
        ("The E-Reader doesn't have Wi-Fi.", True),
        ("The E-Reader isn't Wi-Fi only: it has cellular too.", False),
        ("The E-Reader isn't just Wi-Fi; it has cellular as well.", False),
        ("The E-Reader has Wi-Fi and cellular.", False),
    ],
)
def test_each_part_of_a_joined_value_is_held(answer: str, wrong: bool) -> None:
    assert flagged(answer, E_READER) is wrong


WATCH = product(
    "Smart Watch",
    ("color", "band material", "display"),
    ("2993891288", "silver", "leather", "AMOLED", False, 383.08),
    ("9811090008", "silver", "leather", "LCD", True, 370.38),
    ("8739626972", "silver", "silicone", "AMOLED", False, 370.87),
    ("5694328282", "gold", "leather", "AMOLED", True, 323.19),
)


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (
            "The silver Smart Watch with the leather band and AMOLED display costs $383.08. It is "
            "also available to order, if you'd like that one.",
            True,
        ),
        (
            "The silver Smart Watch with the leather band and LCD display costs $370.38. It is "
            "also available to order.",
            False,
        ),
        (
            "The silver Smart Watch with the leather band and AMOLED display costs $383.08. It is "
            "sold out.",
            False,
        ),
        # the sentence before describes two of them: the pronoun picks out neither
        ("The silver leather watches cost $383.08 and $370.38. It is available to order.", False),
    ],
)
def test_a_pronoun_stands_for_the_one_described_before(answer: str, wrong: bool) -> None:
    assert flagged(answer, WATCH, "get_product_details") is wrong
