"""Amounts an answer works out from what the evidence states without saying their parts: the
difference of two amounts one evidence sentence gives ("the $120 blender … the $135 model":
"PayPal can pay the $15"), what one named item costs more than another ("the bike costs
$1,555.75 more than the earbuds"), the share of a total one item is ("about 85% of the
$3,422.45 total") and a fraction of a count ("just under half of the 19 versions"). Worked
out wrong, each stays unseen and the answer is flagged."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL
from tether.grounding.arithmetic import counted_share, sentence_results
from tether.grounding.evidence_set import EvidenceSet

QUESTION = (
    "I'm exchanging the $120 blender from my delivered order for the $135 model of the same "
    "blender. Can my gift card pay the difference?"
)
PASSAGE = (
    "passage 1: Paying the difference\nIf the new variant costs more or less, the difference "
    "is charged to, or refunded to, a payment method you choose from your account."
)
ORDER = {
    "order_id": "#W3358610",
    "status": "pending",
    "items": [
        {"name": "Bicycle", "price": 1814.72},
        {"name": "Wireless Earbuds", "price": 258.97},
        {"name": "Water Bottle", "price": 48.47},
    ],
    "payment_history": [{"transaction_type": "payment", "amount": 2122.16}],
}


def on_record(answer: str, record: dict[str, Any], tool: str = "get_order_details") -> bool:
    evidence = [Evidence("tool:1", f"tool:{tool}", json.dumps(record))]
    return RETAIL.grounding.verifier().verify_items(answer, evidence).flagged


def on_question(answer: str) -> bool:
    verifier = RETAIL.grounding.verifier()
    source = {"question": QUESTION, "passages": PASSAGE}
    evidence = EvidenceSet.from_source("qa", source, verifier.fields)
    return verifier.verify(answer, evidence, kind="qa").flagged


def test_one_sentence_gives_the_sums_and_differences_of_its_amounts() -> None:
    assert sentence_results("the $120 blender for the $135 model") == {15.0, 255.0}
    assert sentence_results("the $120 blender") == set()  # nothing to work out
    assert sentence_results("we have 3 stores and 12 staff") == set()  # counts are no money


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("Yes, a payment method you choose can pay the $15.", False),
        ("The new model costs fifteen dollars more, charged to a method you choose.", False),
        ("The difference comes to $25, charged to a method you choose.", True),
        ("The new model costs fourteen dollars more, charged to a method you choose.", True),
    ],
)
def test_a_difference_of_two_amounts_the_question_states(answer: str, flagged: bool) -> None:
    assert on_question(answer) is flagged


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("The bike costs $1,555.75 more than the earbuds.", False),
        ("The earbuds are $1,555.75 cheaper than the bicycle.", False),
        ("The bike costs $1,565.75 more than the earbuds.", True),
        ("The earbuds cost $1,555.75.", True),  # said as a price, it is not theirs
    ],
)
def test_what_one_named_item_costs_more_than_another(answer: str, flagged: bool) -> None:
    assert on_record(answer, ORDER) is flagged


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("The bicycle alone is about 86% of the $2,122.16 total.", False),
        ("The bicycle alone is 85.5% of the $2,122.16 total.", False),
        ("The bicycle alone is about 60% of the $2,122.16 total.", True),
        ("Some item is about 86% of the $2,122.16 total.", True),  # names no item
    ],
)
def test_the_share_of_a_total_a_named_item_is(answer: str, flagged: bool) -> None:
    assert on_record(answer, ORDER) is flagged


TWO_ITEMS = {
    "order_id": "#W2148041",
    "status": "processed",
    "items": [
        {"name": "Wireless Earbuds", "price": 257.38, "options": {"color": "black"}},
        {"name": "Vacuum Cleaner", "price": 620.07, "options": {"type": "robotic"}},
    ],
    "payment_history": [{"transaction_type": "payment", "amount": 877.45}],
}


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        # the whole a share is taken of, said after the second item, is no price of it
        ("The vacuum cost $362.69 more than the earbuds, about 2.4 times as much, and was about 71 % of the $877.45.", False),
        ("The vacuum cost $362.69 more than the earbuds, about 2.4 times as much, and was about 50 % of the $877.45.", True),
    ],
)  # fmt: skip
def test_the_whole_of_a_share_is_no_price(answer: str, flagged: bool) -> None:
    assert on_record(answer, TWO_ITEMS) is flagged


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        # the gap between two prices, said after the comparison it measures
        ("The vacuum is the pricier of the two by $362.69.", False),
        ("The vacuum is dearer by $362.69.", False),
        ("The earbuds are cheaper by about $362.69.", False),
        ("The vacuum is the pricier of the two by $352.69.", True),  # not the gap
        ("The earbuds are the cheaper of the two by $620.07.", True),  # the vacuum's price
        ("The vacuum is dearer by $257.38.", True),  # the earbuds' price, no gap
    ],
)
def test_a_gap_said_by_how_much_is_no_price(answer: str, flagged: bool) -> None:
    assert on_record(answer, TWO_ITEMS) is flagged


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("The vacuum accounts for about 71 % of what you paid.", False),
        ("The earbuds are about 29 per cent of what the order cost.", False),
        ("The vacuum accounts for about 81 % of what you paid.", True),
        ("The earbuds are about 71 % of what you paid.", True),  # the vacuum's share
        # the whole said in words
        ("The vacuum is about 71 % of the eight hundred seventy-seven dollars and forty-five "
         "cents you paid.", False),
        ("The vacuum is about 61 % of the eight hundred seventy-seven dollars and forty-five "
         "cents you paid.", True),
        # the part stated beside the share: $257.38 of $877.45 is 29 %
        ("The earbuds and the vacuum came to $877.45; the earbuds' $257.38 is about 29 % of "
         "what you paid.", False),
        ("The earbuds and the vacuum came to $877.45; the earbuds' $257.38 is about 39 % of "
         "what you paid.", True),
        # the total named first, the share of it after
        ("The vacuum is well over half the total, about 71 %.", False),
        ("The vacuum is well over half the total, about 81 %.", True),
        ("The vacuum is well over half of what you paid by card, about 71 %.", False),
        ("The vacuum is well over half of what you paid by card, about 61 %.", True),
        # a part and its whole stated, then the share of it
        ("The vacuum is $620.07 of the eight hundred seventy-seven dollars and forty-five "
         "cents, roughly 71 %.", False),
        ("The vacuum is $620.07 of the $877.45, roughly 61 %.", True),
        # the half and the share must agree: over half is more than 50 %
        ("The vacuum is well under half the total, about 71 %.", True),
        ("The earbuds are well over half the total, about 29 %.", True),
    ],
)  # fmt: skip
def test_a_share_of_what_was_paid(answer: str, flagged: bool) -> None:
    assert on_record(answer, TWO_ITEMS) is flagged


def test_half_of_a_count_comes_near_another_count() -> None:
    counts = {9.0, 19.0}
    assert counted_share(0.5, "just under half of the 19 versions can be ordered", counts)
    assert not counted_share(0.5, "half of its 19 versions", {4.0, 19.0})
    assert not counted_share(0.5, "half of the 20 versions", counts)  # not a count it gives


@pytest.mark.parametrize(
    ("available", "flagged"),
    [(4, False), (9, True)],  # half of 10 is about 4, not 9
)
def test_half_of_the_variants_of_a_product_record(available: int, flagged: bool) -> None:
    variants = {
        str(n): {"item_id": str(n), "options": {"size": str(n)}, "available": n <= available}
        for n in range(1, 11)
    }
    record = {"name": "Hiking Boots", "product_id": "736", "variants": variants}
    answer = "Just under half of the 10 versions can be ordered now."
    assert on_record(answer, record, "get_product_details") is flagged


COVERED = " A gift card that pays it must hold enough to cover the difference."
BOARDS = (
    "I'm swapping my $186.06 plastic board for the $217.06 bamboo one. My gift card has $40 "
    "on it. Can it pay the difference?"
)


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        # $217.06 - $186.06 = $31.00, worked out in one sentence; $40 - $31 in the next
        ("The bamboo board costs $31.00 more. Your gift card covers it: $40, with $9 to spare.", False),
        ("The bamboo board costs $31.00 more.\n- Gift card: $40 covers it, $9 left over", False),
        ("The bamboo board costs $31.00 more. Your gift card covers it: $40, with $19 to spare.", True),
        ("The bamboo board costs $31.00 more. Your gift card covers it: $40, with $8 to spare.", True),
        # a difference the sentence before got wrong grounds nothing after it
        ("The bamboo board costs $32.00 more. Your gift card covers it: $40, with $8 to spare.", True),
    ],
)  # fmt: skip
def test_an_amount_worked_out_from_one_the_claim_before_worked_out(
    answer: str, flagged: bool
) -> None:
    verifier = RETAIL.grounding.verifier()
    evidence = EvidenceSet.from_source(
        "qa", {"question": BOARDS, "passages": PASSAGE + COVERED}, verifier.fields
    )
    assert verifier.verify(answer, evidence, kind="qa").flagged is flagged
