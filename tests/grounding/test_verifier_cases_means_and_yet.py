"""Readings of a claim's grammar, each beside the near miss that must still be caught.

- A clause's opening case ("If the band isn't essential, …") is no part of what it says: its
  negation does not deny the availability said after it.
- A value said as the first part of its field's compound ("the metal-band versions") picks out
  the objects holding it.
- Words a domain's field map gives a field the record holds something in ("a single shipment"
  of an order's one fulfilment) are words the evidence uses.
- A payment denied of its means ("wasn't paid by credit card") says it was paid, by something
  else; a member of a closed class the record lists none of, denied ("no credit card or gift
  card on file"), says what the record says.
- "has yet to" denies what follows it, as "hasn't" does, and opens no modal or new clause.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.grounding.common import flagged, product

WATCH = product(
    "Smart Watch",
    ("color", "band material", "display"),
    ("4920090458", "black", "silicone", "AMOLED", False, 381.87),
    ("2860956907", "black", "silicone", "LCD", True, 315.61),
    ("1631806422", "black", "metal", "AMOLED", False, 339.85),
    ("9192177173", "gold", "metal", "LCD", False, 335.99),
    ("4900990404", "silver", "metal", "AMOLED", False, 336.71),
    ("5694328282", "gold", "leather", "AMOLED", True, 323.19),
    ("9408160950", "gold", "leather", "LCD", True, 381.26),
    ("1706622510", "black", "metal", "LCD", False, 328.67),
)


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (
            "If the band isn't essential, the black watch with a silicone band and LCD display "
            "is available for $315.61.",
            False,
        ),
        (
            "If the band isn't essential, the black watch with a silicone band and AMOLED "
            "display is available.",
            True,
        ),
        (
            "If you want gold, the gold watch with a metal band and LCD display isn't available.",
            False,
        ),
        (
            "If you want gold, the gold watch with a leather band and LCD display isn't available.",
            True,
        ),
    ],
)
def test_the_case_a_clause_opens_with_says_nothing(answer: str, wrong: bool) -> None:
    assert flagged(answer, WATCH, "get_product_details") is wrong


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("I'm sorry, none of the metal-band versions are available at the moment.", False),
        ("I'm sorry, none of the leather-band versions are available at the moment.", True),
    ],
)
def test_a_value_said_as_its_compounds_first_part(answer: str, wrong: bool) -> None:
    assert flagged(answer, WATCH, "get_product_details") is wrong


ONE_PARCEL: dict[str, Any] = {
    "order_id": "#W7387996",
    "user_id": "mia_garcia_4516",
    "items": [
        {
            "name": "Gaming Mouse",
            "product_id": "5713490933",
            "item_id": "5796612084",
            "price": 158.89,
            "options": {"color": "RGB", "sensor type": "optical", "connectivity": "wired"},
        }
    ],
    "status": "delivered",
    "fulfillments": [{"tracking_id": ["200246490130"], "item_ids": ["5796612084"]}],
    "payment_history": [
        {"transaction_type": "payment", "amount": 158.89, "payment_method_id": "paypal_9497703"}
    ],
}


def test_a_field_maps_words_are_the_evidences_where_the_field_holds_something() -> None:
    said = (
        "The mouse is the wired version, not a wireless one, with an optical sensor and the RGB "
        "colour option. It went out in a single shipment under tracking number 200246490130, "
        "and the full $158.89 was paid with PayPal."
    )
    assert not flagged(said, ONE_PARCEL)
    # the near miss: two parcels where the record holds one
    assert flagged(said.replace("a single shipment", "two shipments"), ONE_PARCEL)


def test_without_a_fulfilment_the_shipment_words_are_not_the_evidences() -> None:
    pending = {**ONE_PARCEL, "status": "pending", "fulfillments": []}
    assert flagged("It went out in a single shipment under its tracking number.", pending)


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("It wasn't paid by credit card.", False),
        ("It wasn't paid with a gift card; PayPal covered it.", False),
        ("It wasn't paid with PayPal.", True),
        ("It wasn't paid.", True),
        ("It hasn't been paid yet.", True),
    ],
)
def test_a_payment_denied_of_its_means(answer: str, wrong: bool) -> None:
    assert flagged(answer, ONE_PARCEL) is wrong


PAYPAL_ONLY: dict[str, Any] = {
    "user_id": "noah_patel_6952",
    "name": {"first_name": "Noah", "last_name": "Patel"},
    "email": "noah.patel1792@example.com",
    "payment_methods": {"paypal_3169710": {"source": "paypal", "id": "paypal_3169710"}},
    "orders": ["#W1845024", "#W7043598", "#W6111398"],
}


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (
            "Your account has one payment method saved: a PayPal account. There's no credit "
            "card or gift card on file.",
            False,
        ),
        ("No credit card or gift card is saved on your account.", False),
        ("There's no PayPal account on file.", True),
        ("There's no gift card or PayPal account on file.", True),
    ],
)
def test_a_class_member_the_record_lists_none_of(answer: str, wrong: bool) -> None:
    assert flagged(answer, PAYPAL_ONLY, "get_user_details") is wrong


@pytest.mark.parametrize(
    ("answer", "status", "wrong"),
    [
        ("It has yet to be delivered.", "delivered", True),
        (
            "Both items went out together, which the carrier has yet to bring to your door.",
            "delivered",
            True,
        ),
        ("Your order is yet to be delivered.", "pending", False),
        ("It was delivered, yet the refund is pending.", "delivered", False),
    ],
)
def test_yet_to_denies(answer: str, status: str, wrong: bool) -> None:
    assert flagged(answer, {**ONE_PARCEL, "status": status}) is wrong
