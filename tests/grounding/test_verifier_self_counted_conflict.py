"""A count a claim bears out itself by listing as many ("two options: the card you paid with,
or the voucher") is no number restated against the evidence sentence it echoes: where the
question says "a voucher with $15 on it", the claim is not said to change its numbers. A
count its own list does not bear out, or an amount changed, still is."""

from __future__ import annotations

import pytest

from tether.domains.retail.pack import RETAIL

RULE = (
    "passage 1: Where the refund goes\nA refund can only be paid to the payment method "
    "originally used for the order, or to a voucher that already exists on your account."
)
QUESTION = (
    "I paid with my PayPal, but I also have a voucher with $15 on it. Where can the refund go?"
)


def flagged(answer: str) -> bool:
    source = {"question": QUESTION, "passages": RULE}
    return RETAIL.grounding.verifier().verify_source("qa", source, answer, "").flagged


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("Two options: the PayPal you paid with, or the voucher already on your account "
         "(the one with $15 on it).", False),
        ("There are 2 choices: your PayPal, or the voucher with $15 on it.", False),
        # a count its list does not bear out, and an amount changed
        ("Three options: the PayPal you paid with, or the voucher already on your account "
         "(the one with $15 on it).", True),
        ("Two options: the PayPal you paid with, or the voucher already on your account "
         "(the one with $25 on it).", True),
    ],
)  # fmt: skip
def test_a_count_the_claim_lists_is_no_changed_number(answer: str, wrong: bool) -> None:
    assert flagged(answer) is wrong


COUNTED = (
    "passage 1: Changing a pending order\nWhile an order is pending we can change three things: "
    "where it ships, how it is paid for, and the options of its items."
)


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("While an order is pending we can change two things: where it ships and how it's paid.",
         True),
        ("While an order is pending we can change three things: where it ships, how it is paid "
         "for, and the options of its items.", False),
    ],
)  # fmt: skip
def test_a_listed_count_still_meets_the_count_it_restates(answer: str, wrong: bool) -> None:
    source = {"question": "Can I add an item to my pending order?", "passages": COUNTED}
    verdict = RETAIL.grounding.verifier().verify_source("qa", source, answer, "")
    assert verdict.flagged is wrong
