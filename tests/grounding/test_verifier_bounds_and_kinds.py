"""Readings for answers that bound an amount by a round figure ("$47, a little under fifty
dollars"), say what one thing costs beyond another before a ratio of the two ("it cost
$1,441.74 more than the camera, close to four times as much", of the thing the sentence before
named), count a list with an aside before the stock word ("12 of them, two-thirds, can be
ordered"), name the kind a value is after it ("sunbrella fabric"), and deny stock just before
the stock word ("…, isn't available"). Each sits beside the near miss it must still catch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.grounding.common import flagged
from tether.domains.retail.pack import RETAIL

PROBES = Path(RETAIL.grounding_probes or ".").parent


def _record(name: str, source_id: str) -> dict[str, Any]:
    """A record a probe set holds, as the retail tools returned it."""
    for line in (PROBES / name / "data2txt.jsonl").read_text(encoding="utf-8").splitlines():
        source = json.loads(line)
        if source["source_id"] == source_id:
            found: dict[str, Any] = source["source"]
            return found
    raise LookupError(source_id)


ACCOUNT = {
    "user_id": "chen_smith_8425",
    "name": {"first_name": "Chen", "last_name": "Smith"},
    "payment_methods": {
        "gift_card_4796172": {"source": "gift_card", "id": "gift_card_4796172", "balance": 47.0},
        "paypal_9175769": {"source": "paypal", "id": "paypal_9175769"},
    },
    "orders": ["#W8859225"],
}


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("The gift card balance is $47, a little under fifty dollars.", False),
        ("The gift card balance is $47, just under $50.", False),
        ("The gift card balance is $47, a little over fifty dollars.", True),
        ("The gift card balance is $47, a little under $80.", True),
    ],
)
def test_a_round_figure_an_amount_is_just_under_or_over_is_worked_out(
    answer: str, wrong: bool
) -> None:
    assert flagged(answer, ACCOUNT, "get_user_details") is wrong


ORDER = {
    "order_id": "#W8461477",
    "items": [
        {"name": "Wristwatch", "item_id": "1", "price": 1944.02, "options": {"dial color": "blue"}},
        {"name": "Action Camera", "item_id": "2", "price": 502.28, "options": {"color": "silver"}},
    ],
    "status": "pending",
    "fulfillments": [],
    "payment_history": [
        {"transaction_type": "payment", "amount": 2446.3, "payment_method_id": "credit_card_1"}
    ],
}
LEAD = "The watch makes up the bulk of it: $1,944.02 of the $2,446.30, just under 80%. "


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (LEAD + "It cost $1,441.74 more than the camera, close to four times as much.", False),
        (LEAD + "It cost $1,441.74 more than the camera, close to six times as much.", True),
        (LEAD + "It cost $1,441.74 more than the camera, not quite three times as much.", True),
    ],
)
def test_a_ratio_after_a_gap_is_of_the_one_the_gap_is_said_of(answer: str, wrong: bool) -> None:
    assert flagged(answer, ORDER, "get_order_details") is wrong


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("The water bottle comes in 18 variants, and 12 of them, two-thirds, can be ordered.", False),
        ("The water bottle comes in 18 variants, and 13 of them, two-thirds, can be ordered.", True),
        ("The water bottle comes in 18 variants, and 12 of them, three-quarters, can be ordered.",
         True),
    ],
)  # fmt: skip
def test_an_aside_before_the_stock_word_leaves_the_count_judged(answer: str, wrong: bool) -> None:
    bottle = _record("dev42", "product-8310926033")
    assert flagged(answer, bottle, "get_product_details") is wrong


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("For sunbrella fabric there are two choices, both available.", False),
        ("For cotton fabric there are two choices.", True),
        ("The cheapest umbrella overall, the 7 ft red polyester one at $285.66, isn't available.",
         False),
        ("The cheapest umbrella overall, the 7 ft red polyester one at $285.66, is available.",
         True),
    ],
)  # fmt: skip
def test_a_kind_named_after_a_value_and_stock_denied_before_its_word(
    answer: str, wrong: bool
) -> None:
    umbrella = _record("dev43", "product-9743693396")
    assert flagged(answer, umbrella, "get_product_details") is wrong


REFUNDS = (
    "passage 1: How long a refund takes\n- **Gift card:** the money is back on the card "
    "immediately.\n- **Credit card or PayPal:** the refund takes 5 to 7 business days to arrive.\n"
    "These timings apply when an order is cancelled and when the payment method of a pending "
    "order is changed, because the original payment is returned in both cases."
)
NEEDS = (
    "passage 1: What we need from you\n- the order id,\n- the list of items you are sending "
    "back, and\n- where the refund should go."
)


def qa_flagged(passages: str, answer: str) -> bool:
    source = {
        "question": "What do you need, and how long will the refund take?",
        "passages": passages,
    }
    return RETAIL.grounding.verifier().verify_source("qa", source, answer, "").flagged


@pytest.mark.parametrize(
    ("passages", "answer", "wrong"),
    [
        # the rule's own reason names the state the claim says: no other state swapped in
        (REFUNDS, "When the payment method of a pending order changes, the original payment is "
         "returned, so the gift card money comes back right away.", False),
        (REFUNDS, "A credit card refund takes 5 to 7 business days when an order is cancelled.",
         False),
        (REFUNDS, "A gift card refund takes 5 to 7 business days when an order is cancelled.", True),
        # "just" after a denial restates what the list holds; it strikes nothing off it
        (NEEDS, "Photos or a reason: not needed, just the order id, the items and where the "
         "refund goes.", False),
        (NEEDS, "We don't need the order id, just the items.", True),
    ],
)  # fmt: skip
def test_a_rules_own_reason_and_a_list_restated_after_a_denial(
    passages: str, answer: str, wrong: bool
) -> None:
    assert qa_flagged(passages, answer) is wrong


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("By type: robotic 4 of 5, upright 2 of 4, canister 3 of 4.", False),
        ("Robotic 1 of 5 can't be ordered.", False),
        # a denied stock word counts the ones out of stock
        ("Robotic 4 of 5 can't be ordered.", True),
    ],
)
def test_counts_after_a_value_read_a_denied_stock_word(answer: str, wrong: bool) -> None:
    vacuum = _record("dev40", "product-1762337868")
    assert flagged(answer, vacuum, "get_product_details") is wrong
