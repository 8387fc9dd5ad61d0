"""An answer that turns down one of the options asked about ("Not the gift card, I'm afraid")
denies no predicate the evidence states of it, and a shortfall said in money ("its $10 is five
dollars short of the $15 difference") is worked out from the amounts beside it; a shortfall
worked out wrong, or a real denial of what the question states, is still flagged."""

from __future__ import annotations

import pytest

from tether.domains.retail.pack import RETAIL
from tether.grounding.arithmetic import worked_out
from tether.grounding.evidence_set import EvidenceSet

QUESTION = (
    "I'm exchanging the $120 blender from my delivered order for the $135 model of the same "
    "blender. I paid for the order with PayPal, and my gift card has $10 on it. Can the gift "
    "card pay the difference?"
)
PASSAGE = (
    "passage 1: Paying the difference\nIf the new variant costs more or less, the difference "
    "is charged to, or refunded to, a payment method you choose from your account. A gift card "
    "used to pay the difference must hold enough balance to cover it."
)


def flagged(answer: str) -> bool:
    verifier = RETAIL.grounding.verifier()
    source = {"question": QUESTION, "passages": PASSAGE}
    evidence = EvidenceSet.from_source("qa", source, verifier.fields)
    return verifier.verify(answer, evidence, kind="qa").flagged


def test_a_small_sum_is_worked_out_only_as_money_from_money() -> None:
    assert worked_out(5.0, [10.0, 15.0], money_said=[10.0, 5.0, 15.0])
    assert not worked_out(5.0, [10.0, 15.0])  # "five choices" is no sum
    assert not worked_out(5.0, [10.0, 15.0, 3.0], money_said=[5.0, 15.0])  # $10 said as a count


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (
            "Not the gift card, I'm afraid: its $10 is five dollars short of the $15 difference.",
            False,
        ),
        ("No, not the gift card: its $10 is $5 short of the $15 difference.", False),
        (
            "Not the gift card, I'm afraid: its $10 is three dollars short of the $15 difference.",
            True,
        ),
        ("Not the gift card: a gift card doesn't have to cover the difference.", True),
    ],
)
def test_a_turned_down_option_and_its_shortfall(answer: str, wrong: bool) -> None:
    assert flagged(answer) is wrong
