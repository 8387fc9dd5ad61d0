"""A speed compared with a thing the evidence times, where the other side is one the evidence
times only as "other" ones: "the Visa refund gets there just as fast as a gift card refund
would" against "a gift card straight away; other payment methods take 5 to 7 business days".
The side naming no timed clause is timed by that rest; an "after the cancellation" orders
events and compares nothing."""

from __future__ import annotations

import pytest

from tests.grounding.test_customer_words import desk_allows
from tether.core.types import Evidence

NEXT = (
    "What happens next\nAfter you confirm, the order's status becomes cancelled and the full "
    "amount goes back to the payment method you used. Money paid with a gift card returns to "
    "that card straight away; other payment methods take 5 to 7 business days."
)


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("The $189.05 goes back to your Visa, and it gets there just as fast as a gift card "
         "refund would.", True),
        ("You'll see the $189.05 back on the Visa, just as long as a gift card refund would take.",
         True),
        ("The Visa refund arrives faster than a gift card refund would.", True),
        # the comparisons the evidence bears out, and an order of events
        ("The $189.05 goes back to your Visa, which is slower than a gift card refund would be.",
         False),
        ("The Visa refund takes longer than a gift card refund: 5 to 7 business days.", False),
        ("You'll get the $189.05 back on the Visa within 5 to 7 business days after the "
         "cancellation.", False),
    ],
)  # fmt: skip
def test_the_other_side_is_timed_by_the_rest(answer: str, flagged: bool) -> None:
    said = "I've cancelled my $189.05 order, paid on my Visa. How soon is the money back?"
    assert desk_allows(said, answer, [Evidence("kb:1", "kb:policy", NEXT)]) is not flagged


TAKES = (
    "How long a refund takes\n- **Gift card:** the money is back on the card immediately.\n"
    "- **Credit card or PayPal:** the refund takes 5 to 7 business days to arrive."
)


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        # no refund at once, where the evidence has one come at once
        ("Neither refund lands straight away; the PayPal one takes 5 to 7 business days.", True),
        ("None of the refunds is immediate.", True),
        # said of the ones just named, or of something else
        ("The PayPal and Mastercard refunds take 5 to 7 business days, so neither is immediate.",
         False),
        ("Neither refund needs a manager's sign-off; the gift card one is back immediately.",
         False),
    ],
)  # fmt: skip
def test_none_said_to_come_at_once(answer: str, flagged: bool) -> None:
    said = "I was refunded to PayPal and to my Mastercard, and I need a manager's sign-off?"
    assert desk_allows(said, answer, [Evidence("kb:1", "kb:policy", TAKES)]) is not flagged


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        # a member of the class "other payment methods" names, though not in its words
        ("The full $1,377.82 reaches PayPal in 5 to 7 business days.", False),
        ("The full $1,377.82 reaches PayPal at once.", True),
        # the member the sentence names beside the rest is timed by its own clause
        ("The full $1,377.82 reaches your gift card straight away.", False),
        ("The full $1,377.82 reaches your gift card in 5 to 7 business days.", True),
        # a timing named only to be set aside is not said
        ("It reaches PayPal in 5 to 7 business days rather than at once.", False),
        ("It reaches PayPal at once rather than in 5 to 7 business days.", True),
        # two members and two timings: each is read as before
        ("Unlike a gift card, which is refunded straight away, PayPal takes 5 to 7 business "
         "days.", False),
    ],
)  # fmt: skip
def test_a_member_of_the_rest_is_timed_by_it_and_one_singled_out_by_its_clause(
    answer: str, flagged: bool
) -> None:
    said = "I paid $1,377.82 through PayPal and cancelled the order. When is my money back?"
    assert desk_allows(said, answer, [Evidence("kb:1", "kb:policy", NEXT)]) is not flagged
