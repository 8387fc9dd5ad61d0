"""Errors the checks used to let through on answers about evidence they were not tuned on, each
beside the faithful near-misses that must stay supported: a clause that adds a fact the
evidence never gives, a yes/no option of a listed item said the other way, a speed comparison
the evidence's timings reverse, a price picked out by the amount written beside it; and the
faithful answers that used to be flagged: the timing of a clause whose subject is a pronoun or
a record's value, a name said to be absent, one verb in its several forms."""

from __future__ import annotations

from typing import Any

import pytest

from tests.grounding.common import on_record, on_text
from tether.grounding.claims import norm

ORDER: dict[str, Any] = {
    "order_id": "#R100",
    "status": "processed",
    "items": [
        {"name": "Hiking Boots", "item_id": "1", "price": 244.34,
         "options": {"size": "7", "waterproof": "yes"}},
        {"name": "Action Camera", "item_id": "2", "price": 502.28,
         "options": {"colour": "silver", "waterproof": "no"}},
        {"name": "Wireless Earbuds", "item_id": "3", "price": 242.92,
         "options": {"battery life": "8 hours", "water resistance": "not resistant"}},
    ],
}  # fmt: skip
KEYBOARD: dict[str, Any] = {
    "name": "Keyboard",
    "product_id": "k-1",
    "variants": {
        "41": {"item_id": "41", "options": {"switch": "clicky", "size": "full", "light": "none"},
               "available": True, "price": 269.16},
        "42": {"item_id": "42", "options": {"switch": "clicky", "size": "full", "light": "white"},
               "available": True, "price": 244.91},
        "43": {"item_id": "43", "options": {"switch": "tactile", "size": "full", "light": "white"},
               "available": True, "price": 226.11},
    },
}  # fmt: skip
ACCOUNT: dict[str, Any] = {
    "user_id": "ann_1",
    "email": "ann.lee@example.com",
    "payment_methods": {"voucher_1": {"source": "voucher", "id": "voucher_1", "balance": 41.0}},
    "orders": ["#R100"],
}
PAYBACK = (
    "How long a payback takes\n"
    "- **Voucher:** the money is back on the voucher immediately.\n"
    "- **Bank transfer or Swish:** the payback takes 3 to 4 business days to arrive."
)
SWITCHED = (
    "Paying another way\n"
    "You can move the booking to one other payment method you already hold. The first "
    "payment is returned: at once to a voucher, or within 3 to 4 business days to a bank "
    "transfer or Swish."
)


def test_every_form_of_a_short_verb_is_one_word() -> None:
    assert len({norm(w) for w in ("move", "moves", "moved", "moving")}) == 1
    assert len({norm(w) for w in ("take", "takes", "taking")}) == 1
    assert len({norm(w) for w in ("use", "uses", "used", "using")}) == 1
    assert len({norm(w) for w in ("get", "gets", "getting")}) == 1
    # near-misses: a doubled consonant is another verb, and "note" never becomes "not"
    assert norm("hopping") != norm("hoping")
    assert norm("noted") == norm("note") != norm("not")


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("The hiking boots aren't waterproof.", True),
        ("The tracking is shared, but the boots aren't waterproof.", True),
        ("The action camera is waterproof.", True),
        ("The earbuds are water resistant.", True),
        ("The boots are waterproof leather, size 7.", False),
        ("The action camera in that order is not waterproof, I'm afraid.", False),
        ("Those earbuds are not water resistant.", False),
        ("If you need a waterproof camera, the boots are the only waterproof item.", False),
    ],
)
def test_a_yes_no_option_of_a_listed_item_is_read_with_its_polarity(
    answer: str, flagged: bool
) -> None:
    v = on_record(answer, ORDER)
    assert any("flag" in c.kinds for c in v.claims) is flagged, v.claims


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("The cafe does not offer reservations, outdoor seating, or WiFi.", False),
        ("The cafe has no WiFi or outdoor seating.", False),
        ("The cafe offers outdoor seating but not WiFi.", True),
    ],
)
def test_a_denied_list_denies_every_option_after_its_commas(answer: str, flagged: bool) -> None:
    cafe = {"name": "Cafe", "attributes": {"WiFi": "no", "Outdoor Seating": "no"}}
    v = on_record(answer, cafe)
    assert any(c.status == "contradicted" and "flag" in c.kinds for c in v.claims) is flagged


def test_a_choice_that_can_be_none_is_no_yes_no_option() -> None:
    # "light": "none" beside "white" names a choice; "white light" is not denied by it
    v = on_record("The tactile full-size keyboard with white light costs $226.11.", KEYBOARD)
    assert not any("flag" in c.kinds for c in v.claims), v.claims
    assert not v.flagged, v.claims


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        (
            "The clicky full keyboard ($269.16) is cheaper than the tactile full one with white light.",
            True,
        ),
        ("The clicky keyboard ($244.91) is cheaper than the clicky one at $269.16.", False),
        ("The tactile full one with white light is cheaper than the clicky one at $269.16.", False),
    ],
)
def test_the_price_written_beside_an_item_picks_it_among_alike_ones(
    answer: str, flagged: bool
) -> None:
    v = on_record(answer, KEYBOARD)
    assert any("binding" in c.kinds for c in v.claims) is flagged, v.claims
    assert v.flagged is flagged, v.claims


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("Swish paybacks are quicker than voucher paybacks; yours takes 3 to 4 days.", True),
        ("A voucher payback is slower than a bank transfer.", True),
        ("Voucher paybacks are quicker than Swish paybacks.", False),
        ("A bank transfer takes longer than a voucher.", False),
    ],
)
def test_a_speed_comparison_is_judged_by_the_timings_of_both_sides(
    answer: str, flagged: bool
) -> None:
    v = on_text(answer, PAYBACK)
    assert any("timing" in c.kinds for c in v.claims) is flagged, v.claims
    assert v.flagged is flagged, v.claims


