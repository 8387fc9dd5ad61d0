"""Amounts an answer works out from amounts it states: a total of two prices, the difference
between two, what is left of a total. Worked out right, they are as grounded as the amounts
they come from; worked out wrong, or from amounts the claim does not state, they stay unseen
and the answer is flagged."""

from __future__ import annotations

import pytest

from tests.grounding.common import on_record
from tether.grounding.arithmetic import MOST_OPERANDS, worked_out

ORDER = {
    "order_id": "#W7156413",
    "status": "delivered",
    "items": [
        {"name": "Luggage Set", "price": 466.47},
        {"name": "Sneakers", "price": 189.50},
        {"name": "Bluetooth Speaker", "price": 315.20},
    ],
    "payment_history": [{"transaction_type": "payment", "amount": 971.17}],
}


def test_a_sum_or_a_difference_of_two_stated_amounts_is_worked_out() -> None:
    assert worked_out(504.70, [189.50, 315.20])  # a total
    assert worked_out(2.09, [199.42, 197.33])  # a difference
    assert worked_out(363.30, [3289.46, 3652.76])  # what is left of a total
    assert not worked_out(540.70, [189.50, 315.20])  # digits swapped
    assert not worked_out(504.71, [189.50, 315.20])  # a cent off
    assert not worked_out(504.70, [504.70])  # nothing to work it out from
    assert not worked_out(504.70, [])


def test_a_small_count_is_not_taken_for_a_sum() -> None:
    """ "two choices" beside "1 gift card" and "1 card": counts add up by chance."""
    assert not worked_out(2.0, [1.0, 1.0])
    assert not worked_out(5.0, [2.0, 3.0])


def test_a_claim_stating_many_amounts_works_out_none() -> None:
    """Among many amounts some pair adds up to almost anything; and trying every pair of a
    long list is quadratic in it (a 6 KB answer of amounts took seconds): past a handful of
    amounts, nothing is taken as worked out."""
    few = [189.50, 315.20, 10.0, 20.0, 30.0][:MOST_OPERANDS]
    assert worked_out(504.70, few)
    many = [*few, 40.0]
    assert len(many) > MOST_OPERANDS and not worked_out(504.70, many)


def test_an_amount_among_many_is_not_let_through_by_chance() -> None:
    """Six prices stated: a wrong total that happens to be two of them added is still unseen."""
    prices = (466.47, 189.50, 315.20, 54.99, 12.30, 88.00)
    record = {
        "order_id": "#W1",
        "items": [{"name": f"Item {n}", "price": p} for n, p in enumerate(prices)],
    }
    listed = ", ".join(f"${p:.2f}" for p in prices)
    wrong = f"The items cost {listed}, and you paid $655.97 in all."  # 466.47 + 189.50
    assert on_record(wrong, record).flagged
    assert not on_record(f"The items cost {listed}.", record).flagged


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        # worked out right: the amounts it comes from are the record's
        ("The sneakers ($189.50) and the speaker ($315.20) together came to $504.70.", False),
        ("The luggage set cost $466.47, which is $151.27 more than the $315.20 speaker.", False),
        ("Of the $971.17 you paid, $466.47 was the luggage set and $504.70 the rest.", False),
        # worked out wrong, or an amount the record never gives
        ("The sneakers ($189.50) and the speaker ($315.20) together came to $540.70.", True),
        ("The luggage set cost $466.47, which is $115.27 more than the $315.20 speaker.", True),
        ("The sneakers and the speaker together came to $504.70 after a $12.50 discount.", True),
        ("The sneakers ($189.50) came with a $25.00 voucher.", True),
    ],
)
def test_worked_out_amounts_pass_and_wrong_ones_are_flagged(answer: str, flagged: bool) -> None:
    assert on_record(answer, ORDER).flagged is flagged


SHORT_NAMES = {
    "order_id": "#W7156414",
    "status": "pending",
    "items": [
        {"name": "Pet Bed", "price": 208.32},
        {"name": "Electric Kettle", "price": 145.48},
        {"name": "Tea Set", "price": 61.0},
    ],
    "payment_history": [{"transaction_type": "payment", "amount": 414.8}],
}


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        # a name of short words is named by the whole of it
        ("The kettle and pet bed come to $353.80 between them.", False),
        ("The pet bed and the tea set cost $269.32 together.", False),
        ("The pet bed costs $62.84 more than the kettle.", False),
        # a total that is off, or one of members the claim never names, stays unseen
        ("The kettle and pet bed come to $354.80 between them.", True),
        ("The kettle and the bed come to $353.80.", True),
        ("The kettle and the set come to $206.48.", True),
    ],
)
def test_a_member_with_a_short_name_is_named_by_all_of_it(answer: str, flagged: bool) -> None:
    v = on_record(answer, SHORT_NAMES)
    assert v.flagged is flagged, v.claims


