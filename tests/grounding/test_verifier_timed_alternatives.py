"""A timing said of one of the alternatives a passage times together: "the PayPal payment comes
back within 5 to 7 business days" holds where it is returned "within 5 to 7 business days to a
credit card or PayPal"."""

from __future__ import annotations

import pytest

from tests.grounding.common import MOVE, desk


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("The PayPal payment comes back within 5 to 7 business days.", False),
        ("Your PayPal payment would be returned within five to seven business days.", False),
        ("A gift card gets the money back at once.", False),
        # the timing of another alternative, or one the passage never gives
        ("The PayPal money comes back within 48 hours.", True),
        ("The PayPal payment comes back at once.", True),
        ("The gift card payment comes back within 5 to 7 business days.", True),
    ],
)
def test_a_timing_said_of_one_alternative_is_the_alternatives_timing(
    answer: str, flagged: bool
) -> None:
    assert desk(answer, MOVE).flagged is flagged
