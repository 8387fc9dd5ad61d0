"""A month and year the evidence never gives ("expiring 08/2027") is a fact it lacks, however
well the rest of the claim checks out (here: the one payment method and the orders there are
none of). The evidence giving it in another usual form ("2027-08", "8/27") backs it. And a count
of an account's things said with "got" ("you've got four orders") is checked as "have" is."""

from __future__ import annotations

from typing import Any

import pytest

from tests.grounding.common import flagged

USER: dict[str, Any] = {
    "user_id": "lucas_brown_7591",
    "name": {"first_name": "Lucas", "last_name": "Brown"},
    "email": "lucas.brown4474@example.com",
    "payment_methods": {
        "credit_card_5596164": {
            "source": "credit_card",
            "id": "credit_card_5596164",
            "brand": "visa",
            "last_four": "6096",
        }
    },
    "orders": [],
}
SAID = "There's one payment method saved, a Visa ending in 6096, expiring {}, and no orders yet."


@pytest.mark.parametrize("when", ["08/2027", "8/27", "12/2030"])
def test_a_month_and_year_the_evidence_never_gives_is_unsupported(when: str) -> None:
    assert flagged(SAID.format(when), USER, "get_user_details")


@pytest.mark.parametrize(
    ("expiry", "when"), [("08/2027", "08/2027"), ("2027-08", "08/2027"), ("08/2027", "8/27")]
)
def test_the_near_miss_the_evidence_gives_it(expiry: str, when: str) -> None:
    card = {**USER["payment_methods"]["credit_card_5596164"], "expiry": expiry}
    user = {**USER, "payment_methods": {"credit_card_5596164": card}}
    assert not flagged(SAID.format(when), user, "get_user_details")


def test_without_a_date_the_claim_still_checks_out() -> None:
    said = "There's one payment method saved, a Visa ending in 6096, and no orders yet."
    assert not flagged(said, USER, "get_user_details")


# a count said with "got" is a count as "have" says one
FIVE_ORDERS = {**USER, "orders": ["#W2922433", "#W8883368", "#W1170711", "#W7533832", "#W1430028"]}


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("You've got four orders with us.", True),
        ("You got four orders with us.", True),
        ("You've got five orders with us.", False),
    ],
)
def test_a_count_said_with_got(answer: str, wrong: bool) -> None:
    assert flagged(answer, FIVE_ORDERS, "get_user_details") is wrong
