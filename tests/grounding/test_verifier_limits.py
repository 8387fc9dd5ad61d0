"""What the evidence allows, said wider: "you can renew for any reason" against "give one of
these two reasons", and "you can swap it for a different title, such as …" against "swapping
for a different title is not possible". Denials, "any other", "any of", conditions and
questions name no such freedom and must stay supported. And an addition made after a
condition the evidence grounds ("if the card has expired, store credit is issued")."""

from __future__ import annotations

import pytest

from tether.core.types import Evidence
from tether.grounding import HARD_KINDS, GroundingPack, VerifierConfig
from tether.grounding.meaning import clauses, denied_acts
from tether.grounding.universals import any_nouns
from tether.grounding.verifier import Verification

LOANS = (
    "Renewing a loan\n"
    "To renew, give one of these two reasons: the book is still needed for a course, or no "
    "one else is waiting for it.\n"
    "We cannot record any other reason, so a renewal for a different reason is declined.\n"
    "A damaged book can be swapped only for another copy of the same title.\n"
    "Swapping for a different title is not possible; for that, return the book instead."
)


def on_text(answer: str, text: str = LOANS) -> Verification:
    pack = GroundingPack(config=VerifierConfig(strict=True, hard=(*HARD_KINDS, "polarity")))
    return pack.verifier().verify_items(answer, [Evidence("kb:1", "kb:1", text)])


def scoped(v: Verification) -> bool:
    return any("scope" in c.kinds for c in v.claims)


@pytest.mark.parametrize(
    "answer",
    [
        "You can renew for any reason you like.",
        "Sure, any reason is fine for a renewal.",
        "A damaged book can be swapped for any title on the shelf.",
        "You can renew it, and any reason will do.",  # the freedom in a second clause
    ],
)
def test_any_member_where_the_evidence_limits_which_is_contradicted(answer: str) -> None:
    v = on_text(answer)
    assert v.flagged and scoped(v), v.claims


@pytest.mark.parametrize(
    "answer",
    [
        "We can't record any other reason for a renewal.",
        "Any other reason is declined.",
        "You can renew for any of the two reasons.",
        "If any reason besides those two applies, the renewal is declined.",
        "Do you have any reason from the list?",
        "You can return any book to the front desk.",  # books are not what the evidence limits
        "It can be swapped only for another copy of the same title.",
    ],
)
def test_denials_alternatives_conditions_and_other_nouns_stay_supported(answer: str) -> None:
    assert not scoped(on_text(answer)), on_text(answer).claims


def test_only_the_noun_after_any_is_read() -> None:
    assert any_nouns("You can pay with any card") == ["card"]
    assert any_nouns("You can't pay with any card") == []
    assert any_nouns("Ask again if any item is missing") == []
    assert any_nouns("Any more questions, or any other item?") == []


def test_an_example_or_a_proviso_is_a_clause_of_its_own() -> None:
    text = "You can swap it for a different title, such as a novel, as long as one is in stock."
    parts = [c.text.strip() for c in clauses(text)]
    assert parts == ["You can swap it for a different title", "a novel", "one is in stock."]


def test_not_possible_denies_the_act_it_is_said_of() -> None:
    assert denied_acts("Swapping for a different title is not possible") == {"swap"}
    assert denied_acts("Swapping for a different title is not cheap") == set()


@pytest.mark.parametrize(
    "answer",
    [
        "You can swap it for a different title, such as a novel, as long as one is in stock.",
        "Swapping it for a different title is possible, provided it is in stock.",
    ],
)
def test_an_act_the_evidence_says_is_not_possible_said_possible_is_contradicted(
    answer: str,
) -> None:
    v = on_text(answer)
    assert v.flagged and any("polarity" in c.kinds for c in v.claims), v.claims


@pytest.mark.parametrize(
    "answer",
    [
        "Swapping for a different title isn't possible, so return the book instead.",
        "If you want a different title, return the book rather than swap it.",
        "A damaged book can be swapped for another copy, as long as one is in stock.",
    ],
)
def test_the_act_denied_or_only_a_condition_on_it_stays_supported(answer: str) -> None:
    v = on_text(answer)
    assert not any("polarity" in c.kinds for c in v.claims), v.claims


REFUNDS = (
    "Where a refund goes\n"
    "Refunds go back to a payment method on your own account. If the card has expired, contact "
    "the bank that issued it; the refund still reaches the account behind the card."
)


@pytest.mark.parametrize(
    "answer",
    [
        "If the card has expired, store credit is issued automatically.",
        "Refunds go to your account; when the card has expired, a voucher gets mailed instead.",
    ],
)
def test_an_addition_after_a_grounded_condition_is_unsupported(answer: str) -> None:
    v = on_text(answer, REFUNDS)
    assert v.flagged and any(f.kind == "novel" for c in v.claims for f in c.findings), v.claims


@pytest.mark.parametrize(
    "answer",
    [
        "If the card has expired, contact the bank that issued it.",
        "If your card has expired, the refund still reaches the account behind it.",
        "When the card has expired, the bank that issued it can help.",
    ],
)
def test_what_the_evidence_says_after_the_condition_stays_supported(answer: str) -> None:
    v = on_text(answer, REFUNDS)
    assert not any(f.kind == "novel" for c in v.claims for f in c.findings), v.claims


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("A damaged book can be swapped up to twice.", True),  # the evidence says no 2
        ("A damaged book can be swapped only once.", False),
        ("A damaged book can't be swapped twice.", False),  # a denied count states none
    ],
)
def test_twice_is_a_count_the_evidence_must_state(answer: str, flagged: bool) -> None:
    v = on_text(answer, "Swaps\nA damaged book can be swapped only once, for a copy of its title.")
    assert any(c.decisive for c in v.claims) is flagged, v.claims
