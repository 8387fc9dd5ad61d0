"""A claim that denies one of the alternatives the evidence gives ("by e-mail or by name and
zip") while naming another it keeps ("name + zip is enough, no e-mail needed") chooses between
them; it does not flip the sentence. A claim that denies the act itself, or names both ways,
still does."""

from __future__ import annotations

import pytest

from tests.grounding.common import desk

LOOKUP = (
    "A user id on its own does not prove who you are, so we still look you up by e-mail or by "
    "name and zip."
)


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("Name + zip is enough, no e-mail needed.", False),
        ("Your name and zip will do; we don't need your e-mail.", False),
        ("We can't look you up by e-mail or by name and zip.", True),
        ("We don't look you up by e-mail or by name and zip.", True),
        ("We still look you up by name and zip, not by e-mail.", True),
    ],
)
def test_one_alternative_denied(answer: str, wrong: bool) -> None:
    assert desk(answer, LOOKUP).flagged is wrong
