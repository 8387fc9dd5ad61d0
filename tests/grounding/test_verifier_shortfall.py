"""An answer that turns down one of the options asked about ("Not the gift card, I'm afraid")
denies no predicate the evidence states of it, and a shortfall said in money ("its $10 is five
dollars short of the $15 difference") is worked out from the amounts beside it; a shortfall
worked out wrong, or a real denial of what the question states, is still flagged."""

from __future__ import annotations

import pytest

from tether.domains.retail.pack import RETAIL
from tether.grounding.arithmetic import worked_out
from tether.grounding.evidence_set import EvidenceSet
from tether.grounding.held_amounts import check_covered

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


def flagged(answer: str, question: str = QUESTION, passages: str = PASSAGE) -> bool:
    verifier = RETAIL.grounding.verifier()
    source = {"question": question, "passages": passages}
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


MOVE_QUESTION = (
    "My pending order is $415.65, paid from my gift card. I have a second gift card with $400 "
    "on it and my PayPal. Which can I move the order to?"
)
MOVE_PASSAGE = (
    "passage 1: Payment method\nYou can move the order to one other payment method that you "
    "already hold. A gift card must have enough balance to pay the whole order total."
)


def move_flagged(answer: str) -> bool:
    return flagged(answer, MOVE_QUESTION, MOVE_PASSAGE)


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        # the words around a difference worked out say how it is worked out, not what is added
        ("Not the second gift card: it must pay the whole total and $400 leaves $15.65 uncovered.", False),
        # worked out wrong, or with something added beside it
        ("Not the second gift card: it must pay the whole total and $400 leaves $16.65 uncovered.", True),
        ("Not the second gift card: it must pay the whole total and $400 earns mugs.", True),
    ],
)  # fmt: skip
def test_a_difference_worked_out_in_other_words_adds_nothing(answer: str, wrong: bool) -> None:
    assert move_flagged(answer) is wrong


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        # an amount said to cover a bigger one the claim states
        ("Your second gift card, with $400 on it, covers the $415.65 total.", True),
        ("The $400 on your second gift card is enough to cover the $415.65.", True),
        # one that does cover it, or one said not to
        ("Your PayPal covers the $415.65 total, and the $400 card comes up $15.65 short.", False),
        ("Your second gift card, with $400 on it, doesn't cover the $415.65 total.", False),
        ("The $400 card covers $400 of the $415.65, which is not enough.", False),
    ],
)
def test_an_amount_said_to_cover_a_bigger_one_is_contradicted(answer: str, wrong: bool) -> None:
    found = check_covered(answer)
    assert bool(found) is wrong
    assert move_flagged(answer) is wrong
