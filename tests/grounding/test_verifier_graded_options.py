"""An option an object holds a grade of ("water resistance": "IPX7") is one it has: denying it
("they aren't water resistant") contradicts the record, read in its own clause even after a
condition set off by a comma ("if you planned to swim with them, note …"); a condition around
the mention itself states nothing, and a key graded differently across objects ("processor":
"i5", "i7") names a choice, not an option had or lacked."""

from __future__ import annotations

import pytest

from tests.grounding.common import flagged

ORDER = {
    "order_id": "#W3358610",
    "status": "pending",
    "items": [
        {"name": "Bicycle", "price": 1814.72, "options": {"color": "red", "type": "mountain"}},
        {
            "name": "Wireless Earbuds",
            "price": 258.97,
            "options": {"color": "blue", "water resistance": "IPX7"},
        },
    ],
}
LAPTOP = {
    "name": "Laptop",
    "product_id": "4760268021",
    "variants": {
        "1": {"item_id": "1", "options": {"processor": "i5"}, "available": False, "price": 2749.56},
        "2": {"item_id": "2", "options": {"processor": "i7"}, "available": True, "price": 2999.0},
    },
}


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("The earbuds are water resistant (IPX7).", False),
        ("If you planned to swim with them, the earbuds are water resistant.", False),
        ("If the earbuds were not water resistant, you could return them.", False),
        ("The earbuds aren't water resistant.", True),
        ("If you planned to swim with them, note the earbuds aren't water resistant.", True),
    ],
)
def test_a_graded_option_denied(answer: str, wrong: bool) -> None:
    assert flagged(answer, ORDER) is wrong


def test_a_key_graded_differently_is_a_choice() -> None:
    said = "The laptop with the i5 processor is currently unavailable; it lists at $2749.56."
    assert not flagged(said, LAPTOP, "get_product_details")
