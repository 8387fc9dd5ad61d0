"""More readings from a blind set, each beside the near miss still caught.

- A timing said of a payment method named beside a state word ("refunded to your gift card
  within 5 to 7 business days") is read of that method: the state word names no kind.
- A line's label may hold an amount ("Original $312.45 on the Mastercard: returned within …").
- The evidence's words said of a reported thing ("a portable speaker is a different kind of
  product") apply a rule to it; they do not say the report again.
- "the record doesn't carry a tracking number" denies what the record holds.
- What a price is compared with ends where ", and the headphones …" opens a clause.
- "It is also available, as is the white full-size one" says it of both.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.grounding.common import flagged, kb_flagged, product

CANCELLED = (
    "What happens next After you confirm, the order's status becomes **cancelled** and the full "
    "amount goes back to the payment method you used. Money paid with a gift card returns to "
    "that card straight away; other payment methods take 5 to 7 business days."
)


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (
            "The full amount is refunded to your gift card, typically within 5 to 7 business days.",
            True,
        ),
        ("The full amount is refunded to your gift card straight away.", False),
        ("A credit card payment is refunded within 5 to 7 business days.", False),
    ],
)
def test_a_state_word_names_no_kind_a_timing_is_said_of(answer: str, wrong: bool) -> None:
    assert kb_flagged(answer, CANCELLED) is wrong


MOVE = (
    "Payment method You can move the order to one other payment method that you already hold. "
    "The order stays pending, and the first payment is returned: at once to a gift card, or "
    "within 5 to 7 business days to a credit card or PayPal."
)


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (
            "Original $312.45 on the Mastercard: returned within 5 to 7 business days",
            False,
        ),
        ("Original $312.45 on the Mastercard: returned at once", True),
    ],
)
def test_a_label_holding_an_amount(answer: str, wrong: bool) -> None:
    assert kb_flagged(answer, MOVE, "I paid $312.45 with my Mastercard.") is wrong


EXCHANGES = (
    "Exchanging delivered items Items from an order whose status is **delivered** can be "
    "exchanged for another variant of the **same product**, such as a different size or colour, "
    "provided that variant is available. Exchanging for a different kind of product is not "
    "possible; for that, return the item instead."
)
SPEAKER = (
    "My earbuds were delivered. A coworker says I can exchange them for a portable speaker. Can I?"
)


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (
            "A portable speaker is a different kind of product, so that would be a return, not an exchange.",
            False,
        ),
        (
            "A portable speaker counts as another variant of the earbuds, so it can be exchanged.",
            True,
        ),
    ],
)
def test_a_rule_applied_to_a_reported_thing(answer: str, wrong: bool) -> None:
    assert kb_flagged(answer, EXCHANGES, SPEAKER) is wrong


DELIVERED: dict[str, Any] = {
    "order_id": "#W8448267",
    "items": [{"name": "Perfume", "item_id": "1", "price": 289.66}],
    "status": "delivered",
    "fulfillments": [{"tracking_id": ["881974856199"], "item_ids": ["1"]}],
    "payment_history": [{"transaction_type": "payment", "amount": 289.66}],
}


@pytest.mark.parametrize(
    ("answer", "status", "wrong"),
    [
        ("It's delivered, though the record doesn't carry a tracking number.", "delivered", True),
        ("The record doesn't show a tracking number.", "delivered", True),
        ("It's pending, and the record doesn't show a tracking number yet.", "pending", False),
    ],
)
def test_a_tracking_number_the_record_is_said_not_to_carry(
    answer: str, status: str, wrong: bool
) -> None:
    record = {**DELIVERED, "status": status}
    if status == "pending":
        record["fulfillments"] = []
    assert flagged(answer, record) is wrong


THREE: dict[str, Any] = {
    "order_id": "#W4155745",
    "items": [
        {"name": "Headphones", "item_id": "1", "price": 359.66},
        {"name": "Patio Umbrella", "item_id": "2", "price": 316.29},
        {"name": "Backpack", "item_id": "3", "price": 198.0},
    ],
    "status": "pending",
    "payment_history": [{"transaction_type": "payment", "amount": 873.95}],
}


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (
            "The patio umbrella comes in a little under the backpack, and the headphones top the list at $359.66.",
            True,
        ),
        (
            "The backpack comes in a little under the patio umbrella, and the headphones top the list at $359.66.",
            False,
        ),
    ],
)
def test_what_is_compared_ends_where_a_clause_opens(answer: str, wrong: bool) -> None:
    assert flagged(answer, THREE) is wrong


KEYBOARD = product(
    "Mechanical Keyboard",
    ("switch type", "backlight", "size"),
    ("4843487907", "clicky", "white", "80%", False, 254.84),
    ("6342039236", "clicky", "white", "full size", True, 244.91),
    ("2299424241", "clicky", "RGB", "80%", True, 237.48),
)


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (
            "The clicky white 80% keyboard is $254.84. It is also available, as is the clicky white full-size one.",
            True,
        ),
        (
            "The clicky RGB 80% keyboard is $237.48. It is also available, as is the clicky white full-size one.",
            False,
        ),
        (
            "The clicky RGB 80% keyboard is $237.48. It is also available, as is the clicky white 80% one.",
            True,
        ),
    ],
)
def test_two_subjects_of_one_predicate(answer: str, wrong: bool) -> None:
    assert flagged(answer, KEYBOARD, "get_product_details") is wrong
