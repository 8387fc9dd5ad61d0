"""A timing said in a clause that names no subject ("… the gift card refund: it's returned at
once") is borne out by what the sentence around it names, which never overrules it; and an
amount said roughly ("twelve hundred dollars or so") is one clause, not two."""

from __future__ import annotations

import pytest

from tests.grounding.common import MOVE
from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL
from tether.grounding.meaning import clauses


def flagged(answer: str) -> bool:
    evidence = [Evidence("kb:1", "kb:policy", MOVE)]
    return RETAIL.grounding.verifier().verify_items(answer, evidence).flagged


def test_or_so_joins_no_clause() -> None:
    said = "the gift card gets its twelve hundred dollars or so back immediately"
    assert [c.text for c in clauses(said)] == [said]
    assert len(clauses("it costs more, so we refund the rest")) == 2


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("You won't wait days for the gift card refund: it's returned at once.", False),
        (
            "The order stays pending, and the gift card gets its money or so back immediately.",
            False,
        ),
        (
            "You won't wait long for the gift card refund: it's returned within 5 to 7 business days.",
            True,
        ),
        ("The gift card refund comes back within 5 to 7 business days.", True),
    ],
)
def test_a_timing_is_read_with_the_subject_its_sentence_names(answer: str, wrong: bool) -> None:
    assert flagged(answer) is wrong
