"""Two kinds of fact an answer adds to a well-grounded sentence: a part the item is said to
come with, have or include, named in words no evidence uses ("the chair, which has a
built-in lumbar pump"), and a point in time when the evidence states none ("delivered on
Monday morning"). Near misses pass: parts the record names, parts said to be absent, parts
with an amount the amount checks judge, parts the customer named, "paid with"/"along with",
and times the evidence or the customer's own words state."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL
from tether.grounding.verifier import NEUTRAL

ORDER: dict[str, Any] = {
    "order_id": "#W7100002",
    "status": "delivered",
    "address": {"address1": "12 Elm Street", "city": "Austin", "state": "TX", "zip": "78701"},
    "items": [
        {"name": "Office Chair", "item_id": "11", "price": 544.29,
         "options": {"material": "mesh", "color": "red", "armrest": "adjustable"}},
        {"name": "Wristwatch", "item_id": "12", "price": 180.0,
         "options": {"strap material": "silicone", "dial color": "black"}},
    ],
    "fulfillments": [{"tracking_id": ["444712814730"], "item_ids": ["11", "12"]}],
    "payment_history": [
        {"transaction_type": "payment", "amount": 724.29, "payment_method_id": "paypal_1"}
    ],
}  # fmt: skip


def flagged(answer: str, question: str = "", record: dict[str, Any] | None = None) -> bool:
    evidence = [Evidence("tool:1", "tool:get_order_details", json.dumps(record or ORDER))]
    verifier = RETAIL.grounding.verifier()
    return verifier.verify_items(answer, evidence, question=question).flagged


@pytest.mark.parametrize(
    "answer",
    [
        "The red mesh chair, which has a built-in lumbar pump, costs $544.29.",
        "The red mesh chair comes with a footrest cushion and costs $544.29.",
        "Your wristwatch, complete with a leather travel pouch, was delivered.",
        "The wristwatch with its black dial and a spare metal bracelet was delivered.",
        "Your red mesh chair, including a matching floor mat, was delivered.",
    ],
)
def test_a_part_no_evidence_names_is_an_added_fact(answer: str) -> None:
    assert flagged(answer)


@pytest.mark.parametrize(
    ("answer", "question"),
    [
        # the record names the part
        ("The wristwatch, with its black dial and silicone strap, was delivered.", ""),
        ("Your red chair, which has adjustable armrests, was delivered.", ""),
        # a part said to be absent adds nothing
        ("The wristwatch was delivered, with no gift box recorded for it.", ""),
        # an amount is the amount checks' to judge
        ("Your order was delivered with the $544.29 chair in it.", ""),
        # how it was paid, and what came alongside, are no parts
        (
            "Both items were delivered, along with the chair's assembly guide you asked about.",
            "Did the assembly guide come with the chair?",
        ),
        # the customer named the part: the answer may refer to it
        (
            "Your red mesh chair, the one with the lumbar pump you mentioned, was delivered.",
            "Has my chair with the lumbar pump arrived?",
        ),
    ],
)
def test_a_part_the_evidence_or_the_customer_names_passes(answer: str, question: str) -> None:
    assert not flagged(answer, question)


@pytest.mark.parametrize(
    "answer",
    [
        "The chair and the wristwatch were delivered on Monday morning.",
        "Your order was delivered on a Saturday, to Austin.",
        "Both items were delivered the day after they shipped.",
        "You placed this order over the weekend, and it has been delivered.",
        "Your order was delivered last week, to 12 Elm Street in Austin.",
        "The chair was delivered to Austin in March, as was the wristwatch.",
        "Your order was delivered three days ago, under tracking number 444712814730.",
    ],
)
def test_a_time_no_evidence_states_is_an_added_fact(answer: str) -> None:
    assert flagged(answer)


def test_a_time_the_evidence_states_is_left_to_the_timing_checks() -> None:
    dated = {**ORDER, "delivered_on": "Monday 2026-11-30"}
    assert not flagged("The chair and the wristwatch were delivered on Monday.", record=dated)


@pytest.mark.parametrize(
    ("answer", "question"),
    [
        # the customer's own words name the time
        (
            "The order you placed on Friday has been delivered to Austin.",
            "I placed an order on Friday, has it arrived?",
        ),
        # denying a time, or putting it outside the rules, adds none
        ("Your order was delivered. I have no record of it coming on Monday.", ""),
        (
            "Your order was delivered. Holding it until Friday is a point our steps are silent on.",
            "",
        ),
        # no time at all: durations and "now" are not points in time
        ("Your order has been delivered and can be returned now.", ""),
    ],
)
def test_a_time_the_customer_names_or_denies_passes(answer: str, question: str) -> None:
    assert not flagged(answer, question)


def test_a_reported_time_is_not_the_customers_own() -> None:
    """What the customer says they were told is no evidence: repeating it adds the time."""
    question = "The agent said my order would be delivered on Friday. Was it?"
    assert flagged("Yes, your order was delivered on Friday, to Austin.", question)


def test_the_neutral_verifier_reads_the_same_additions() -> None:
    """The checks are domain-neutral: the default verifier (no pack) finds them too."""
    evidence = [Evidence("tool:1", "tool:get_order_details", json.dumps(ORDER))]
    verdict = NEUTRAL.verifier().verify_items(
        "The red mesh chair, which has a built-in lumbar pump, was delivered on Monday.",
        evidence,
    )
    reasons = " ".join(r for c in verdict.claims for r in c.reasons)
    assert "never names" in reasons and "states no time" in reasons


def test_a_number_in_a_record_is_no_year() -> None:
    """A record's "1500" pieces is a count, not a time the record states."""
    puzzle = {**ORDER, "items": [{"name": "Jigsaw Puzzle", "item_id": "13", "price": 46.0,
                                  "options": {"pieces": "1500", "theme": "animals"}}]}  # fmt: skip
    assert flagged("Your 1500-piece puzzle was delivered on the day it shipped.", record=puzzle)


def test_a_passage_that_dates_things_leaves_times_to_the_timing_checks() -> None:
    """Evidence stating a year speaks in time: a point it does not state is for the timing
    checks (and the model stage) to judge, not an addition by default."""
    museum = Evidence("kb:museum#0", "kb://museum", "The museum opened in 1901. It holds maps.")
    verdict = NEUTRAL.verifier().verify_items("The museum holds maps and opens this winter.",
                                              [museum])  # fmt: skip
    assert not any("states no time" in r for c in verdict.claims for r in c.reasons)
