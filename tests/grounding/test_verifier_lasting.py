"""A permission said to last where a rule ends it: "can still be cancelled" where "an order
whose items were already changed can no longer be cancelled" and the items were changed (said
in another clause, or in the question), and "you can still return them" where an order gets
"one return or one exchange, not both" and it has had its exchange, and "if it's sold out, you
can still exchange it" where an exchange is allowed "provided that variant is available". Each
near miss must be
caught and each faithful paraphrase must pass, double negations and clause boundaries
included."""

from __future__ import annotations

import pytest

from tests.grounding.common import strict
from tether.grounding.verifier import Verification

CANCEL = (
    "passage 1: What happens next\nAfter you confirm, the order's status becomes **cancelled** "
    "and the full amount goes back to the payment method you used.\nAn order whose items were "
    "already changed can no longer be cancelled."
)
ONCE = (
    "passage 1: One exchange per order\nA delivered order can go through one return or one "
    "exchange, not both, so include every item in a single request."
)


def ask(answer: str, question: str, passages: str) -> Verification:
    source = {"question": question, "passages": passages}
    return strict().verifier().verify_source("qa", source, answer)


def ruled_out(v: Verification) -> bool:
    return any(c.status == "contradicted" and "scope" in c.kinds for c in v.claims)


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        # the case in another clause of the claim
        (
            "Changing the size first is no problem; the order can still be cancelled afterwards.",
            True,
        ),
        ("Go ahead and change the size; you can still cancel the order after that.", True),
        # the faithful rule, in other words
        ("Once you change the size, the order can no longer be cancelled.", False),
        ("You can still cancel it now, but not after changing an item's size.", False),
        # the case denied: a double negation that keeps the rule
        ("You haven't changed any items, so the order can still be cancelled.", False),
        # "still" in another sentence than the permission
        ("You changed the size. The order can be cancelled, which is still worth knowing.", False),
    ],
)
def test_a_permission_the_claims_own_case_ends(answer: str, flagged: bool) -> None:
    v = ask(answer, "Can I cancel my pending order?", CANCEL)
    assert ruled_out(v) is flagged, v.claims
    assert v.flagged is flagged, v.claims


@pytest.mark.parametrize(
    ("question", "flagged"),
    [
        ("I changed an item's size last week. Can I still cancel the order?", True),
        ("I haven't changed any item yet. Can I still cancel the order?", False),
        ("Can I still cancel my pending order?", False),
    ],
)
def test_the_case_may_be_the_questions(question: str, flagged: bool) -> None:
    v = ask("Yes, since it is still pending, the order can be cancelled.", question, CANCEL)
    assert ruled_out(v) is flagged, v.claims


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("You can't exchange the shoes, but you can still return them from the same order.", True),
        ("The shoes can still be returned, even after the jacket's exchange.", True),
        ("You can't return the shoes either: the order has had its exchange.", False),
        ("Since the order has had no exchange, the shoes can still be returned.", False),
    ],
)
def test_one_of_two_acts_ends_the_other(answer: str, flagged: bool) -> None:
    question = "I already exchanged the jacket from my last order. What about the shoes?"
    v = ask(answer, question, ONCE)
    assert ruled_out(v) is flagged, v.claims


def test_no_still_no_finding() -> None:
    v = ask(
        "Changing the size first is no problem; the order can be cancelled.",
        "Can I cancel it?",
        CANCEL,
    )
    assert not ruled_out(v), v.claims


SWAPS = (
    "passage 1: Swapping received items\nItems from an order whose status is **delivered** can "
    "be exchanged for another variant of the **same product**, such as a different size or "
    "colour, provided that variant is available. Exchanging for a different kind of product is "
    "not possible; for that, return the item instead."
)


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("If the colour you want is sold out, you can still exchange the lamp for it.", True),
        ("The lamp can be exchanged even when that colour is unavailable.", True),
        ("If the colour you want is available, you can exchange the lamp for it.", False),
        # a double negation: not sold out is available
        ("If the colour isn't sold out, you can still exchange the lamp for it.", False),
        # the case ruled out in its own clause, the permission in another
        ("You can exchange it if it is available, not if it is sold out.", False),
        (
            "You can exchange the lamp if the colour is in stock; if it's sold out, you can't.",
            False,
        ),
        # another act than the one the proviso bears on
        ("If the colour is sold out, you can still return the lamp.", False),
    ],
)
def test_a_permission_outside_its_proviso(answer: str, flagged: bool) -> None:
    v = ask(answer, "Can I exchange my lamp for another colour?", SWAPS)
    assert ruled_out(v) is flagged, v.claims
    assert v.flagged is flagged, v.claims
