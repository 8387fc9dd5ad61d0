"""Two steps said in the other order than the evidence gives them ("we'll check the order first
and verify you after that" where "before we look at any order, we verify your identity") are a
contradiction; the evidence's order said in other words, and an order another evidence sentence
gives, pass."""

from __future__ import annotations

import pytest

from tests.grounding.common import desk

IDENTITY = (
    "Before we look at any account, order or payment detail, we verify your identity: we "
    "confirm which customer we are speaking with."
)
CONFIRM = (
    "Please list every item you want to exchange before you confirm. After you confirm, the "
    "order's status becomes exchange requested and you receive an e-mail about the items."
)


@pytest.mark.parametrize(
    ("answer", "passage", "wrong"),
    [
        ("Sure, we'll check the order first and verify your identity after that.", IDENTITY, True),
        ("We'll look at your order before we verify your identity.", IDENTITY, True),
        ("We verify your identity after we look at your order.", IDENTITY, True),
        ("We'll look at the order first, then verify your identity.", IDENTITY, True),
        # the evidence's order, in its words or others
        ("We'll verify your identity before we look at your order.", IDENTITY, False),
        ("Once your identity is verified, we look at the order.", IDENTITY, False),
        ("We verify your identity first and then look at the order.", IDENTITY, False),
        # an order one evidence sentence gives, whatever another sentence's says
        ("We ask you to list every item before you confirm.", CONFIRM, False),
        ("You confirm first, and then we list every item.", CONFIRM, True),
    ],
)
def test_steps_in_the_evidence_order(answer: str, passage: str, wrong: bool) -> None:
    assert desk(answer, passage).flagged is wrong


GRIP = (
    "Always put your left hand on first, because it guides the clubface, then add your right "
    "hand. Hill told the crowd after the game."
)


@pytest.mark.parametrize(
    "answer",
    [
        # "first" giving a reason, not a next step
        "Put your left hand on first, as it guides the clubface.",
        # "after the game" orders no act of anyone's
        "Hill scored the final layup of the game.",
    ],
)
def test_what_orders_no_two_steps_decides_nothing(answer: str) -> None:
    assert not desk(answer, GRIP).flagged
