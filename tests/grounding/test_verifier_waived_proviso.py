"""A condition a rule allows an act only under, said by the claim not to be needed ("a size 8
pair, which doesn't have to be in stock" against "provided that variant is available"),
contradicts the rule; saying it must hold, or saying the rule's own words, does not."""

from __future__ import annotations

import pytest

from tether.domains.retail.pack import RETAIL
from tether.grounding.evidence_set import EvidenceSet

QUESTION = (
    "The hiking boots from my delivered order are a size too small. Could I swap them for the "
    "same boots in size 8?"
)
RULE = (
    "Items from an order whose status is delivered can be exchanged for another variant of the "
    "same product, such as a different size or colour, provided that variant is available."
)


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("You can swap them for a size 8 pair, which has to be in stock.", False),
        ("Size 8 of the same boots is fine, provided it's available.", False),
        ("You can swap them for a size 8 pair, which doesn't have to be in stock.", True),
        ("The new variant does not need to be available for the exchange.", True),
    ],
)
def test_a_proviso_said_not_to_be_needed(answer: str, wrong: bool) -> None:
    verifier = RETAIL.grounding.verifier()
    source = {"question": QUESTION, "passages": f"passage 1: Exchanges\n{RULE}"}
    evidence = EvidenceSet.from_source("qa", source, verifier.fields)
    assert verifier.verify(answer, evidence, kind="qa").flagged is wrong
