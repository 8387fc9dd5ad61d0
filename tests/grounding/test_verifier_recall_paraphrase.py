"""Facts said in other words: a value set aside by "rather than", a set that leaves out the
one named before it ("every other variant"), a denial that bears on the phrase it opens and not
on the next, "they"/"neither" for the one record in view, denials said as idioms ("off the
table", "has left the pending stage"), a rule's cases narrowed with "only … when" or "can't …
unless", a hyphenated value with another first part ("over-ear" for "on-ear"), and two prices
said to be the same. Each near miss must be caught and each faithful paraphrase must pass,
double negations and clause boundaries included."""

from __future__ import annotations

from typing import Any

import pytest

from tests.grounding.common import contradicted, on_record, on_text

ORDER: dict[str, Any] = {
    "order_id": "#R200",
    "status": "delivered",
    "items": [
        {"name": "Travel Mug", "item_id": "1", "price": 24.5,
         "options": {"colour": "blue", "lid": "standard"}},
        {"name": "Desk Chair", "item_id": "2", "price": 310.0,
         "options": {"armrest": "none", "backrest": "standard"}},
    ],
}  # fmt: skip
PENDING: dict[str, Any] = {
    "order_id": "#R201",
    "status": "pending",
    "items": [
        {"name": "Headphones", "item_id": "7", "price": 99.0,
         "options": {"fit": "on-ear", "connection": "wireless"}},
    ],
}  # fmt: skip
LAMP: dict[str, Any] = {
    "name": "Desk Lamp",
    "product_id": "lamp-1",
    "variants": {
        "51": {"item_id": "51", "options": {"shade": "metal", "colour": "black"},
               "available": True, "price": 40.0},
        "52": {"item_id": "52", "options": {"shade": "metal", "colour": "white"},
               "available": True, "price": 40.0},
        "53": {"item_id": "53", "options": {"shade": "fabric", "colour": "black"},
               "available": True, "price": 46.0},
        "54": {"item_id": "54", "options": {"shade": "fabric", "colour": "blue"},
               "available": False, "price": 48.0},
    },
}  # fmt: skip
SWAPS = (
    "Swapping received items\n"
    "Items from an order whose status is **delivered** can be exchanged for another variant of "
    "the **same product**, such as a different size or colour, provided that variant is "
    "available. Exchanging for a different kind of product is not possible; for that, return "
    "the item instead."
)
PEOPLE = (
    "Talking to a colleague\n"
    "We pass the conversation to a colleague in two cases only:\n"
    "- your request is something the desk cannot do within these services, or\n"
    "- you ask to speak with a person.\n"
    "A colleague then continues from a short summary of your request."
)


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("The travel mug is red rather than blue.", True),
        ("The travel mug is red instead of blue, with a standard lid.", True),
        ("The travel mug is blue rather than red.", False),
        ("Rather than red, the travel mug is blue.", False),
        ("The travel mug is blue as opposed to red; its lid is standard.", False),
    ],
)
def test_a_value_set_aside_by_a_contrast_is_denied_not_said(answer: str, flagged: bool) -> None:
    v = on_record(answer, ORDER)
    assert contradicted(v, "swap") is flagged, v.claims
    assert v.flagged is flagged, v.claims


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("The fabric lamp with a blue shade is sold out; every other variant is available.", False),
        ("The blue fabric lamp is sold out, but all the other variants are available.", False),
        ("Every variant is available.", True),
        ("The black metal lamp is sold out; every other variant is available.", True),
    ],
)
def test_every_other_variant_leaves_out_the_one_named_before(answer: str, flagged: bool) -> None:
    assert on_record(answer, LAMP).flagged is flagged