TWO_ITEMS = {
    "order_id": "#W7156415",
    "status": "pending",
    "items": [
        {"name": "Pet Bed", "price": 191.21},
        {"name": "Tablet", "price": 951.21},
        {"name": "Skateboard", "price": 204.14},
        {"name": "Standing Desk", "price": 410.0},
    ],
    "payment_history": [{"transaction_type": "payment", "amount": 1756.56}],
}


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        # 951.21 is 4.97 times 191.21; an amount said as a difference is no price
        ("The tablet costs roughly five times as much as the pet bed.", False),
        ("The tablet is $760 more than the pet bed, about five times the price.", False),
        ("The tablet costs just under five times as much as the pet bed.", False),
        ("The tablet costs 5x the price of the pet bed.", False),
        ("The tablet costs about eight times as much as the pet bed.", True),
        ("The tablet costs over five times as much as the pet bed.", True),
        ("The tablet is about seven times the price of the skateboard.", True),
        # half of an amount the claim states, near it as its bound allows
        ("The skateboard at $204.14 is just under half the $410.00 desk.", False),
        ("The skateboard at $204.14 is a bit over half the $410.00 desk.", True),
        ("The tablet at $951.21 is just under half the $1,756.56 you paid.", True),
        ("The skateboard at $204.14 is just under half the $459.30 it was listed with.", True),
    ],
)
def test_a_ratio_of_two_named_amounts_is_worked_out(answer: str, flagged: bool) -> None:
    v = on_record(answer, TWO_ITEMS)
    assert v.flagged is flagged, v.claims


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        # 951.21 - 191.21 = 760.00, and 951.21 - 204.14 = 747.07
        ("Cheapest: the pet bed at $191.21. Dearest: the tablet at $951.21, about $760 more.", False),
        ("The skateboard is $204.14. The tablet is $951.21, roughly $750 more.", False),
        ("The tablet at $951.21 costs about $750 more than the skateboard at $204.14.", False),
        # a round figure well off, one said exactly, and one of amounts two sentences back
        ("Cheapest: the pet bed at $191.21. Dearest: the tablet at $951.21, about $860 more.", True),
        ("The skateboard is $204.14. The tablet is $951.21, $750 more.", True),
        ("The skateboard is $204.14. The desk is $410.00. The tablet is $951.21, about $750 more.", True),
    ],
)  # fmt: skip
def test_a_rough_difference_is_worked_out_from_the_sentence_before(
    answer: str, flagged: bool
) -> None:
    v = on_record(answer, TWO_ITEMS)
    assert v.flagged is flagged, v.claims


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        # 951.21 - 191.21 = 760.00: the cheaper one is named by no word the record holds
        ("Cheapest: the pet bed at $191.21. Dearest: the tablet at $951.21, $760.00 more.", False),
        ("The cheapest is $191.21. The dearest is $951.21, just $760 more than the cheapest.",
         False),
        ("Lowest price: $191.21. The top one, at $951.21, costs $760.00 more.", False),
        # both amounts stated in the sentences just before, neither in its own
        ("The cheapest is $191.21. The dearest is $951.21. It's $760.00 more than that.", False),
        ("Dearest: the tablet, $951.21. Cheapest: the pet bed, $191.21. Both in stock, $760.00 "
         "apart.", False),
        # a figure off by cents or by more, and one whose parts were stated too far back
        ("The cheapest is $191.21. The dearest is $951.21, just $760.21 more.", True),
        ("Lowest price: $191.21. The top one, at $951.21, costs $770.00 more.", True),
        ("Dearest: the tablet, $951.21. Cheapest: the pet bed, $191.21. Both in stock, $760.21 "
         "apart.", True),
        ("The cheapest is $191.21. The skateboard is $204.14. The desk is $410.00. The dearest "
         "is $951.21. It's $760.00 more than the cheapest.", True),
    ],
)  # fmt: skip
def test_an_exact_difference_is_worked_out_from_the_sentences_before(
    answer: str, flagged: bool
) -> None:
    v = on_record(answer, TWO_ITEMS)
    assert v.flagged is flagged, v.claims
