"""A line that is a count and what it lists, with no verb ("• two orders, #W1 and #W2",
"Three orders: …"), counts what the record has as "you have two orders" does: it is held to
the length of the record's list."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL

ACCOUNT: dict[str, Any] = {
    "user_id": "lena_park_4410",
    "payment_methods": {
        "credit_card_1": {"source": "credit_card", "brand": "visa", "last_four": "1234"}
    },
    "orders": ["#W4000001", "#W4000002", "#W4000003"],
}


def flagged(answer: str) -> bool:
    evidence = [Evidence("tool:1", "tool:get_user_details", json.dumps(ACCOUNT))]
    return RETAIL.grounding.verifier().verify_items(answer, evidence).flagged


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("Here's the account:\n• two orders, #W4000001 and #W4000002", True),
        ("Four orders: #W4000001, #W4000002, #W4000003 and one more.", True),
        ("2 payment methods (the Visa ending 1234).", True),
        # the count the record holds
        ("Here's the account:\n• three orders, #W4000001, #W4000002 and #W4000003", False),
        ("Three orders: #W4000001, #W4000002 and #W4000003.", False),
        ("One payment method: the Visa ending 1234.", False),
    ],
)
def test_a_verbless_count_line_is_held_to_the_list(answer: str, wrong: bool) -> None:
    assert flagged(answer) is wrong
