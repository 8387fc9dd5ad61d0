"""A charge is a payment by another word, and "nothing has been charged" denies it as "hasn't
been charged" does: of an order whose record holds a payment, either contradicts the record,
even inside a concessive clause ("processed even though nothing has been charged yet")."""

from __future__ import annotations

import json

import pytest

from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL

ORDER = {
    "order_id": "#W5767256",
    "status": "processed",
    "items": [{"name": "Hiking Boots", "price": 239.99}],
    "payment_history": [
        {"transaction_type": "payment", "amount": 239.99, "payment_method_id": "credit_card_1"}
    ],
}


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("The boots have been processed and $239.99 was charged to your card.", False),
        ("Nothing has been refunded so far.", False),
        (
            "The boots have been processed even though nothing has been charged to your card yet.",
            True,
        ),
        ("Your card hasn't been charged yet.", True),
    ],
)
def test_a_charge_denied_of_a_paid_order(answer: str, wrong: bool) -> None:
    evidence = [Evidence("tool:1", "tool:get_order_details", json.dumps(ORDER))]
    assert RETAIL.grounding.verifier().verify_items(answer, evidence).flagged is wrong


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        # the event said not to have happened, in a relative clause beside what will be
        ("The $239.99 card payment, which didn't go through, will need to be retried.", True),
        ("The $239.99 payment was never made.", True),
        ("Your payment of $239.99 hasn't gone through yet.", True),
        # the event said to have happened, and one the record lacks said not to have
        ("The $239.99 payment went through, and no refund was ever made.", False),
        ("The $239.99 card payment, which went through, can't be changed now.", False),
        ("Your payment of $239.99 went through; the refund didn't go through because there's none.", False),
    ],
)  # fmt: skip
def test_a_payment_said_not_to_have_gone_through(answer: str, wrong: bool) -> None:
    evidence = [Evidence("tool:1", "tool:get_order_details", json.dumps(ORDER))]
    assert RETAIL.grounding.verifier().verify_items(answer, evidence).flagged is wrong


REFUNDED = {
    **ORDER,
    "status": "cancelled",
    "payment_history": [
        *ORDER["payment_history"],
        {"transaction_type": "refund", "amount": 239.99, "payment_method_id": "credit_card_1"},
    ],
}


@pytest.mark.parametrize(
    ("answer", "refunded", "wrong"),
    [
        # "none of which", "none of the $…", "never made it back": a refund denied
        ("You paid $239.99 by card, none of which has been refunded so far.", True, True),
        ("None of the $239.99 has been refunded.", True, True),
        ("The $239.99 never made it back onto your card.", True, True),
        # the near misses: said of an order with no refund, or said to have been refunded
        ("You paid $239.99 by card, none of which has been refunded so far.", False, False),
        ("The $239.99 never made it back onto your card.", False, False),
        ("You paid $239.99 by card, all of which has been refunded.", True, False),
    ],
)
def test_a_refund_denied_in_other_words(answer: str, refunded: bool, wrong: bool) -> None:
    record = REFUNDED if refunded else ORDER
    evidence = [Evidence("tool:1", "tool:get_order_details", json.dumps(record))]
    assert RETAIL.grounding.verifier().verify_items(answer, evidence).flagged is wrong
