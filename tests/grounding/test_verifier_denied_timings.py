"""A timing denied ("the PayPal refund won't be instant") says what the evidence says when the
evidence gives another ("5 to 7 business days"); "didn't take any time at all" is no denial
but an instant; "the gift card one" states no number; and "X reaches you before Y" compares
the two timings as "quicker than" does."""

from __future__ import annotations

import pytest

from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL
from tether.grounding.timings import timings

TIMES = (
    "passage 1: How long a refund takes\n- **Gift card:** the money is back on the card "
    "immediately.\n- **Credit card or PayPal:** the refund takes 5 to 7 business days to "
    "arrive.\nThese timings apply when an order is cancelled, because the original payment is "
    "returned."
)


def flagged(answer: str) -> bool:
    evidence = [Evidence("kb:1", "kb:refunds", TIMES)]
    return RETAIL.grounding.verifier().verify_items(answer, evidence).flagged


def test_no_time_at_all_is_an_instant() -> None:
    assert [t.kind for t in timings("the gift card one didn't take any time at all")] == [
        "immediate"
    ]


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (
            "The PayPal refund won't be instant, as it takes 5 to 7 business days, but the gift "
            "card one didn't take any time at all.",
            False,
        ),
        ("The PayPal refund won't be instant.", False),
        ("The PayPal refund will be instant.", True),
        ("The gift card refund won't be instant: it takes 5 to 7 business days.", True),
    ],
)
def test_a_denied_timing_the_evidence_gives_otherwise(answer: str, wrong: bool) -> None:
    assert flagged(answer) is wrong


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("The gift card refund will reach you before the PayPal one does.", False),
        ("The PayPal refund arrives after the gift card one.", False),
        ("The PayPal refund will reach you before the gift card one does.", True),
        ("The gift card refund arrives after the PayPal refund.", True),
    ],
)
def test_which_refund_comes_first(answer: str, wrong: bool) -> None:
    assert flagged(answer) is wrong
