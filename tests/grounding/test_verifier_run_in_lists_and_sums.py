"""Evidence and answers read as they are laid out, each beside the near miss still caught.

- A kb list run into its heading's line ("How long a refund takes - **Gift card:** … -
  **Credit card or PayPal:** …", as text joined from markdown comes) is read item by item:
  each item's timing belongs to its own label. The text keeps its length.
- "I'm afraid your coworker is mistaken." is a verdict on what the customer reports, no fact.
- "Together that comes to $1,298.02, which matches the refund" says how an amount adds up.
- A sum worked out exactly from the amounts said before is not a rounding of another amount
  the evidence gives ("$3,869.18" of two watches is no "$3,916.77" total).
- A bound on what named things cost together ("the two together come to less than $3,200")
  is checked against their amounts.
- "with no armrests" describes a chair whose armrest option is "none": it denies nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.grounding.common import TWO_WATCHES, desk, flagged, product
from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL
from tether.grounding.text_forms import items_on_lines

TIMINGS = (
    "How long a refund takes - **Gift card:** the money is back on the card immediately. - "
    "**Credit card or PayPal:** the refund takes 5 to 7 business days to arrive."
)


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (
            "Because you paid with PayPal, the refund will take 5 to 7 business days to come back.",
            False,
        ),
        (
            "Refunds to PayPal or a credit card take 5 to 7 business days, while gift card ones are instant.",
            False,
        ),
        ("A PayPal refund comes back immediately.", True),
        ("A gift card refund takes 5 to 7 business days.", True),
    ],
)
def test_a_list_run_into_its_headings_line_is_read_item_by_item(answer: str, wrong: bool) -> None:
    assert desk(answer, TIMINGS).flagged is wrong


@pytest.mark.parametrize(
    "text",
    [
        TIMINGS,
        "What we need from you - the order id, - the list of items, and - where the refund goes.",
        "We pass you on in two cases only: - you ask, or - we cannot help.",
    ],
)
def test_run_in_items_go_on_lines_of_their_own_and_the_text_keeps_its_length(text: str) -> None:
    laid = items_on_lines(text)
    assert len(laid) == len(text)
    assert laid.count("\n- ") >= 2


@pytest.mark.parametrize(
    "text",
    [
        "Open 9 - 5 on weekdays, 10 - 4 on Saturdays.",  # ranges
        "The company said on Monday that it would look again - and it did - at every order.",
        "A single aside - like this one.",
    ],
)
def test_ranges_and_asides_in_a_sentence_are_no_list(text: str) -> None:
    assert items_on_lines(text) == text


GIFT_CARD_RULE = (
    "A gift card must have enough balance to pay the whole order total. The order stays pending."
)


QUESTION = (
    "Can I switch my $164.50 order to my gift card? It only has $120 left. A coworker told me "
    "the gift card covers what it can and the rest stays on my Mastercard."
)


@pytest.mark.parametrize(
    "verdict",
    [
        "I'm afraid your coworker is mistaken.",
        "Your coworker is wrong there.",
        "Sadly, your coworker is not right.",
    ],
)
def test_a_verdict_on_a_report_is_no_fact(verdict: str) -> None:
    answer = f"{verdict} A gift card must have enough balance to pay the whole order total."
    evidence = [Evidence("kb:1", "kb:policy", GIFT_CARD_RULE)]
    found = RETAIL.grounding.verifier().verify_items(answer, evidence, question=QUESTION)
    assert not found.flagged
    assert [c.text for c in found.claims] == [answer[len(verdict) + 1 :]]


def test_a_verdict_on_someone_the_customer_never_quoted_is_still_read() -> None:
    answer = "I'm afraid your landlord is mistaken. A gift card must cover the whole order total."
    evidence = [Evidence("kb:1", "kb:policy", GIFT_CARD_RULE)]
    found = RETAIL.grounding.verifier().verify_items(answer, evidence, question=QUESTION)
    assert len(found.claims) == 2


CANCELLED: dict[str, Any] = {
    "order_id": "#W3906608",
    "items": [
        {"name": "Tea Kettle", "item_id": "3909406921", "price": 98.25},
        {"name": "Smartphone", "item_id": "3952176596", "price": 1199.77},
    ],
    "status": "cancelled",
    "payment_history": [
        {"transaction_type": "payment", "amount": 1298.02, "payment_method_id": "paypal_2499655"},
        {"transaction_type": "refund", "amount": 1298.02, "payment_method_id": "paypal_2499655"},
    ],
}


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (
            "The kettle was $98.25 and the smartphone $1,199.77. Together that comes to "
            "$1,298.02, which matches the refund issued to your PayPal.",
            False,
        ),
        (
            "The kettle was $98.25 and the smartphone $1,199.77. Together that comes to "
            "$1,289.02, which matches the refund issued to your PayPal.",
            True,
        ),
    ],
)
def test_how_an_amount_adds_up_is_no_addition(answer: str, wrong: bool) -> None:
    assert flagged(answer, CANCELLED) is wrong


@pytest.mark.parametrize(
    ("total", "wrong"), [("$3,869.18", False), ("$3,896.18", True), ("$3,870.00", True)]
)
def test_a_sum_worked_out_exactly_is_no_rounding_of_another_amount(total: str, wrong: bool) -> None:
    answer = (
        "You have two wristwatches on the order: one with a silicone strap at $1,944.02 and one "
        f"with a metal strap at $1,925.16. The silicone one is $18.86 more, and the two together "
        f"come to {total}."
    )
    assert flagged(answer, TWO_WATCHES) is wrong


TWO: dict[str, Any] = {
    "order_id": "#W4466964",
    "items": [
        {"name": "Espresso Machine", "item_id": "1", "price": 3096.70},
        {"name": "Gaming Mouse", "item_id": "2", "price": 137.32},
    ],
    "status": "delivered",
    "payment_history": [{"transaction_type": "payment", "amount": 3234.02}],
}


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("The espresso machine and the mouse together come to less than $3,200.", True),
        ("The espresso machine and the mouse together cost over $3,300.", True),
        ("The espresso machine and the mouse together cost under $3,300.", False),
        ("The espresso machine and the mouse together come to more than $3,200.", False),
    ],
)
def test_a_bound_on_a_named_total(answer: str, wrong: bool) -> None:
    assert flagged(answer, TWO) is wrong


CHAIR = product(
    "Office Chair",
    ("material", "color", "armrest"),
    ("4168944673", "leather", "blue", "none", True, 471.82),
    ("1793929609", "fabric", "black", "none", False, 514.34),
    ("4274709903", "mesh", "red", "fixed", True, 544.29),
)


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("The blue leather one with no armrests is available at $471.82.", False),
        (
            "Among chairs you can order, the cheapest is the blue leather one with no armrests.",
            False,
        ),
        ("The blue leather one with no armrests is not available.", True),
        ("The black fabric one without armrests is available.", True),
    ],
)
def test_an_option_said_as_none_denies_nothing(answer: str, wrong: bool) -> None:
    assert flagged(answer, CHAIR, "get_product_details") is wrong
