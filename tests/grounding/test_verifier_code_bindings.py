"""A short code of digits pinned on the wrong object of a list: "Visa ending 4410" where the
account's Visa ends in 2087 and its Mastercard in 4410. Each part of the answer that says a
code one object holds beside a value only another holds is caught; codes said of their own
objects, a code no object holds alone, and a part that names no one object pass."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL

ACCOUNT: dict[str, Any] = {
    "user_id": "rui_santos_1188",
    "payment_methods": {
        "credit_card_1": {"source": "credit_card", "id": "credit_card_1", "brand": "visa",
                          "last_four": "2087"},
        "credit_card_2": {"source": "credit_card", "id": "credit_card_2", "brand": "mastercard",
                          "last_four": "4410"},
        "paypal_3": {"source": "paypal", "id": "paypal_3"},
    },
    "orders": ["#W5000001"],
}  # fmt: skip


def flagged(answer: str) -> bool:
    evidence = [Evidence("tool:1", "tool:get_user_details", json.dumps(ACCOUNT))]
    return RETAIL.grounding.verifier().verify_items(answer, evidence).flagged


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("Visa ending 4410, Mastercard ending 2087, and PayPal.", True),
        ("Your Visa card ends in 4410.", True),
        ("Saved cards:\n• Mastercard ending 2087\n• Visa ending 2087", True),
        # each code said of its own card
        ("Visa ending 2087, Mastercard ending 4410, and PayPal.", False),
        ("Your Mastercard is the one ending in 4410.", False),
        ("Saved cards:\n• Visa ending 2087\n• Mastercard ending 4410", False),
    ],
)
def test_a_code_is_bound_to_its_own_object(answer: str, wrong: bool) -> None:
    assert flagged(answer) is wrong
