"""Three readings from the last blind set, each beside the near miss still caught.

- "The $10 gift card can't cover the $18.40 difference" is a case a requirement ("a gift card
  used to pay the difference must hold enough balance to cover it") is not met in, no denial of
  the requirement; "a gift card can't be used to pay a difference" still denies the rule.
- "…, so please pick another payment method from your account" is a request: its words add no
  fact.
- "about $300 falls roughly $112.50 short of $412.50", "matches": how much, not what is added.
"""

from __future__ import annotations

import pytest

from tests.grounding.common import kb_flagged

DIFFERENCE = (
    "Paying the difference If the new variant costs more or less, the difference is charged to, "
    "or refunded to, a payment method you choose from your account. A gift card used to pay the "
    "difference must hold enough balance to cover it."
)


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (
            "The $10 gift card can't cover the $18.40 difference; choose a different payment method on your account.",
            False,
        ),
        ("Your gift card doesn't hold enough balance to cover the $18.40 difference.", False),
        ("A gift card can't be used to pay a difference, only toward new orders.", True),
        ("A gift card doesn't have to hold enough balance to cover the difference.", True),
    ],
)
def test_a_case_a_requirement_is_not_met_in(answer: str, wrong: bool) -> None:
    question = "My exchange costs $18.40 more and my gift card holds $10."
    assert kb_flagged(answer, DIFFERENCE, question) is wrong


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (
            "As for the $18.40, a gift card with $10 won't cover it, so please pick another payment method from your account.",
            False,
        ),
        (
            "As for the $18.40, it goes on your store credit line, so please pick another payment method from your account.",
            True,
        ),
    ],
)
def test_a_request_adds_no_fact(answer: str, wrong: bool) -> None:
    question = "My exchange costs $18.40 more and my gift card holds $10."
    assert kb_flagged(answer, DIFFERENCE, question) is wrong


MOVE = (
    "Payment method You can move the order to one other payment method that you already hold. "
    "A gift card must have enough balance to pay the whole order total."
)


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (
            "The gift card balance must be enough for the whole order, and about $300 falls roughly $112.50 short of $412.50.",
            False,
        ),
        (
            "The gift card balance must be enough for the whole order, and about $300 falls roughly $121.50 short of $412.50.",
            True,
        ),
    ],
)
def test_how_much_short_is_how_much(answer: str, wrong: bool) -> None:
    question = "Can I move my $412.50 order onto my gift card? It has about $300 on it."
    assert kb_flagged(answer, MOVE, question) is wrong
