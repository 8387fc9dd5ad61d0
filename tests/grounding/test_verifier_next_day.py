"""A timing said as the day after ("the next business day", "the following day") is one
day on: it contradicts a refund that takes 5 to 7 business days, and bears out one that comes
back by the next day."""

from __future__ import annotations

import pytest

from tests.grounding.common import MOVE, desk
from tether.grounding.timings import timings

NEXT_DAY = (
    "A refund to a bank account arrives the next business day. A voucher is issued within the hour."
)


def test_the_next_day_is_one_day_on() -> None:
    [said] = timings("it is back the next business day")
    assert (said.kind, said.low, said.high) == ("duration", 1.4, 1.4)
    [said] = timings("it arrives the following day")
    assert (said.low, said.high) == (1.0, 1.0)
    assert timings("the day after we spoke, it shipped") == []


@pytest.mark.parametrize(
    ("answer", "passage", "wrong"),
    [
        ("The PayPal money is back the next business day.", MOVE, True),
        ("Your credit card gets the refund the following day.", MOVE, True),
        ("The bank account refund arrives the next business day.", NEXT_DAY, False),
        ("Your bank account gets the refund on the following working day.", NEXT_DAY, False),
        # the timing the passage gives is still borne out
        ("The PayPal money is back within 5 to 7 business days.", MOVE, False),
    ],
)
def test_a_next_day_timing_is_checked(answer: str, passage: str, wrong: bool) -> None:
    assert desk(answer, passage).flagged is wrong
