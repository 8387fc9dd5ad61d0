"""Meaning the words alone miss: a variant no record holds, availability said of every
variant, an act the record shows done denied, a state change the evidence never gives, and a
rule whose scope moves to another state. Each check is attacked with faithful near-misses that
must stay supported."""

from __future__ import annotations

from typing import Any

import pytest

from tests.grounding.common import on_record, on_text
from tether.grounding.claims import content_terms
from tether.grounding.meaning import clauses
from tether.grounding.verifier import Verification

CHAIR: dict[str, Any] = {
    "name": "Desk Chair",
    "product_id": "c-1",
    "variants": {
        "11": {"item_id": "11", "options": {"color": "blue", "material": "leather",
               "size": "large"}, "available": True, "price": 310.0},
        "12": {"item_id": "12", "options": {"color": "blue", "material": "mesh",
               "size": "small"}, "available": False, "price": 180.0},
        "13": {"item_id": "13", "options": {"color": "red", "material": "mesh",
               "size": "large"}, "available": True, "price": 205.0},
        "14": {"item_id": "14", "options": {"color": "red", "material": "leather",
               "size": "small"}, "available": True, "price": 290.0},
    },
}  # fmt: skip
ROUTER: dict[str, Any] = {
    "name": "Router",
    "variants": {
        "21": {"item_id": "21", "options": {"band": "Wi-Fi", "storage": "64GB"}, "available": True},
        "22": {"item_id": "22", "options": {"band": "Wi-Fi + 5G", "storage": "128GB"},
               "available": True},
    },
}  # fmt: skip
ACCOUNT: dict[str, Any] = {
    "account_id": "A-77",
    "status": "active",
    "transactions": [{"transaction_type": "payment", "amount": 40.0}],
}
RULES = (
    "Statuses\n"
    "A subscription can be paused only while it is active. Once it has been suspended or "
    "closed, it can no longer be paused.\n"
    "After you confirm, the status becomes closed and the balance is returned."
)
STATUSES = (
    "What a status means\n"
    "- **active:** the plan is running. It can be paused.\n"
    "- **active (trial):** the first month. It cannot be paused.\n"
    "- **closed:** the plan has ended. It can no longer be paused."
)
PRIVACY = (
    "One person per conversation\n"
    "We cannot act on, or share details of, anyone else's account, even a partner's."
)


def kinds(v: Verification) -> set[str]:
    return {k for c in v.claims for k in c.kinds}


@pytest.mark.parametrize(
    "answer",
    [
        "The blue leather chair is a small one.",  # blue leather is large
        "The red mesh chair comes in small.",  # red mesh is large
        "The small blue chair is made of leather.",
    ],
)
def test_a_variant_no_record_holds_is_contradicted(answer: str) -> None:
    v = on_record(answer, CHAIR)
    assert v.flagged
    assert "binding" in kinds(v)


@pytest.mark.parametrize(
    "answer",
    [
        "The blue leather chair is large and costs $310.00.",
        "The red mesh chair is large.",
        "You can get it in blue or in red, in leather or mesh.",  # alternatives pick no one
        "There is no small red mesh chair.",  # a denial states no variant
        "It comes in blue leather (large) and blue mesh (small).",
    ],
)
def test_variants_that_exist_or_alternatives_stay_supported(answer: str) -> None:
    v = on_record(answer, CHAIR)
    assert "binding" not in kinds(v), v.claims


def test_a_value_said_inside_a_longer_one_is_not_said() -> None:
    # "Wi-Fi" inside "Wi-Fi + 5G" is not the other band: the 5G router has 128GB
    assert on_record("The Wi-Fi + 5G router has 64GB of storage.", ROUTER).flagged
    assert not on_record("The Wi-Fi + 5G router has 128GB of storage.", ROUTER).flagged


def test_availability_said_of_every_variant_is_judged_on_each() -> None:
    assert on_record("The blue chairs are all sold out.", CHAIR).flagged  # one is in stock
    assert on_record("Every red chair is out of stock.", CHAIR).flagged
    assert not on_record("All the red chairs are in stock.", CHAIR).flagged
    assert not on_record("Every large chair is available.", CHAIR).flagged


def test_availability_is_read_clause_by_clause() -> None:
    faithful = "The red leather chair is available; the blue mesh one isn't available."
    assert not on_record(faithful, CHAIR).flagged
    assert on_record("The red leather chair is available, but the blue mesh one is too.", CHAIR)


def test_a_denied_act_the_record_holds_is_contradicted() -> None:
    v = on_record("The account is active, but it hasn't been paid for yet.", ACCOUNT)
    assert v.flagged
    assert any(c.field and "transaction_type" in c.field for c in v.claims)


