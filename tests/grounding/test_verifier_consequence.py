"""A rule's consequence said the other way in the rule's own case, the case moved into the
clause that denies it: "you won't be told when the transfer happens" where "when we transfer
you, you are told that you are being transferred". Each near miss must be caught and each
faithful paraphrase must pass, double negations and clause boundaries included."""

from __future__ import annotations

import pytest

from tests.grounding.common import contradicted, on_text
from tether.grounding.conditionals import check_consequence
from tether.grounding.evidence_set import EvidenceSet

TRANSFER = (
    "Speaking with a person\n"
    "When we transfer you, you are told that you are being transferred and asked to hold on; a "
    "colleague then continues from a short summary of your request."
)


def flipped(answer: str) -> bool:
    return contradicted(on_text(answer, TRANSFER), "polarity")


def against(answer: str) -> bool:
    sentences = EvidenceSet.from_source("qa", {"question": "", "passages": TRANSFER}).sentences
    return bool(check_consequence(answer, sentences))


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("I'll transfer you now, though you won't be told when the transfer happens.", True),
        ("When we transfer you, you are not told about it.", True),
        ("If I transfer you, you aren't asked to hold on.", True),
        # faithful, the case led with or moved behind
        ("You are told when the transfer happens.", False),
        ("When we transfer you, you are told about it and asked to hold on.", False),
        # a double negation says what the rule says
        ("When we transfer you, you're never left without being told.", False),
        # the denial bears on a clause of its own, after the consequence
        ("When we transfer you, you are told about it, so nothing is hidden.", False),
        # another case than the rule's
        ("You won't be told when the desk closes.", False),
    ],
)
def test_a_consequence_denied_in_the_rules_case(answer: str, flagged: bool) -> None:
    assert against(answer) is flagged
    assert flipped(answer) is flagged
    assert on_text(answer, TRANSFER).flagged is flagged
