"""An aside in brackets that denies the clause before it ("or else on a gift card (I don't have
one yet)") gives that clause its polarity: an answer saying there is no gift card restates it,
one saying there is one flips it. A gloss without a subject ("pending (not yet shipped)")
explains its clause and denies nothing."""

from __future__ import annotations

import pytest

from tether.domains.retail.pack import RETAIL
from tether.grounding.evidence_set import EvidenceSet

QUESTION = (
    "I paid with my Amex, but I'd rather have the money on my PayPal, or else on a gift card "
    "(I don't have one yet). Where can the refund go?"
)
PASSAGES = (
    "passage 1: Where the refund goes\nA refund can only be paid to the payment method "
    "originally used for the order, or to a gift card that already exists on your account. We "
    "cannot send it to any other card or account."
)
GLOSS = (
    "passage 1: What we can act on\nWe only act on orders whose status is **pending** (not yet "
    "shipped) or **delivered**. An order that is being processed cannot be changed."
)


def verify(answer: str, passages: str = PASSAGES) -> bool:
    verifier = RETAIL.grounding.verifier()
    evidence = EvidenceSet.from_source(
        "qa", {"question": QUESTION, "passages": passages}, verifier.fields
    )
    return verifier.verify(answer, evidence, kind="qa").flagged


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        (
            "As you don't have a gift card yet, the one place the refund can go is the Amex "
            "you paid with.",
            False,
        ),
        ("You have a gift card, so the refund can go there.", True),
    ],
)
def test_an_aside_that_denies_its_clause_gives_it_its_polarity(answer: str, flagged: bool) -> None:
    assert verify(answer) is flagged


def test_a_gloss_in_brackets_denies_nothing() -> None:
    answer = (
        "We can only act on orders that are pending or delivered, so an order that is being "
        "processed can't be changed."
    )
    assert not verify(answer, GLOSS)