@pytest.mark.parametrize(
    "answer",
    [
        "The account is active, and it hasn't been refunded.",  # no refund in the record
        "A payment can't be made twice.",  # a rule, not an account of the record
        "The account is active and has been paid for.",
    ],
)
def test_denials_the_record_does_not_contradict_stay_supported(answer: str) -> None:
    v = on_record(answer, ACCOUNT)
    assert not any(c.field and "transaction_type" in c.field and c.kinds for c in v.claims)


def test_a_state_change_the_evidence_never_gives_is_contradicted() -> None:
    v = on_text("After you confirm, the status becomes suspended.", RULES)
    assert v.flagged and "swap" in kinds(v)
    assert on_text("Once you confirm, the subscription moves to suspended.", RULES).flagged


@pytest.mark.parametrize(
    "answer",
    [
        "After you confirm, the status changes to closed.",
        "Confirm, and the subscription becomes closed.",
        "The status does not change to suspended.",  # a denial names no new state
    ],
)
def test_state_changes_the_evidence_gives_stay_supported(answer: str) -> None:
    assert "swap" not in kinds(on_text(answer, RULES))


def test_a_sub_state_named_in_the_evidence_words_is_its_own() -> None:
    answer = "During the first month its status reads 'active (trial)'."
    assert "swap" not in kinds(on_text(answer, STATUSES, RULES))


@pytest.mark.parametrize(
    "answer",
    [
        "You can pause it while it is active or suspended.",  # suspended: no longer
        "A closed subscription can be paused.",
        "Only suspended subscriptions can be paused.",
        "Since it is suspended, it can still be paused.",
    ],
)
def test_a_rule_moved_to_another_state_is_contradicted(answer: str) -> None:
    v = on_text(answer, RULES)
    assert v.flagged and "scope" in kinds(v), v.claims


@pytest.mark.parametrize(
    "answer",
    [
        "You can pause it only while it is active.",
        "Only active subscriptions can be paused.",
        "Once it is closed, it can no longer be paused.",
        "Because it is suspended, it can't be paused.",
        "It is closed, so the balance is returned.",  # no rule stated
    ],
)
def test_rules_kept_in_scope_stay_supported(answer: str) -> None:
    assert "scope" not in kinds(on_text(answer, RULES))


def test_a_list_items_label_is_the_state_of_its_rules() -> None:
    assert "scope" in kinds(on_text("A closed plan can be paused.", STATUSES))
    assert "scope" not in kinds(on_text("An active plan can be paused.", STATUSES))


def test_a_clause_left_open_by_a_preposition_keeps_its_negation() -> None:
    text = "We cannot act on, or share details of, anyone else's account."
    assert len(clauses(text)) == 1
    assert not on_text("We can't share details of anyone else's account.", PRIVACY).flagged
    assert on_text("We can share details of anyone else's account.", PRIVACY).flagged


@pytest.mark.parametrize(
    "answer",
    [
        "Closed means the plan is running, so it can be paused.",
        "An active subscription is one whose plan has ended.",
    ],
)
def test_a_state_defined_with_another_states_meaning_is_contradicted(answer: str) -> None:
    v = on_text(answer, STATUSES)
    assert v.flagged and "scope" in kinds(v), v.claims


@pytest.mark.parametrize(
    "answer",
    [
        "'Active' means the plan is running.",
        "Closed means the plan has ended.",
        "A closed plan is one that has ended, so it can no longer be paused.",
    ],
)
def test_a_state_defined_as_the_evidence_does_stays_supported(answer: str) -> None:
    assert "scope" not in kinds(on_text(answer, STATUSES))


HANDOVER = (
    "Speaking with a person\n"
    "When we transfer you, a colleague continues from a short summary of your request, so you "
    "need not repeat it."
)


def test_a_short_clause_is_restated_when_its_sentence_holds_the_rest_of_the_claim() -> None:
    assert content_terms("You'll need it; we're sure that's so.") == ["need", "sure"]
    assert on_text("You'll need to repeat your request.", HANDOVER).flagged
    assert not on_text("You won't need to repeat your request.", HANDOVER).flagged
    assert not on_text("A colleague continues from a short summary.", HANDOVER).flagged


SHIPPED: dict[str, Any] = {
    "order_id": "#W200",
    "status": "delivered",
    "items": [{"name": "Garden Hose", "item_id": "5", "price": 95.08}],
    "fulfillments": [{"tracking_id": ["924275457125"], "item_ids": ["5"]}],
}


def test_a_state_word_is_not_counted_as_an_addition() -> None:
    faithful = "The items shipped together under tracking number 924275457125."
    assert not on_record(faithful, SHIPPED).flagged
    assert on_record("The hose shipped with complimentary engraved nozzles.", SHIPPED).flagged


