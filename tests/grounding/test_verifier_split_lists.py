"""A member of what the evidence grants together, split off from the rest: "I can go through
your profile, but not the products inside your orders" where the evidence can tell the
customer about "your own profile, your orders and the products in them". Setting aside what no
member is, granting the whole list, or splitting a list of alternatives decides nothing."""

from __future__ import annotations

import pytest

from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL

VERIFIED = (
    "Verifying your identity\nBefore we look at any account, order or payment detail, we verify "
    "your identity. Once you are verified we can tell you about your own profile, your orders "
    "and the products in them, for example to help you find an order id."
)
REFUNDS = (
    "Where the refund goes\nA refund can only be paid to the payment method originally used for "
    "the order, or to a gift card that already exists on your account."
)

CHOICES = (
    "Refund destinations\nRefunds go to the original card, to a gift card, or to PayPal, and "
    "each is sent within five days."
)


def flagged(answer: str, passage: str = VERIFIED) -> bool:
    evidence = [Evidence("kb:1", "kb:policy", passage)]
    return RETAIL.grounding.verifier().verify_items(answer, evidence).flagged


@pytest.mark.parametrize(
    "answer",
    [
        "Once you're verified I can go through your profile, but not the products inside your "
        "orders.",
        "Once you're verified I can tell you about your orders, but not the products in them.",
        "After verification your own profile is open to me, but not your orders.",
        # set aside with "though not"
        "Once you're verified I can tell you about your profile and your orders, though not "
        "about the products in them.",
    ],
)
def test_a_member_set_aside_from_what_the_evidence_grants_together_is_caught(
    answer: str,
) -> None:
    assert flagged(answer)


@pytest.mark.parametrize(
    ("answer", "passage"),
    [
        ("Once you're verified I can tell you about your profile, your orders and the products "
         "in them.", VERIFIED),
        # what is set aside is no member of the list
        ("Once you're verified I can tell you about your orders, but not before.", VERIFIED),
        ("Once you're verified I can tell you about your orders, though not before.", VERIFIED),
        # alternatives: one may be kept and another set aside
        ("The refund can be paid to the payment method used for the order, but not to a gift "
         "card.", REFUNDS),
        ("Refunds go to the original card, but not to a gift card.", CHOICES),
    ],
)  # fmt: skip
def test_a_list_granted_whole_or_one_of_alternatives_passes(answer: str, passage: str) -> None:
    assert not flagged(answer, passage)
