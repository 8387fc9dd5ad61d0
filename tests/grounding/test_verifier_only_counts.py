"""A count said as "the only …" or "your one …": "the Visa is the only payment method saved"
of an account with two says one where the record holds two. Read less surely than a number,
it only ever contradicts; one that holds vouches for nothing, and a noun narrowed after it
("the only order still pending"), or "not the only …", counts nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.grounding.common import on_tool
from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL
from tether.grounding.record_counts import check_counts
from tether.grounding.verifier import Verification

ACCOUNT: dict[str, Any] = {
    "user_id": "aarav_davis_5411",
    "payment_methods": {
        "credit_card_1": {"source": "credit_card", "brand": "visa", "last_four": "9385"},
        "paypal_2": {"source": "paypal"},
    },
    "orders": ["#W6552785"],
}


def on_account(answer: str) -> Verification:
    return on_tool(answer, ACCOUNT, "get_user_details")


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("Your Visa ending 9385 is the only payment method saved.", True),
        ("Your Visa ending 9385 is your one payment method.", True),
        ("The Visa is the sole payment method on your account.", True),
        ("#W6552785 is your one order.", False),
        ("Your only order is #W6552785.", False),
        # denied, or narrowed after the noun
        ("Your Visa isn't the only payment method saved.", False),
        ("The only payment method that is a card is your Visa ending 9385.", False),
    ],
)
def test_the_only_one_is_a_count_of_one(answer: str, flagged: bool) -> None:
    v = on_account(answer)
    assert v.flagged is flagged, v.claims


def test_the_only_one_that_holds_vouches_for_nothing() -> None:
    views = (
        RETAIL.grounding.verifier()
        .evidence([Evidence("tool:1", "tool:get_user_details", json.dumps(ACCOUNT))])
        .views
    )
    assert check_counts("#W6552785 is your one order.", views) == []
    assert check_counts("Your account has one order.", views)[0].status == "supported"
    wrong = check_counts("The Visa is the only payment method saved.", views)
    assert [f.status for f in wrong] == ["contradicted"]