@pytest.mark.parametrize(
    "answer",
    [
        # the clause names its subject only as "its": the sentence names it
        "Yes, a voucher would have been quicker: its paybacks arrive straight away.",
        # the evidence clause names the bank transfer and gives its timing
        "The first payment then comes back to your bank transfer within 3 to 4 business days.",
    ],
)
def test_a_timing_said_of_what_the_sentence_names_stays_supported(answer: str) -> None:
    passage = PAYBACK if "voucher" in answer else SWITCHED
    v = on_text(answer, passage)
    assert not v.flagged, v.claims


def test_a_stray_word_shared_with_one_list_item_does_not_pick_it() -> None:
    tied = (
        "How long a payback takes\n"
        "- **Gift voucher:** the money is back on the voucher immediately.\n"
        "- **Travel voucher:** the payback takes 3 to 4 business days to arrive."
    )
    # "back" is in the gift voucher's item only; both items are vouchers
    v = on_text("Your voucher payment comes back in 3 to 4 business days.", tied)
    assert not v.flagged, v.claims


def test_a_timing_said_of_the_other_member_is_still_contradicted() -> None:
    v = on_text("The first payment goes back to your bank transfer immediately.", SWITCHED)
    assert any("timing" in c.kinds for c in v.claims), v.claims
    assert v.flagged


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("The earbuds have 8 hours of battery life.", False),  # the record's value
        ("The earbuds have 12 hours of battery life.", True),
        ("The order is processed, and a colleague will call you within the hour.", True),
    ],
)
def test_a_timing_a_record_holds_as_a_value_is_supported(answer: str, flagged: bool) -> None:
    assert on_record(answer, ORDER).flagged is flagged


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("You have one order, #R100, and you're subscribed to our newsletter.", True),
        (
            "The waterproof Hiking Boots in size 7 cost $244.34 and come with a two-year warranty.",
            True,
        ),
        (
            "The Wireless Earbuds in order #R100 have 8 hours of battery life and active noise cancellation.",
            True,
        ),
        ("You have one order, #R100, and the e-mail on file is ann.lee@example.com.", False),
        ("The boots cost $244.34 and come in size 7.", False),
        ("You have one order, and it is processed.", False),
    ],
)
def test_a_clause_joined_by_and_that_adds_a_fact_is_unsupported(answer: str, flagged: bool) -> None:
    record = {**ORDER, **ACCOUNT} if "order" in answer else ORDER
    v = on_record(answer, record)
    added = any("never uses" in r for c in v.claims for r in c.reasons)
    assert added is flagged, v.claims
    assert v.flagged is flagged, v.claims


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("There's no Visa or PayPal saved, only the voucher.", False),
        ("You paid with PayPal.", True),
        ("No, PayPal was used.", True),
    ],
)
def test_a_name_said_to_be_absent_is_not_a_name_the_answer_adds(answer: str, flagged: bool) -> None:
    assert on_record(answer, ACCOUNT).flagged is flagged


FLOOR = (
    "Paying another way\n"
    "A voucher must have enough balance to pay the whole booking total. The booking stays "
    "confirmed."
)


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("Yes, and the voucher balance can even be lower than the booking total.", True),
        ("The voucher only needs to cover part of the booking total.", True),
        ("The voucher doesn't need to cover the whole booking total.", True),
        ("The voucher balance can't be lower than the booking total.", False),
        ("Your voucher must hold enough to pay the entire booking total.", False),
        ("The booking total can be lower than your voucher balance.", False),
    ],
)
def test_a_floor_the_evidence_sets_said_to_be_lower_is_contradicted(
    answer: str, flagged: bool
) -> None:
    v = on_text(answer, FLOOR)
    assert any("floor" in r for c in v.claims for r in c.reasons) is flagged, v.claims
    assert v.flagged is flagged, v.claims


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        # what is set against what the record says is named in saying no to it
        ("Order #R100 is processed rather than shipped, and the camera is silver.", False),
        ("The earbuds run off a battery rather than mains power and last 8 hours.", False),
        ("The boots are waterproof rather than merely splash-proof, and they're size 7.", False),
        ("The camera is silver rather than gunmetal grey, and it costs $502.28.", False),
        # near misses: what is set against words the evidence lacks is added, both sides; a
        # value set against the record's is still wrong; and a clause that adds several
        # things is still an addition with one of them contrasted
        ("The camera charges by cable instead of a dock, and it's silver.", True),
        ("The camera is grey rather than silver, and it costs $502.28.", True),
        (
            "The camera ships with a leather carrying case and a spare charger rather than "
            "batteries.",
            True,
        ),
    ],
)
def test_what_a_clause_sets_against_the_record_is_not_added(answer: str, flagged: bool) -> None:
    assert on_record(answer, ORDER).flagged is flagged


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("Order #R100 is shipped rather than processed.", True),
        ("Order #R100 has shipped instead of being processed.", True),
        ("Order #R100 is delivered as opposed to processed.", True),
        # near misses: the state the record holds, with another set aside
        ("Order #R100 is processed rather than shipped.", False),
        ("Order #R100 is still processed rather than delivered.", False),
    ],
)
def test_a_state_a_contrast_sets_aside_is_denied_not_claimed(answer: str, flagged: bool) -> None:
    """'Shipped rather than processed' says it is shipped: the record's state, named in setting
    it aside, does not make the clause hold."""
    assert on_record(answer, ORDER).flagged is flagged
