"""More readings from a blind set, each beside the near miss still caught.

- "handed to the carrier and still in transit" of a delivered order: what the claim says the
  record is in now must hold, whatever else the record went through.
- "the PayPal refund is a bit quicker than a credit card one" where one clause times both:
  neither is quicker ("$312.99" is no stop between what is compared); "no quicker" holds.
- A labelled list item ("**Gift card:** …") is a case the list states something of: naming it
  in a denial ("isn't as quick as a gift card one") strikes no member off the list.
- A term only a field map's word gives ("ship" of "shipment") is the evidence's in that word
  only: "free standard shipping" is still an addition.
- "a half size up" the question names is a size, not an amount.
- "They're on their way" states where the order is, as "it's on its way" does.
- "changing an item doesn't rule out cancelling" says the change still allows it.
- "The gift card refund won't be instant" denies the very timing the evidence gives the gift
  card (this was caught before only as a list member struck off a list).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.grounding.common import flagged, kb_flagged

DELIVERED: dict[str, Any] = {
    "order_id": "#W5931168",
    "items": [{"name": "Yoga Mat", "item_id": "1", "price": 105.68}],
    "status": "delivered",
    "fulfillments": [{"tracking_id": ["368981580752"], "item_ids": ["1"]}],
    "payment_history": [{"transaction_type": "payment", "amount": 105.68}],
}


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("It's been handed to the carrier and is still in transit.", True),
        ("It has been shipped and delivered.", False),
        ("It was cancelled and refunded.", True),
    ],
)
def test_what_it_is_in_now_must_hold(answer: str, wrong: bool) -> None:
    assert flagged(answer, DELIVERED) is wrong


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("Price: $105.68, which also came with free standard shipping.", True),
        ("It went out in a single shipment under tracking number 368981580752.", False),
    ],
)
def test_a_field_maps_word_is_the_evidences_in_that_word_only(answer: str, wrong: bool) -> None:
    assert flagged(answer, DELIVERED) is wrong


@pytest.mark.parametrize(
    ("answer", "status", "wrong"),
    [
        ("They're on their way to you.", "pending", True),
        ("They're still pending.", "pending", False),
        ("They're on their way to you.", "shipped", False),
    ],
)
def test_theyre_states_where_it_is(answer: str, status: str, wrong: bool) -> None:
    assert flagged(answer, {**DELIVERED, "status": status, "fulfillments": []}) is wrong


TIMINGS = (
    "How long a refund takes - **Gift card:** the money is back on the card immediately. - "
    "**Credit card or PayPal:** the refund takes 5 to 7 business days to arrive."
)


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (
            "The PayPal refund of $312.99 takes 5 to 7 business days, a bit quicker than a credit card refund.",
            True,
        ),
        ("The PayPal refund takes 5 to 7 business days, the same as a credit card refund.", False),
        ("The PayPal refund is no quicker than a credit card one.", False),
        ("The PayPal refund isn't as quick as a gift card one.", False),
        ("A PayPal refund is quicker than a gift card one.", True),
    ],
)
def test_two_things_one_clause_times_alike(answer: str, wrong: bool) -> None:
    assert kb_flagged(answer, TIMINGS, "My PayPal payment was $312.99.") is wrong


EXCHANGES = (
    "Items from an order whose status is **delivered** can be exchanged for another variant of "
    "the **same product**, such as a different size or colour, provided that variant is "
    "available."
)
HALF = "My sister says I can swap my shoes for the same shoe a half size up. Is she right?"


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("Half size up: yes, if it's available.", False),
        ("Size 12: yes, if it's available.", True),
    ],
)
def test_a_half_size_the_question_names(answer: str, wrong: bool) -> None:
    assert kb_flagged(answer, EXCHANGES, HALF) is wrong


CANCELLING = (
    "Money paid with a gift card returns to that card straight away. An order whose items were "
    "already changed can no longer be cancelled."
)


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (
            "Changing an item doesn't rule out cancelling, so the colour change isn't a problem.",
            True,
        ),
        ("A changed item doesn't stop the cancellation.", True),
        ("Once an item has been changed, the order can no longer be cancelled.", False),
    ],
)
def test_not_ruling_out_still_allows(answer: str, wrong: bool) -> None:
    assert kb_flagged(answer, CANCELLING) is wrong


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("The gift card refund won't be instant.", True),
        ("The PayPal refund won't be instant; it takes 5 to 7 business days.", False),
        # "it" left unsure by the sentence around: nothing is read against it
        ("It won't be instant: only money paid with a gift card comes back straight away.", False),
    ],
)
def test_a_timing_the_evidence_gives_the_subject_named_denied(answer: str, wrong: bool) -> None:
    assert kb_flagged(answer, TIMINGS) is wrong
