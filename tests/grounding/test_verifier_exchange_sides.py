"""Which side of an exchange goes back: the question's "I'm exchanging the $120 blender for the
$135 model" makes the $120 blender the one sent back, so "send the $135 model back" swaps the
two, and "send the $120 blender back" does not."""

from __future__ import annotations

import pytest

from tether.domains.retail.pack import RETAIL
from tether.grounding.evidence_set import EvidenceSet
from tether.grounding.exchange_sides import check_exchange_sides

QUESTION = (
    "I'm exchanging the $120 blender from my delivered order for the $135 model of the same "
    "blender. What will my order show afterwards?"
)
PASSAGE = (
    "passage 1: What happens next\nAfter you confirm, the status becomes **exchange requested** "
    "and an e-mail tells you how to send the original items back."
)


def test_the_sides_are_told_apart_by_their_amounts() -> None:
    assert check_exchange_sides("send the $135 model back", QUESTION)
    assert not check_exchange_sides("send the $120 blender back", QUESTION)
    assert not check_exchange_sides("send the blender back", QUESTION)  # no amount: no side
    assert not check_exchange_sides("send the $135 model back", "What is my order's status?")


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("Once you confirm, an e-mail tells you how to send the $120 blender back.", False),
        ("Once you confirm, an e-mail tells you how to send the original items back.", False),
        ("Once you confirm, an e-mail tells you how to send the $135 model back.", True),
    ],
)
def test_the_side_sent_back(answer: str, wrong: bool) -> None:
    verifier = RETAIL.grounding.verifier()
    source = {"question": QUESTION, "passages": PASSAGE}
    evidence = EvidenceSet.from_source("qa", source, verifier.fields)
    assert verifier.verify(answer, evidence, kind="qa").flagged is wrong