def test_a_new_thing_where_the_evidence_says_an_existing_one_is_a_swap() -> None:
    refunds = (
        "For returned items you choose between the original card and a voucher you already have."
    )
    assert on_text("You choose between the original card and a new voucher.", refunds).flagged
    assert not on_text(
        "You choose between the original card and an existing voucher.", refunds
    ).flagged
    assert not on_text(
        "You choose between the original card and a voucher you already hold.", refunds
    ).flagged


IDENTITY = (
    "Verifying you\n"
    "Tell us your first name, your last name and the zip code of your address. If you already "
    "received it, see returns and exchanges instead."
)


def test_a_listed_member_replaced_by_words_the_evidence_never_uses_is_unsupported() -> None:
    assert on_text("Tell us your first name, last name and phone number.", IDENTITY).flagged
    assert not on_text("Tell us your first name, last name and zip code.", IDENTITY).flagged
    # not a list of short things: a clause and a list of two
    near_miss = "If it has already reached you, returns and exchanges are the way to go."
    assert not on_text(near_miss, IDENTITY).flagged


def test_a_listed_member_with_one_word_swapped_is_unsupported() -> None:
    kinds_of_payment = (
        "We accept three kinds of payment: vouchers, PayPal accounts and credit cards."
    )
    assert on_text("We accept vouchers, PayPal and debit cards.", kinds_of_payment).flagged
    assert not on_text("We accept vouchers, PayPal and credit cards.", kinds_of_payment).flagged
    lead_in = "Otherwise vouchers, PayPal and credit cards are fine."
    assert not on_text(lead_in, kinds_of_payment).flagged


def test_what_a_record_reads_now_is_not_a_state_change() -> None:
    assert "swap" not in kinds(on_text("Your plan reads 'suspended' right now.", RULES))
    assert "swap" in kinds(on_text("After you confirm, it will read 'suspended'.", RULES))


CANCELLING = (
    "Cancelling\n"
    "A booking can be cancelled only while it is pending. Once it has been processed, shipped "
    "or delivered, it can no longer be cancelled."
)


@pytest.mark.parametrize(
    ("answer", "moved"),
    [
        ("Cancellation is possible for pending and processed bookings.", True),
        ("Cancellation is only possible while the booking is pending.", False),
        ("Once it is processed, cancellation is no longer possible.", False),
        ("You can cancel it until it is delivered.", True),  # processed and shipped come first
        ("You can cancel it until it is processed.", False),
    ],
)
def test_possibility_and_until_are_read_as_rules(answer: str, moved: bool) -> None:
    assert ("scope" in kinds(on_text(answer, CANCELLING))) is moved


BULBS: dict[str, Any] = {
    "name": "Lamp",
    "variants": {
        "31": {"item_id": "31", "options": {"brightness": "60W equivalent", "tone": "daylight"},
               "available": True},
        "32": {"item_id": "32", "options": {"brightness": "100W equivalent", "tone": "warm white"},
               "available": False},
        "33": {"item_id": "33", "options": {"brightness": "60W equivalent", "tone": "warm white"},
               "available": True},
    },
}  # fmt: skip


def test_a_measures_leading_figure_names_its_value() -> None:
    assert on_record("The 100W daylight lamp is a good pick.", BULBS).flagged
    assert not on_record("The 100W lamp is warm white.", BULBS).flagged
    assert on_record("The 100W lamp is in stock.", BULBS).flagged


def test_a_quantifier_over_no_named_kind_judges_nothing() -> None:
    assert not on_record("Both are in stock.", BULBS).flagged  # both of some named before
    assert on_record("All variants are in stock.", BULBS).flagged
    assert not on_record("Both 60W lamps are in stock.", BULBS).flagged


BASKET: dict[str, Any] = {
    "order_id": "#W300",
    "status": "pending",
    "items": [
        {"name": "Grill", "item_id": "41", "price": 1031.0,
         "options": {"type": "electric", "size": "large", "features": "rotisserie"}},
        {"name": "Backpack", "item_id": "42", "price": 206.03,
         "options": {"color": "grey", "size": "small"}},
    ],
}  # fmt: skip


def test_an_unknown_word_among_a_named_items_description_is_unsupported() -> None:
    v = on_record("The Grill is a large gas grill with a rotisserie.", BASKET)
    assert v.flagged and any("gas" in r for c in v.claims for r in c.reasons)


@pytest.mark.parametrize(
    "answer",
    [
        "The Grill is a large electric grill with a rotisserie.",
        "It contains a large Grill, a lovely one.",  # a verb or a remark beside it, not inside
        "Your order holds a sturdy large Grill.",
    ],
)
def test_words_around_a_named_items_description_stay_supported(answer: str) -> None:
    v = on_record(answer, BASKET)
    assert not any("holds nothing" in r for c in v.claims for r in c.reasons), v.claims
