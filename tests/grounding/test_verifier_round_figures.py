"""A round figure stands for an exact one only as its rounding: "49,000" of 49,400 and
"50,000" of 49,700, never "Suite 410" of Suite 400 (400 to the ten is 400)."""

from __future__ import annotations

import json

import pytest

from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL
from tether.grounding.claims import number_matches, rounds_to

ACCOUNT = {
    "user_id": "yara_li_8961",
    "address": {"address1": "713 Hillcrest Drive", "address2": "Suite 400", "city": "New York",
                "state": "NY", "zip": "10126"},
}  # fmt: skip


@pytest.mark.parametrize(
    ("figure", "exact", "rounding"),
    [(49_000, 49_400, True), (50_000, 49_700, True), (400, 410, True), (410, 400, False),
     (49_500, 49_400, False), (1_000, 990, True), (990, 1_000, False)],
)  # fmt: skip
def test_a_round_figure_is_a_rounding_of_the_exact_one(
    figure: int, exact: int, rounding: bool
) -> None:
    assert rounds_to(exact, figure) is rounding
    assert number_matches(float(figure), {float(exact)}) is rounding


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("Address on file: 713 Hillcrest Drive, Suite 410, New York, NY 10126.", True),
        ("Address on file: 713 Hillcrest Drive, Suite 400, New York, NY 10126.", False),
    ],
)
def test_a_suite_number_is_no_round_figure(answer: str, wrong: bool) -> None:
    evidence = [Evidence("tool:1", "tool:get_user_details", json.dumps(ACCOUNT))]
    assert RETAIL.grounding.verifier().verify_items(answer, evidence).flagged is wrong
