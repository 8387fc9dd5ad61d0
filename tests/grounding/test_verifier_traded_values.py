"""Values traded between two objects of one record: two items named in one sentence, each
said to hold the other's colour ("the bookshelf is black, and the bottle is white" of a white
bookshelf and a black bottle), and a payment method holding no balance said to hold another's
("your PayPal account holds a $64 balance" where the gift card does)."""

from __future__ import annotations

import pytest

from tests.grounding.common import flagged

ORDER = {
    "order_id": "#W9015076",
    "status": "pending",
    "items": [
        {
            "name": "Water Bottle",
            "price": 48.47,
            "options": {"capacity": "750ml", "color": "black"},
        },
        {"name": "Bookshelf", "price": 451.01, "options": {"material": "wood", "color": "white"}},
    ],
}
ACCOUNT = {
    "user_id": "fatima_anderson_7445",
    "payment_methods": {
        "gift_card_8070316": {"source": "gift_card", "id": "gift_card_8070316", "balance": 64.0},
        "paypal_7697967": {"source": "paypal", "id": "paypal_7697967"},
    },
}


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("The bookshelf is a white wood one, and the 750ml bottle is black.", False),
        ("A black 750ml Water Bottle and a white wood Bookshelf.", False),
        ("The bookshelf is white, unlike the black bottle.", False),
        ("The bookshelf is a black wood one, and the 750ml bottle is white.", True),
        ("The bottle is white and the bookshelf is black.", True),
    ],
)
def test_two_items_said_to_hold_each_others_colour(answer: str, wrong: bool) -> None:
    assert flagged(answer, ORDER, "get_order_details") is wrong


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("Your gift card holds a $64 balance, and you also have a PayPal account.", False),
        ("It's the gift card ($64.00) or PayPal.", False),
        ("Your PayPal account and your $64 gift card are on file.", False),
        ("Your PayPal account holds a $64 balance, and you also have a gift card.", True),
        ("There's $64 in your PayPal account.", True),
    ],
)
def test_a_method_without_a_balance_said_to_hold_anothers(answer: str, wrong: bool) -> None:
    assert flagged(answer, ACCOUNT, "get_user_details") is wrong
