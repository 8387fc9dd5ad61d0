"""A denial right before "because" denies the reason ("though not because the original payment
is returned"): the reason is one clause with its denial, and flips the passage that gives it."""

from __future__ import annotations

import pytest

from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL
from tether.grounding.meaning import clauses

TIMES = (
    "passage 1: How long a refund takes\nThese timings apply when an order is cancelled and "
    "when the payment method of a pending order is changed, because the original payment is "
    "returned in both cases."
)


def test_a_denied_reason_is_one_clause() -> None:
    said = "Both follow those timings, though not because the payment is returned."
    assert [c.text.strip() for c in clauses(said)] == [
        "Both follow those timings",
        "not because the payment is returned.",
    ]
    kept = "Both follow those timings because the payment is returned."
    assert [c.text.strip() for c in clauses(kept)][-1] == "the payment is returned."


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (
            "Both follow those timings, because the original payment is returned in both cases.",
            False,
        ),
        ("Both follow those timings, not only because the original payment is returned.", False),
        ("Both follow those timings, though not because the original payment is returned.", True),
        ("They apply, but not because the original payment is returned in both cases.", True),
    ],
)
def test_a_reason_denied(answer: str, wrong: bool) -> None:
    evidence = [Evidence("kb:1", "kb:refunds", TIMES)]
    assert RETAIL.grounding.verifier().verify_items(answer, evidence).flagged is wrong
