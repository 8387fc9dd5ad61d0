"""A role the answer says something was given ("set as your default payment method", "marked
as your preferred card") where no evidence names that role is something the answer adds; a
record that does name it, and an answer that only reports what the record lists, pass."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL

PROFILE: dict[str, Any] = {
    "user_id": "ava_3",
    "address": {"address1": "120 Elm Street", "city": "San Antonio"},
    "payment_methods": {
        "paypal_1": {"source": "paypal", "id": "paypal_1"},
        "credit_card_2": {"source": "credit_card", "id": "credit_card_2", "brand": "visa",
                          "last_four": "6367"},
    },
}  # fmt: skip
# the same profile, where the record marks a default method in its own words
MARKED: dict[str, Any] = {**PROFILE, "default_payment_method": "paypal_1"}


def flagged(answer: str, record: dict[str, Any]) -> bool:
    evidence = [Evidence("tool:1", "tool:get_user_details", json.dumps(record))]
    return RETAIL.grounding.verifier().verify_items(answer, evidence).flagged


@pytest.mark.parametrize(
    ("answer", "record", "expected"),
    [
        ("You have a Visa and a PayPal account, and PayPal is set as your default payment method.",
         PROFILE, True),
        ("Your Visa ending 6367, which you marked as your preferred card, sits beside PayPal.",
         PROFILE, True),
        # the record names the role, or the answer only says what it holds
        ("You have a Visa and a PayPal account, and PayPal is set as your default payment method.",
         MARKED, False),
        ("You have a Visa ending 6367 and a PayPal account.", PROFILE, False),
    ],
)  # fmt: skip
def test_a_role_no_evidence_names(answer: str, record: dict[str, Any], expected: bool) -> None:
    assert flagged(answer, record) is expected
