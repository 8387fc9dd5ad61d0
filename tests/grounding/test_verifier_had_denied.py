"""A denial carried by a verb of having bears on what is had: "the colleague doesn't get a
summary of your request" flips "a colleague continues from a short summary of your request",
as "has no summary" does. What the evidence does deny, or a thing it never names, is not
flipped."""

from __future__ import annotations

import pytest

from tests.grounding.common import desk
from tether.grounding.meaning import denied_terms

HANDOFF = (
    "Speaking with a person\nWhen we transfer you, you are told that you are being transferred "
    "and asked to hold on; a colleague then continues from a short summary of your request, so "
    "you need not repeat it."
)


def test_what_a_verb_of_having_has_is_denied_with_it() -> None:
    assert {"get", "summary"} <= denied_terms("The colleague doesn't get a summary of it.")
    assert denied_terms("It does not move orders.") == {"move"}


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("The colleague doesn't get a summary of your request.", True),
        ("The colleague who picks up has no summary of your request.", True),
        ("The colleague gets a short summary of your request, so you need not repeat it.", False),
        ("The colleague doesn't get your request in full, only a short summary of it.", False),
    ],
)
def test_a_had_thing_denied(answer: str, flagged: bool) -> None:
    assert desk(answer, HANDOFF).flagged is flagged
