"""States said in other words. A parcel "on the truck", "in transit" or "awaiting delivery" is
shipped and not yet delivered, one that "reached you" is delivered (the retail pack's
lifecycle words); a variant that "can be ordered", is "ready to ship" or "on our shelves" is
available (the verifier's own availability words). Each is judged against the record as the
plain state word is; near misses (a refund that reached a card, a denial) are no state."""

from __future__ import annotations

from typing import Any

import pytest

from tests.grounding.common import flagged


def order(status: str) -> dict[str, Any]:
    return {
        "order_id": "#W7100003",
        "status": status,
        "items": [{"name": "Wall Clock", "item_id": "21", "price": 195.63,
                   "options": {"color": "black", "diameter": "14 inches"}}],
        "payment_history": [{"transaction_type": "payment", "amount": 195.63,
                             "payment_method_id": "credit_card_1"}],
    }  # fmt: skip


PRODUCT = {
    "name": "Headphones",
    "product_id": "9000000001",
    "variants": {
        "31": {"item_id": "31", "options": {"color": "blue", "type": "over-ear"},
               "available": False, "price": 342.81},
        "32": {"item_id": "32", "options": {"color": "red", "type": "over-ear"},
               "available": True, "price": 285.81},
    },
}  # fmt: skip


@pytest.mark.parametrize(
    "said", ["is on the truck to Austin", "is in transit", "is on its way", "is out for delivery"]
)
def test_a_parcel_on_its_way_is_shipped_not_pending_nor_delivered(said: str) -> None:
    answer = f"Your black wall clock {said}."
    assert flagged(answer, order("pending"))
    assert flagged(answer, order("delivered"))  # said of now: not yet delivered


@pytest.mark.parametrize("said", ["has left the warehouse", "has been dispatched", "has shipped"])
def test_a_parcel_that_has_left_is_past_pending(said: str) -> None:
    answer = f"Your black wall clock {said}."
    assert flagged(answer, order("pending"))
    assert not flagged(answer, order("delivered"))  # what it went through, true of it still


def test_a_parcel_that_reached_you_is_delivered() -> None:
    answer = "Your black wall clock has already reached you."
    assert flagged(answer, order("processed"))
    assert not flagged(answer, order("delivered"))
    # said not to have reached the customer, it is not delivered
    assert flagged("Your black wall clock hasn't reached you yet.", order("delivered"))


def test_a_refund_reaching_a_card_says_nothing_of_the_parcel() -> None:
    answer = "Your black wall clock is pending, and no refund has reached your card."
    assert not flagged(answer, order("pending"))


@pytest.mark.parametrize(
    "said",
    ["can be ordered", "is ready to ship", "is on our shelves now", "is ready to order",
     "is in stock"],
)  # fmt: skip
def test_a_variant_said_orderable_is_said_available(said: str) -> None:
    assert flagged(
        f"The blue over-ear headphones, $342.81, {said}.", PRODUCT, "get_product_details"
    )
    assert not flagged(f"The red over-ear headphones, $285.81, {said}.", PRODUCT,
                       "get_product_details")  # fmt: skip


def test_a_variant_said_not_orderable_is_said_unavailable() -> None:
    answer = "The blue over-ear headphones, $342.81, can't be ordered right now."
    assert not flagged(answer, PRODUCT, "get_product_details")
    answer = "The red over-ear headphones, $285.81, can't be ordered right now."
    assert flagged(answer, PRODUCT, "get_product_details")


@pytest.mark.parametrize("said", ["are available", "can be ordered", "are in stock"])
def test_a_count_of_variants_names_no_variant(said: str) -> None:
    """ "the 10 versions" counts them: it does not pick out variant 10 (whose id and size are
    both "10"), whatever words say it is in stock."""
    variants = {
        str(n): {"item_id": str(n), "options": {"size": str(n)}, "available": n <= 4}
        for n in range(1, 11)
    }
    record = {"name": "Hiking Boots", "product_id": "736", "variants": variants}
    answer = f"Just under half of the 10 versions {said} now."
    assert not flagged(answer, record, "get_product_details")
