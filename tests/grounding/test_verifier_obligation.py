""" "Have to", "must" and "required to" say what "need to" says: "you'll still have to place a
new order" flips "you do not need to place a new order", and "you don't have to" restates it."""

from __future__ import annotations

import pytest

from tether.domains.retail.pack import RETAIL
from tether.grounding.evidence_set import EvidenceSet

PASSAGES = (
    "passage 1: What happens next\nAfter you confirm, the status becomes **exchange requested** "
    "and an e-mail tells you how to send the original items back. You do not need to place a "
    "new order."
)


def flagged(answer: str) -> bool:
    verifier = RETAIL.grounding.verifier()
    evidence = EvidenceSet.from_source(
        "qa", {"question": "Do I have to order it again?", "passages": PASSAGES}, verifier.fields
    )
    return verifier.verify(answer, evidence, kind="qa").flagged


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("You don't have to place a new order.", False),
        ("There's no need to place a new order.", False),
        ("You won't need to place a new order for the black jacket.", False),
        ("You'll still have to place a new order for the black jacket.", True),
        ("You must place a new order.", True),
        ("You need to place a new order.", True),
    ],
)
def test_an_obligation_is_a_need(answer: str, wrong: bool) -> None:
    assert flagged(answer) is wrong
