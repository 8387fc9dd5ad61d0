"""A count the claim bears out itself, by listing that many members right after it ("you're
asking two things: whether …, and whether …"), is no figure the evidence must hold; a count
that checks out vouches for the claim's other counts, never for an amount beside it ("all
three items come to thirty-two hundred dollars and change" of a $3,422.45 order)."""

from __future__ import annotations

import json

import pytest

from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL
from tether.grounding.evidence_set import EvidenceSet
from tether.grounding.listed_counts import self_counted

QUESTION = (
    "Could I swap the boots for the same boots in size 8? And if the size 8 is sold out, "
    "could I exchange them for a pair of trail runners instead?"
)
PASSAGE = (
    "passage 1: Exchanging delivered items\nItems from an order whose status is delivered can "
    "be exchanged for another variant of the same product, such as a different size, provided "
    "that variant is available."
)
ORDER = {
    "order_id": "#W9015076",
    "status": "pending",
    "items": [
        {"name": "Digital Camera", "price": 2922.97},
        {"name": "Water Bottle", "price": 48.47},
        {"name": "Bookshelf", "price": 451.01},
    ],
    "payment_history": [{"transaction_type": "payment", "amount": 3422.45}],
}


def test_a_count_its_own_list_follows() -> None:
    both = "You're asking two things: whether the boots fit, and whether the runners do."
    assert self_counted(both) == {2.0}
    assert self_counted("You have two choices, the Visa or your gift card; nothing else.") == {2.0}
    assert self_counted(both.replace("two", "three")) == set()
    assert self_counted("You have two orders, and both shipped.") == set()


@pytest.mark.parametrize(
    ("said", "counted"),
    [
        # a few words between the noun and the colon; amounts inside the list
        ("Two places the $236.95 can go: the Visa ending 4417, or the gift card on file.", {2.0}),
        ("Two places the $236.95 can go: the Visa, the gift card or PayPal.", set()),
        # asides in brackets, and a closing remark that names no member
        ("It comes on two chairs, the blue fabric ($511.24) and the black leather ($503.76), "
         "both available.", {2.0}),
        ("It comes on three chairs, the blue fabric ($511.24) and the black leather ($503.76), "
         "both available.", set()),
        # the list before the colon and its count after
        ("Lei, Ahmed and 19128: the name-and-zip way, all three parts given.", {3.0}),
        ("Lei and 19128: the name-and-zip way, all three parts given.", set()),
        # as many amounts as the count
        ("All three are high-back, at $483.95, $508.21 and $510.10.", {3.0}),
        ("All four are high-back, at $483.95, $508.21 and $510.10.", set()),
    ],
)  # fmt: skip
def test_a_count_of_what_the_claim_lists_around_it(said: str, counted: set[float]) -> None:
    assert self_counted(said) == counted


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        (
            "You're asking two things: whether the boots can become a size 8, and whether "
            "they can become trail runners.",
            False,
        ),
        (
            "You're asking three things: whether the boots can become a size 8, and whether "
            "they can become trail runners.",
            True,
        ),
    ],
)
def test_a_restated_question_counts_its_own_parts(answer: str, flagged: bool) -> None:
    verifier = RETAIL.grounding.verifier()
    evidence = EvidenceSet.from_source(
        "qa", {"question": QUESTION, "passages": PASSAGE}, verifier.fields
    )
    assert verifier.verify(answer, evidence, kind="qa").flagged is flagged


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("All three items come to thirty-four hundred dollars and change.", False),
        ("All three items come to $3,422.45.", False),
        ("All three items come to thirty-two hundred dollars and change.", True),
        ("All three items come to $3,200.", True),
    ],
)
def test_a_count_that_holds_does_not_vouch_for_an_amount(answer: str, flagged: bool) -> None:
    evidence = [Evidence("tool:1", "tool:get_order_details", json.dumps(ORDER))]
    assert RETAIL.grounding.verifier().verify_items(answer, evidence).flagged is flagged
