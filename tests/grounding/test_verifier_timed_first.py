"""One of two things the evidence times said to come first (or last): "the PayPal refund
reaches you first" is wrong where a gift card's money is back at once and PayPal takes days,
when the answer or the question names the gift card too; ranges that overlap, a denial and a
thing no one names decide nothing."""

from __future__ import annotations

import pytest

from tether.domains.retail.pack import RETAIL
from tether.grounding.evidence_set import EvidenceSet
from tether.grounding.timing_comparisons import check_first

TIMES = (
    "passage 1: Refund times\n"
    "- **Voucher:** the money is back on the voucher at once.\n"
    "- **Bank transfer or PayPal:** it takes 3 to 5 business days to arrive."
)
BOTH = "I returned one order paid by voucher and one paid with PayPal. When do I get my money?"
ONE = "I returned an order paid with PayPal. When do I get my money?"


def flagged(answer: str, question: str = BOTH) -> bool:
    source = {"question": question, "passages": TIMES}
    return RETAIL.grounding.verifier().verify_source("qa", source, answer, "").flagged


@pytest.mark.parametrize(
    ("answer", "question", "wrong"),
    [
        ("Voucher: at once; PayPal: 3 to 5 business days. The PayPal one reaches you first.",
         BOTH, True),
        ("Of the two, the PayPal refund will be the first to arrive.", BOTH, True),
        ("The voucher money comes back last.", BOTH, True),
        # the one the evidence does time first, or last
        ("The voucher refund will be the first to land.", BOTH, False),
        ("Voucher: at once; PayPal: 3 to 5 business days. The voucher one reaches you first.",
         BOTH, False),
        ("The PayPal money comes back last, in 3 to 5 business days.", BOTH, False),
    ],
)  # fmt: skip
def test_the_one_said_to_come_first_is_the_one_timed_first(
    answer: str, question: str, wrong: bool
) -> None:
    assert flagged(answer, question) is wrong


def test_first_among_things_no_one_names_or_denied_decides_nothing() -> None:
    evidence = EvidenceSet.from_source("qa", {"question": ONE, "passages": TIMES}, ())
    said = "The PayPal refund arrives first."
    assert check_first(said, evidence.clauses, ONE) == []
    assert check_first(said, evidence.clauses, BOTH) != []
    assert check_first("The PayPal refund won't arrive first.", evidence.clauses, BOTH) == []