def test_every_other_variant_still_counts_the_rest() -> None:
    two_out = {**LAMP, "variants": {**LAMP["variants"]}}
    two_out["variants"]["53"] = {**LAMP["variants"]["53"], "available": False}
    v = on_record("The blue fabric lamp is sold out; every other variant is available.", two_out)
    assert contradicted(v, "flag"), v.claims


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("The desk chair has no armrests and a standard backrest.", False),
        ("The desk chair has no armrests, but a standard backrest.", False),
        ("The desk chair has no armrests and no standard backrest.", True),
        ("The desk chair doesn't have a standard backrest.", True),
    ],
)
def test_a_denial_bears_on_its_own_phrase_not_the_next(answer: str, flagged: bool) -> None:
    assert on_record(answer, ORDER).flagged is flagged


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("Both were paid by card, but neither has been delivered yet.", True),
        ("Neither has arrived yet.", True),
        ("They haven't been cancelled.", False),
        ("Neither of them has been cancelled.", False),
        ("They have both been delivered.", False),
    ],
)
def test_they_and_neither_speak_of_the_one_record_in_view(answer: str, flagged: bool) -> None:
    v = on_record(answer, ORDER)
    assert contradicted(v, "status") is flagged, v.claims


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("It has left the pending stage.", True),
        ("It is already past the pending stage; it has shipped.", True),
        ("It hasn't left the pending stage.", False),
        ("Its status has not yet moved past the pending stage.", False),
    ],
)
def test_a_state_left_behind_is_a_state_denied(answer: str, flagged: bool) -> None:
    assert on_record(answer, PENDING).flagged is flagged


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("Because your order was delivered, an exchange is off the table.", True),
        ("An exchange is out of the question for a delivered order; return it instead.", True),
        ("Since it was delivered, an exchange isn't off the table.", False),
        ("A different kind of product is off the table; return the item for that.", False),
    ],
)
def test_an_idiom_that_denies_is_read_as_a_denial(answer: str, flagged: bool) -> None:
    assert on_text(answer, SWAPS).flagged is flagged


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("I can't pass you on unless the request is beyond our services.", True),
        ("We only pass you to a colleague when the desk cannot handle the request; asking isn't enough.", True),
        ("I can't pass you on unless you ask for a person or the desk can't do your request.", False),
        ("We pass you on whenever you ask to speak with a person, even if the desk could do it.", False),
    ],
)  # fmt: skip
def test_a_rule_narrowed_to_one_of_its_cases_is_caught(answer: str, flagged: bool) -> None:
    v = on_text(answer, PEOPLE)
    assert contradicted(v, "scope") is flagged, v.claims


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("The order holds over-ear wireless Headphones.", True),
        ("The Headphones are in-ear and wireless.", True),
        ("The order holds on-ear wireless Headphones.", False),
        ("The Headphones are on-ear, not over-ear ones.", False),
        ("The Headphones are on-ear rather than over-ear.", False),
    ],
)
def test_a_hyphenated_value_with_another_first_part_is_a_swap(answer: str, flagged: bool) -> None:
    v = on_record(answer, PENDING)
    assert contradicted(v, "binding") is flagged, v.claims


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("The fabric lamp with a black shade ($46.00) costs the same as the black metal one.", True),
        ("The black metal lamp is as expensive as the fabric one with a black shade.", True),
        ("The black metal lamp costs the same as the white metal one.", False),
        ("The black fabric lamp doesn't cost the same as the black metal one.", False),
    ],
)  # fmt: skip
def test_two_prices_said_to_be_the_same_are_compared(answer: str, flagged: bool) -> None:
    v = on_record(answer, LAMP)
    assert contradicted(v, "binding") is flagged, v.claims


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("A larger size is fine if it's in stock.", False),
        ("Only variants of the same product can be exchanged; anything else needs a return.", False),
        ("A larger size is fine, and it ships with a free pair of insoles.", True),
    ],
)  # fmt: skip
def test_words_any_answer_may_use_add_nothing(answer: str, flagged: bool) -> None:
    v = on_text(answer, SWAPS)
    assert any(f.kind == "novel" for c in v.claims for f in c.findings) is flagged, v.claims
