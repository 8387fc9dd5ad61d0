"""A timing said of a thing the pack names as one of a kind ("your Visa" is a credit card) is
the timing the evidence gives that kind: "the Visa refund takes 5 to 7 business days" holds
where credit card refunds take that long, and "the Visa one is instant" does not. A clause
that names nothing is timed as the one kind its sentence names."""

from __future__ import annotations

import pytest

from tether.domains.retail.pack import RETAIL

REFUNDS = (
    "passage 1: How long a refund takes\n"
    "- **Gift card:** the money is back on the card immediately.\n"
    "- **Credit card or PayPal:** the refund takes 5 to 7 business days to arrive."
)
RETURNED = (
    "passage 1: What happens next\nAfter you confirm, the full amount goes back to the payment "
    "method you used. Money paid with a gift card returns to that card straight away; other "
    "payment methods take 5 to 7 business days."
)
QUESTION = "I paid one order with my Visa and one with a gift card. When is my money back?"


def flagged(answer: str, passage: str) -> bool:
    source = {"question": QUESTION, "passages": passage}
    return RETAIL.grounding.verifier().verify_source("qa", source, answer, "").flagged


@pytest.mark.parametrize(
    ("answer", "passage", "wrong"),
    [
        ("Your Visa refund takes 5 to 7 business days.", REFUNDS, False),
        ("The money comes back to the Visa within five to seven business days.", REFUNDS, False),
        ("The gift card gets it straight away, while the Visa takes 5-7 business days.",
         REFUNDS, False),
        ("The Visa refund won't be instant; give it 5 to 7 business days to arrive.",
         REFUNDS, False),
        ("The full amount goes back to your Visa in 5 to 7 business days.", RETURNED, False),
        # the timing of the other kind, or one the evidence never gives
        ("Your Visa refund is back on the card immediately.", REFUNDS, True),
        ("The gift card takes 5-7 business days, while the Visa is instant.", REFUNDS, True),
        ("The money comes back to the Visa within 2 business days.", REFUNDS, True),
        ("The full amount goes back to your Visa straight away.", RETURNED, True),
    ],
)  # fmt: skip
def test_a_member_of_a_kind_is_timed_as_its_kind(answer: str, passage: str, wrong: bool) -> None:
    assert flagged(answer, passage) is wrong
