"""What the customer says they paid with is what the answer must say they paid with: "I paid
with my Amex" in the question against "the PayPal account you paid with" in the answer. A case
("had you paid with a gift card") and a rule ("if you paid with PayPal") state nothing."""

from __future__ import annotations

import pytest

from tether.domains.retail.pack import RETAIL
from tether.grounding.evidence_set import EvidenceSet
from tether.grounding.paid_with import check_paid_with

QUESTION = (
    "I'd like to return the desk lamp. I paid with my Amex, but I'd rather have the money on my "
    "PayPal. Where can the refund go?"
)
PASSAGES = (
    "passage 1: Where the refund goes\nA refund can only be paid to the payment method "
    "originally used for the order. If you paid with a gift card, it goes back to that card."
)


def flagged(answer: str) -> bool:
    verifier = RETAIL.grounding.verifier()
    evidence = EvidenceSet.from_source(
        "qa", {"question": QUESTION, "passages": PASSAGES}, verifier.fields
    )
    return verifier.verify(answer, evidence, kind="qa").flagged


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("The refund will go back to the Amex you paid with.", False),
        ("You paid with your Amex, so the refund goes back to it.", False),
        ("It can't go to PayPal, since you paid with the Amex.", False),
        ("Had you paid with a gift card, it would go back to that card.", False),
        ("If you paid with PayPal, the refund would go there.", False),
        ("The refund will go back to the PayPal account you paid with.", True),
        ("You paid with PayPal, so the refund goes back there.", True),
        ("Since you used a gift card, the refund goes back to it.", True),
    ],
)
def test_the_answer_says_what_the_question_says_was_paid_with(answer: str, wrong: bool) -> None:
    assert flagged(answer) is wrong


def test_only_the_customers_own_payment_is_read() -> None:
    """A passage's rule names a case; with no first-person payment in the question there is
    nothing to contradict."""
    vocabulary = RETAIL.grounding.verifier().vocabulary
    assert check_paid_with("You paid with PayPal.", "Can I get a refund?", vocabulary) == []
    assert check_paid_with("You paid with PayPal.", "If I paid with Amex…", vocabulary) == []


@pytest.mark.parametrize(
    ("question", "answer", "wrong"),
    [
        # the amount and what it bought may come between paying and how
        ("I paid $522.03 for it with PayPal.", "It goes back to the PayPal you paid with.", False),
        ("I paid $522.03 for it with PayPal.", "It goes back to the credit card you paid with.", True),
        ("It's the tablet I paid $951.21 for from my gift card.", "The gift card you paid with gets it.", False),
        ("It's the tablet I paid $951.21 for from my gift card.", "The PayPal you paid with gets it.", True),
    ],
)  # fmt: skip
def test_what_was_paid_with_is_read_past_the_amount(
    question: str, answer: str, wrong: bool
) -> None:
    vocabulary = RETAIL.grounding.verifier().vocabulary
    assert bool(check_paid_with(answer, question, vocabulary)) is wrong
