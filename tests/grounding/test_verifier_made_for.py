"""Who a catalogue item is made for is a closed class of the retail pack (men, women,
unisex): "the one for men" of a perfume whose gender option is women is a swap, as a wrong
material is; the value the record holds passes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL

ORDER: dict[str, Any] = {
    "order_id": "#W7000001",
    "status": "pending",
    "items": [
        {"name": "Perfume", "item_id": "1", "price": 120.5,
         "options": {"scent family": "fresh", "size": "100ml", "gender": "unisex"}},
        {"name": "Water Bottle", "item_id": "2", "price": 24.1,
         "options": {"capacity": "750ml", "color": "green"}},
    ],
    "payment_history": [{"transaction_type": "payment", "amount": 144.6}],
}  # fmt: skip


def flagged(answer: str) -> bool:
    evidence = [Evidence("tool:1", "tool:get_order_details", json.dumps(ORDER))]
    return RETAIL.grounding.verifier().verify_items(answer, evidence).flagged


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("The perfume is the 100ml fresh one for women.", True),
        ("It's a men's perfume, the fresh 100ml.", True),
        # the value the record holds
        ("The perfume is the 100ml fresh unisex one.", False),
        ("The perfume is fresh, 100ml and unisex.", False),
    ],
)
def test_who_an_item_is_made_for_is_a_closed_class(answer: str, wrong: bool) -> None:
    assert flagged(answer) is wrong
