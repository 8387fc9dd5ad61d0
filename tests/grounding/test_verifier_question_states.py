"""The state the question gives the customer's own thing ("my delivered order") rules out
another said to hold now ("your order's still in transit"); what the thing will become once
something is done, a passage's rule about such things, and a noun the question gives two
states decide nothing."""

from __future__ import annotations

import pytest

from tether.domains.retail.pack import RETAIL

RULE = (
    "passage 1: Where the refund goes\nA refund can only be paid to the payment method "
    "originally used for the order, or to a gift card that already exists on your account."
)


def flagged(answer: str, question: str) -> bool:
    source = {"question": question, "passages": RULE}
    return RETAIL.grounding.verifier().verify_source("qa", source, answer, "").flagged


DELIVERED = "I'm returning the lamp from my delivered order. Can the refund go to my gift card?"
TWO = "I have one cancelled order and one pending order. Where does the refund go?"
WONDERED = "I wonder whether my pending order is late. Where does the refund go?"


@pytest.mark.parametrize(
    ("answer", "question", "wrong"),
    [
        ("Your order's still in transit, but the refund can go to the card you paid with.",
         DELIVERED, True),
        ("Your order is still pending; the refund goes to the card you paid with.", DELIVERED, True),
        ("Your order is currently on its way.", DELIVERED, True),
        # the question's own state, or one to come
        ("Your order was delivered, so the refund goes to the card you paid with.", DELIVERED, False),
        ("Once we receive the lamp, your order is returned.", DELIVERED, False),
        # what it has now become, after what the answer did
        ("Your order is now returned, and the refund goes to the card you paid with.", DELIVERED,
         False),
        # a noun given two states, and a state only wondered about
        ("Your order is still pending, so the refund goes to the card you paid with.", TWO, False),
        ("Your order is still in transit.", WONDERED, False),
    ],
)  # fmt: skip
def test_a_state_the_question_gives(answer: str, question: str, wrong: bool) -> None:
    assert flagged(answer, question) is wrong
