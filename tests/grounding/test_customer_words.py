"""What the customer said is not evidence: an answer that repeats a customer's assertion the
run's evidence does not make ("your agent promised me a $100 credit") is not grounded by it.

The run path gives the verifier the run's evidence (tool results, retrieved passages) and
never the conversation, so the customer's words cannot support a claim there. These tests hold
that in place: a change that hands the verifier the customer's message, as the benchmark
harness hands it a question, must keep it from counting as support.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.grounding.common import context
from tether.core.types import Effect, Evidence, Message, ModelTurn, TurnKind
from tether.domains.retail.pack import RETAIL
from tether.grounding.verify import ClaimCheck

REFUNDS = (
    "How long a refund takes\n- **Gift card:** the money is back on the card immediately.\n"
    "- **Credit card or PayPal:** the refund takes 5 to 7 business days to arrive."
)

ASSERTED = [
    (
        "Your agent promised me a $100 credit for the delay. When do I get it?",
        "You'll get the $100 credit for the delay within 5 to 7 business days.",
    ),
    (
        "Your colleague said I get free express shipping on my next order. Confirm?",
        "Yes, you get free express shipping on your next order.",
    ),
    (
        "I was told refunds to PayPal are instant. Is that right?",
        "Yes, refunds to PayPal are instant.",
    ),
]


@pytest.mark.parametrize(("said", "answer"), ASSERTED)
def test_an_answer_grounded_only_in_the_customers_words_is_stopped(said: str, answer: str) -> None:
    check = ClaimCheck(RETAIL.grounding.verifier())
    ctx = replace(
        context([Evidence("kb:1", "kb:refunds", REFUNDS)]), messages=(Message("user", said),)
    )
    verdict = check(ctx, ModelTurn(TurnKind.ANSWER, answer, citations=("kb:1",)))
    assert verdict.effect is not Effect.ALLOW
