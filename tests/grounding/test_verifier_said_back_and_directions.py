"""Readings that keep faithful answers out of false alarms while their near misses are still
caught: a reported option weighed in words that only point at it ("moving the order to another
payment method instead"), the customer's own situation said back ("there's no gift card on your
account" after "I don't have any gift card on my account"), a ratio said of the dearer and the
cheaper of two things (never of the pair the other way round, nor of a sum holding the first),
a fraction stated after a part and its whole, a yes that answers, and "no water resistance" of
a list where some objects have none."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL

REFUNDS = (
    "passage 1: How long a refund takes\n- **Gift card:** the money is back on the card "
    "immediately.\n- **Credit card or PayPal:** the refund takes 5 to 7 business days to arrive.\n"
    "These timings apply when an order is cancelled and when the payment method of a pending "
    "order is changed, because the original payment is returned in both cases."
)
SWITCH_QUESTION = (
    "I want to cancel my pending order, which came to $3,041.36 through PayPal. How long before "
    "I see that money? A coworker says I'd be better off moving the order to another payment "
    "method instead. My neighbour says that whichever I do, PayPal takes the same 5 to 7 "
    "business days."
)
WHERE_REFUND = (
    "passage 1: Where the refund goes\nA refund can only be paid to the payment method "
    "originally used for the order, or to a gift card that already exists on your account. We "
    "cannot send it to any other card or account."
)
NO_GIFT_CARD = (
    "I'm returning my air purifier. The order went on my Mastercard, and I don't have any gift "
    "card on my account. Where can the money go?"
)


def qa_flagged(question: str, passages: str, answer: str) -> bool:
    source = {"question": question, "passages": passages}
    return RETAIL.grounding.verifier().verify_source("qa", source, answer, "").flagged


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (
            "Your neighbour has it right. If you cancel, the $3,041.36 you paid through PayPal "
            "comes back in 5 to 7 business days, and moving the order to another payment method "
            "instead means the same wait, since the original payment is returned in both cases; "
            "our timings say nothing about waiting for the order to ship.",
            False,
        ),
        # the report's own content said again as the rule is still caught
        (
            "If you cancel, the $3,041.36 comes back in 5 to 7 business days; moving the order "
            "to another payment method instead gets it back within 2 business days.",
            True,
        ),
    ],
)
def test_words_that_only_point_at_a_reported_option_are_no_report_said_again(
    answer: str, wrong: bool
) -> None:
    assert qa_flagged(SWITCH_QUESTION, REFUNDS, answer) is wrong


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (
            "It can only go back on your Mastercard, since there's no gift card on your account "
            "to use.",
            False,
        ),
        # the rule itself turned round is still a flip
        ("The refund can go to a gift card that doesn't already exist on your account.", True),
        ("A refund can't go to a gift card that already exists on your account.", True),
    ],
)
def test_the_customers_situation_said_back_flips_no_rule_naming_the_case(
    answer: str, wrong: bool
) -> None:
    assert qa_flagged(NO_GIFT_CARD, WHERE_REFUND, answer) is wrong


ORDER: dict[str, Any] = {
    "order_id": "#W3386832",
    "items": [
        {"name": "Cycling Helmet", "item_id": "1", "price": 200.24, "options": {"color": "blue"}},
        {"name": "Garden Hose", "item_id": "2", "price": 96.42, "options": {"length": "50ft"}},
        {
            "name": "Espresso Machine",
            "item_id": "3",
            "price": 2744.7,
            "options": {"capacity": "2L"},
        },
    ],
    "status": "pending",
    "fulfillments": [],
    "payment_history": [
        {"transaction_type": "payment", "amount": 3041.36, "payment_method_id": "paypal_6729210"}
    ],
}


def flagged(answer: str, record: dict[str, Any] = ORDER, tool: str = "get_order_details") -> bool:
    evidence = [Evidence("tool:1", f"tool:{tool}", json.dumps(record))]
    return RETAIL.grounding.verifier().verify_items(answer, evidence).flagged


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("The helmet costs a little over twice what the hose does.", False),
        ("The helmet costs a little under twice what the hose does.", True),
        ("The hose costs under half what the helmet does.", False),
        # the helmet is over half of the helmet and the hose together: no ratio of the two
        ("The hose costs over half what the helmet does.", True),
        ("The espresso machine costs more than nine times what the helmet and the hose cost "
         "together.", False),
    ],
)  # fmt: skip
def test_a_ratio_compares_the_dearer_with_the_cheaper_and_no_sum_holding_the_first(
    answer: str, wrong: bool
) -> None:
    assert flagged(answer) is wrong


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("The espresso machine is $2,744.70 of the $3,041.36, about nine-tenths.", False),
        ("The espresso machine is $2,744.70 of the $3,041.36, about 90 %.", False),
        ("The espresso machine is $2,744.70 of the $3,041.36, well over three-quarters.", False),
        ("The espresso machine is $2,744.70 of the $3,041.36, about three-quarters.", True),
        ("The espresso machine is $2,744.70 of the $3,041.36, roughly two-thirds.", True),
    ],
)
def test_a_fraction_after_a_part_and_its_whole_is_judged_by_the_two(
    answer: str, wrong: bool
) -> None:
    assert flagged(answer) is wrong


DELIVERED: dict[str, Any] = {
    "order_id": "#W3445693",
    "items": [{"name": "Air Purifier", "item_id": "1", "price": 523.31, "options": {}}],
    "status": "delivered",
    "fulfillments": [{"tracking_id": ["377354035632"], "item_ids": ["1"]}],
    "payment_history": [
        {"transaction_type": "payment", "amount": 523.31, "payment_method_id": "credit_card_1"}
    ],
}


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("Delivered, yes, in a single shipment.", False),
        ("Yes, it was delivered in two separate shipments.", True),
    ],
)
def test_a_yes_answers_and_adds_nothing(answer: str, wrong: bool) -> None:
    assert flagged(answer, DELIVERED) is wrong


def _earbuds(n: int, color: str, water: str, available: bool, price: float) -> dict[str, Any]:
    options = {"color": color, "water resistance": water}
    return {"item_id": str(n), "options": options, "available": available, "price": price}


EARBUDS: dict[str, Any] = {
    "name": "Wireless Earbuds",
    "product_id": "9924732112",
    "variants": {
        v["item_id"]: v
        for v in (
            _earbuds(1, "black", "IPX7", True, 257.38),
            _earbuds(2, "blue", "IPX4", True, 226.49),
            _earbuds(3, "blue", "not resistant", True, 242.92),
        )
    },
}


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("The blue pair with no water resistance costs $242.92.", False),
        # what the record holds of a pair it names is still judged
        ("The blue IPX4 pair has no water resistance.", True),
    ],
)
def test_no_water_resistance_is_absent_where_a_value_says_not_resistant(
    answer: str, wrong: bool
) -> None:
    assert flagged(answer, EARBUDS, "get_product_details") is wrong


IDENTITY = (
    "passage 1: Verifying your identity\nBefore we look at any account, order or payment "
    "detail, we verify your identity: we confirm which customer we are speaking with."
)


@pytest.mark.parametrize(
    "question",
    [
        "Can you look at my order?",
        # the customer's own word for the rule is no account of their situation
        "I don't need to verify my identity since I'm a regular customer. Can you look at my order?",
        "My friend says I don't need to verify my identity. Can you look at my order?",
    ],
)
def test_a_need_denied_is_the_act_denied_whoever_said_it_first(question: str) -> None:
    assert qa_flagged(question, IDENTITY, "You don't need to verify your identity.")
    assert qa_flagged(
        question,
        IDENTITY,
        "Since you're a regular customer, you don't need to verify your identity.",
    )
    assert not qa_flagged(
        question, IDENTITY, "We verify your identity before we look at your order."
    )
