"""A limit lifted in other words: "exchanges aren't limited to the same product" where the
evidence allows only another variant of the same product and rules a different kind of product
out, and "only gift cards are excluded" where the evidence rules out any other card. Each near
miss must be caught and each faithful paraphrase must pass, double negations and clause
boundaries included."""

from __future__ import annotations

import pytest

from tests.grounding.common import on_text
from tether.grounding.universals import lifted_nouns
from tether.grounding.verifier import Verification

SWAPS = (
    "Swapping received items\n"
    "Items from an order whose status is **delivered** can be exchanged for another variant of "
    "the **same product**, such as a different size or colour, provided that variant is "
    "available. Exchanging for a different kind of product is not possible; for that, return "
    "the item instead."
)
REFUNDS = (
    "Where the refund goes\n"
    "A refund can only be paid to the payment method originally used for the order, or to a "
    "gift card that already exists on your account. We cannot send it to any other card or "
    "account."
)


def lifted(v: Verification) -> bool:
    return any(
        c.status == "contradicted" and any("lifts a limit" in r for r in c.reasons)
        for c in v.claims
    )


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("Exchanges aren't limited to the same product, so the fan is fine.", True),
        ("An exchange is not restricted to the same product.", True),
        ("Exchanges are limited to the same product, so the fan would need a return.", False),
        (
            "Exchanges are restricted to the same product; a fan is a different kind of product.",
            False,
        ),
        # a double negation keeps the limit
        ("It's not true that exchanges aren't limited to the same product.", False),
        # the lifted limit is on another noun than the one the evidence limits
        (
            "Exchanges aren't limited to one colour: any available colour of the lamp will do.",
            False,
        ),
        ("Exchanges aren't limited to one size and cover every colour of the same product.", False),
    ],
)
def test_a_limit_said_not_to_hold(answer: str, flagged: bool) -> None:
    v = on_text(answer, SWAPS)
    assert lifted(v) is flagged, v.claims
    assert v.flagged is flagged, v.claims


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        (
            "A different credit card is fine as long as it's yours; only gift cards are excluded.",
            True,
        ),
        ("Only prepaid cards are ruled out.", True),
        ("Only the original card or a gift card you already hold can receive it.", False),
        # the clause boundary: the exclusion is the evidence's own, said of every other card
        ("It goes to the original card; any other card is excluded.", False),
        ("Not only gift cards are excluded: any other card is, too.", False),
    ],
)
def test_only_some_members_said_to_be_ruled_out(answer: str, flagged: bool) -> None:
    v = on_text(answer, REFUNDS)
    assert lifted(v) is flagged, v.claims


def test_the_evidence_saying_it_itself_lifts_nothing() -> None:
    open_rule = (
        "Exchanges\nExchanges aren't limited to the same product. A different kind of product "
        "is not possible only when it costs more."
    )
    v = on_text("Exchanges aren't limited to the same product.", open_rule)
    assert not lifted(v), v.claims


def test_an_only_that_describes_limits_nothing() -> None:
    article = (
        "Many people only think of a refund as cash and overlook store credit, not to mention "
        "vouchers."
    )
    v = on_text("A refund is not limited to cash and includes store credit.", article)
    assert not lifted(v), v.claims


def test_the_noun_is_the_phrases_last_word() -> None:
    assert lifted_nouns("Exchanges aren't limited to the same product") == [("product", False)]
    assert lifted_nouns("only gift cards are excluded") == [("cards", True)]
    assert lifted_nouns("Exchanges are limited to the same product") == []
    # the phrase ends where the clause goes on ("… and includes …")
    assert lifted_nouns("It isn't limited to cash and includes vouchers") == [("cash", False)]
