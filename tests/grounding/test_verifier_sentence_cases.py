"""A rule one sentence gives for two cases ("when an order is cancelled and when the payment
method is changed") is narrowed by a claim that keeps it to one ("those timings only apply to
cancelled orders"); the two cases restated, or a conclusion drawn after "so", pass."""

from __future__ import annotations

import pytest

from tests.grounding.common import desk

TIMINGS = (
    "How long a refund takes\n"
    "- Gift card: the money is back on the card immediately.\n"
    "- Credit card: the refund takes 5 to 7 business days to arrive.\n"
    "These timings apply when an order is cancelled and when the payment method of a pending "
    "order is changed, because the original payment is returned in both cases."
)


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("Those timings only apply to cancelled orders.", True),
        ("These timings apply only when an order is cancelled.", True),
        ("The timings only apply to cancelled orders, so a payment change may take longer.", True),
        # "only" after the verb, or "alone" after the case; a case of one word
        ("These timings apply only to cancellations.", True),
        ("These timings cover cancellations alone.", True),
        ("These timings cover cancelled orders only.", True),
        # a word no case of the two holds alone, or both cases said
        ("These timings apply only to refunds.", False),
        ("These timings cover cancellations and payment changes alone.", False),
        ("These timings apply when an order is cancelled and when the payment method is changed.", False),
        ("Those timings apply to cancelled orders, so the gift card money is back immediately.", False),
        ("The same timings apply to a cancelled order and to a changed payment method.", False),
    ],
)  # fmt: skip
def test_one_of_two_cases_kept(answer: str, wrong: bool) -> None:
    assert desk(answer, TIMINGS).flagged is wrong
