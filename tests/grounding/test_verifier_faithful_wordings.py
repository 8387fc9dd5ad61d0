"""Faithful answers in wordings a checker may misread, each beside the near miss it must still
catch: a possessive before a name ("the men's 30ml perfume" has no size S), a list denied as a
whole ("with no gift card or PayPal account beside it"), a name said only to be set aside
("rubber, not EVA"), a half the claim bears out ("just under half what the helmet does",
"fourteen variants and exactly half of them, seven"), a difference in cents ("25 cents
less"), a superlative among "those two" the clause does not name, and a one-letter value a
record holds ("size M")."""

from __future__ import annotations

from typing import Any

import pytest

from tests.grounding.common import on_tool
from tether.grounding.verifier import Verification

ORDER: dict[str, Any] = {
    "order_id": "#W9980894",
    "status": "delivered",
    "items": [
        {"name": "Perfume", "item_id": "1", "price": 250.0,
         "options": {"scent family": "oriental", "size": "30ml", "gender": "men"}},
        {"name": "Cycling Helmet", "item_id": "2", "price": 206.26,
         "options": {"size": "M", "color": "blue", "ventilation": "high"}},
        {"name": "Electric Kettle", "item_id": "3", "price": 102.02,
         "options": {"capacity": "1.5L", "material": "ceramic"}},
    ],
    "payment_history": [{"transaction_type": "payment", "amount": 558.28}],
}  # fmt: skip
SHOES: dict[str, Any] = {
    "order_id": "#W1842597",
    "status": "delivered",
    "items": [{"name": "Running Shoes", "item_id": "4", "price": 147.05,
               "options": {"size": "9", "color": "yellow", "sole": "rubber"}}],
}  # fmt: skip
ACCOUNT: dict[str, Any] = {
    "user_id": "ivan_kim_7727",
    "payment_methods": {"credit_card_1": {"source": "credit_card", "brand": "visa",
                                          "last_four": "6545"}},
    "orders": ["#W6443279", "#W2493472"],
}  # fmt: skip


def _variant(n: int, color: str, size: str, price: float, available: bool) -> dict[str, Any]:
    options = {"color": color, "screen size": size, "storage": "128GB"}
    return {"item_id": f"80{n:02d}", "options": options, "price": price, "available": available}


TABLET: dict[str, Any] = {
    "name": "Tablet",
    "product_id": "8024098596",
    "variants": {
        v["item_id"]: v
        for v in (
            _variant(1, "black", "10-inch", 951.21, False),
            _variant(2, "gold", "10-inch", 950.96, True),
            *(_variant(3 + n, "silver", f"{7 + n % 3}-inch", 900.0 + n, n % 2 == 0)
              for n in range(12)),
        )
    },
}  # fmt: skip


def verified(answer: str, record: dict[str, Any], tool: str) -> Verification:
    return on_tool(answer, record, tool)


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("Delivered: the men's 30ml oriental perfume and the blue size M helmet.", False),
        ("Delivered: the women's 30ml oriental perfume.", True),
        ("Delivered: the blue size L helmet.", True),
        ("The kettle costs just under half what the helmet does.", False),
        ("The kettle costs half what the helmet does.", False),
        ("The kettle costs just over half what the helmet does.", True),
        # "those two" names no pair: the helmet is dearer than the kettle, not than all
        ("The helmet and the kettle came together. Of those two, the helmet is the dearer.",
         False),
        ("Of the helmet and the kettle, the kettle is the dearer.", True),
    ],
)  # fmt: skip
def test_an_order_said_in_wordings_easy_to_misread(answer: str, flagged: bool) -> None:
    assert verified(answer, ORDER, "get_order_details").flagged is flagged


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("Delivered. One pair, $147.05. Sole: rubber, not EVA.", False),
        ("Delivered. One pair, $147.05. The sole is rubber rather than EVA.", False),
        ("Delivered. One pair, $147.05. Sole: EVA.", True),
    ],
)
def test_a_name_said_only_to_be_set_aside_is_no_unseen_name(answer: str, flagged: bool) -> None:
    assert verified(answer, SHOES, "get_order_details").flagged is flagged


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("Your one payment method is a Visa ending in 6545, with no gift card or PayPal "
         "account beside it.", False),
        ("Your Visa ending in 6545 comes with a PayPal account beside it.", True),
    ],
)  # fmt: skip
def test_a_list_denied_as_a_whole_attaches_nothing(answer: str, flagged: bool) -> None:
    assert verified(answer, ACCOUNT, "get_user_details").flagged is flagged


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("The tablet comes in fourteen variants and exactly half of them, seven, can be "
         "ordered.", False),
        ("The tablet comes in fourteen variants and exactly half of them, eight, can be "
         "ordered.", True),
        ("The black 10-inch 128GB ($951.21) is unavailable, but the gold 10-inch 128GB is in "
         "stock and costs 25 cents less, $950.96.", False),
        ("The black 10-inch 128GB ($951.21) is unavailable, but the gold 10-inch 128GB is in "
         "stock and costs 35 cents less, $950.96.", True),
    ],
)  # fmt: skip
def test_a_half_and_a_difference_in_cents_the_claim_bears_out(answer: str, flagged: bool) -> None:
    assert verified(answer, TABLET, "get_product_details").flagged is flagged


READER: dict[str, Any] = {
    "order_id": "#W3698202",
    "status": "pending",
    "items": [
        {"name": "E-Reader", "item_id": "5", "price": 287.66,
         "options": {"screen size": "7-inch", "connectivity": "Wi-Fi + Cellular",
                     "storage": "64GB"}},
        {"name": "Grill", "item_id": "6", "price": 900.0, "options": {"type": "charcoal"}},
    ],
}  # fmt: skip


TABLETS: dict[str, Any] = {
    "order_id": "#W7111824",
    "status": "pending",
    "items": [
        {"name": "Espresso Machine", "item_id": "7", "price": 2794.7},
        {"name": "Tablet", "item_id": "8", "price": 1046.33},
        {"name": "Tablet", "item_id": "9", "price": 962.34},
    ],
}


@pytest.mark.parametrize(
    ("answer", "record", "flagged"),
    [
        # the whole first, then the share of it
        ("The perfume is the biggest part of the $558.28, about 45 %.", ORDER, False),
        ("The perfume is the biggest part of the $558.28, about 55 %.", ORDER, True),
        # a denial that the value is all there is
        ("E-reader: Wi-Fi + Cellular, not Wi-Fi only.", READER, False),
        ("E-reader: Wi-Fi only, not Wi-Fi + Cellular.", READER, True),
    ],
)  # fmt: skip
def test_sums_shares_and_denials_of_exclusivity(
    answer: str, record: dict[str, Any], flagged: bool
) -> None:
    assert verified(answer, record, "get_order_details").flagged is flagged


def test_a_sum_of_others_in_brackets_is_no_price_of_the_one_beside_it() -> None:
    said = "The espresso machine costs $786.03 more than the two tablets put together ($2,008.67)."
    v = verified(said, TABLETS, "get_order_details")
    assert not v.contradicted, v.claims
    # the same amount said as the machine's own price is another item's sum, not its price
    wrong = verified("The espresso machine costs $2,008.67.", TABLETS, "get_order_details")
    assert wrong.flagged
