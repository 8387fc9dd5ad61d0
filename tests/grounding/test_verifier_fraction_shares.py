"""A share said as a fraction ("the bicycle alone was $2,195.04, roughly three-quarters" of
"the $2,930.94") adds nothing when it is, to within a twentieth, the ratio of two amounts the
sentence states: its words say how much. A fraction the amounts do not bear out, or one said
of no amounts, stays words the evidence never uses."""

from __future__ import annotations

import pytest

from tests.grounding.common import on_record
from tether.grounding.arithmetic import fraction_worked_out

ORDER = {
    "order_id": "#W1000001",
    "status": "delivered",
    "items": [
        {"name": "Bicycle", "item_id": "1", "price": 1500.0},
        {"name": "Helmet", "item_id": "2", "price": 500.0},
    ],
    "payment_history": [{"transaction_type": "payment", "amount": 2000.0}],
}


def test_a_fraction_is_worked_out_from_two_amounts() -> None:
    assert fraction_worked_out("Of the $2,000, the bike alone was $1,500, roughly three-quarters")
    assert fraction_worked_out("the helmet, $500, is about a quarter of the $2,000")
    assert fraction_worked_out("the $500 helmet is a third of the $1,500 bike")
    assert not fraction_worked_out("Of the $2,000, the bike alone was $1,500, roughly half")
    assert not fraction_worked_out("roughly two-thirds of its 19 versions are available")


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("Of the $2,000.00, the Bicycle alone was $1,500.00, roughly three-quarters.", False),
        ("The Helmet, at $500.00, is about a quarter of the $2,000.00 you paid.", False),
        # a fraction the amounts do not bear out
        ("Of the $2,000.00, the Bicycle alone was $1,500.00, roughly two-thirds.", True),
        ("The Helmet, at $500.00, is nearly a half of the $2,000.00 you paid.", True),
    ],
)
def test_a_fraction_the_amounts_bear_out_adds_nothing(answer: str, wrong: bool) -> None:
    assert on_record(answer, ORDER).flagged is wrong
