"""An amount the evidence says something holds, compared in a claim with another amount: "the
gift card holds more than the $15 difference" where the question says "my gift card has $10 on
it" is contradicted; "holds less than the $15 difference" agrees."""

from __future__ import annotations

import pytest

from tether.domains.retail.pack import RETAIL
from tether.grounding.evidence_set import EvidenceSet

QUESTION = (
    "I'm exchanging the $120 blender for the $135 model of the same blender. I paid with "
    "PayPal, and my gift card has $10 on it. Can the gift card pay the difference?"
)
PASSAGE = (
    "passage 1: Paying the difference\nA gift card used to pay the difference must hold enough "
    "balance to cover it."
)


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("The gift card holds less than the $15 difference, so it can't pay it.", False),
        ("Your gift card has less than $15 on it.", False),
        ("Since the gift card holds more than the $15 difference, it can pay for it.", True),
        ("Your gift card has more than $15 on it.", True),
    ],
)
def test_a_held_amount_compared(answer: str, wrong: bool) -> None:
    verifier = RETAIL.grounding.verifier()
    source = {"question": QUESTION, "passages": PASSAGE}
    evidence = EvidenceSet.from_source("qa", source, verifier.fields)
    assert verifier.verify(answer, evidence, kind="qa").flagged is wrong
