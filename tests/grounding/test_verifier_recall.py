"""Contradictions the checks used to let through, each beside the faithful near-misses that
must stay supported: record values written with a hyphen for a space, and a timing the
evidence gives for "the other" members of a class it has not named."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.grounding.common import on_record, on_text
from tether.core.types import Evidence
from tether.grounding import GroundingPack, VerifierConfig

LAMP: dict[str, Any] = {
    "name": "Desk Lamp",
    "product_id": "l-1",
    "variants": {
        "31": {"item_id": "31", "options": {"shade": "fabric cover", "base": "dark oak"},
               "available": True, "price": 41.5},
        "32": {"item_id": "32", "options": {"shade": "glass cover", "base": "dark oak"},
               "available": False, "price": 38.0},
        "33": {"item_id": "33", "options": {"shade": "glass cover", "base": "light oak"},
               "available": True, "price": 44.0},
    },
}  # fmt: skip
PAYOUTS = (
    "When a booking is cancelled\n"
    "The whole fare is paid back. Money paid with travel vouchers returns to the voucher "
    "straight away; other payment methods take 3 to 4 business days."
)


@pytest.mark.parametrize(
    "answer",
    [
        "The glass-cover lamp with the dark-oak base is available.",  # that one is sold out
        "The lamp with a glass-cover shade and a dark-oak base is in stock.",
        "The dark-oak lamp with the glass-cover shade costs $44.00.",  # no: 38.00
    ],
)
def test_a_value_written_with_hyphens_is_the_records_value(answer: str) -> None:
    v = on_record(answer, LAMP)
    assert v.flagged, v.claims


@pytest.mark.parametrize(
    "answer",
    [
        "The glass-cover lamp with the light-oak base is available.",
        "The fabric-cover lamp is in stock at $41.50.",
        "The glass cover lamp with the dark oak base is sold out.",
        "The dark-oak lamp with the glass-cover shade isn't available right now.",
    ],
)
def test_hyphenated_values_that_hold_stay_supported(answer: str) -> None:
    v = on_record(answer, LAMP)
    assert not v.flagged, v.claims


@pytest.mark.parametrize(
    "answer",
    [
        "The fare paid by card comes back in 3 to 4 business days.",
        "Your card payment is paid back in three to four business days.",
        "Unlike a travel voucher, which is refunded straight away, a card payment takes "
        "3 to 4 business days.",
        "Voucher money returns to the voucher straight away.",
    ],
)
def test_a_timing_given_for_the_rest_holds_for_what_the_evidence_did_not_name(
    answer: str,
) -> None:
    v = on_text(answer, PAYOUTS)
    assert not v.flagged, v.claims


@pytest.mark.parametrize(
    "answer",
    [
        "The fare paid by card comes back immediately.",
        "Card refunds take 10 business days.",
        "Money paid with travel vouchers takes 3 to 4 business days to return.",
    ],
)
def test_a_timing_the_rest_is_not_given_is_contradicted(answer: str) -> None:
    v = on_text(answer, PAYOUTS)
    assert v.flagged, v.claims
    assert any("timing" in c.kinds or "rule" in c.kinds for c in v.claims), v.claims


BASKET: dict[str, Any] = {
    "basket_id": "B-5",
    "items": [
        {"name": "Garden Hose", "item_id": "h-1", "price": 24.5, "options": {"color": "green"}},
        {"name": "Patio Heater", "item_id": "p-2", "price": 310.0, "options": {"color": "black"}},
    ],
}


@pytest.mark.parametrize(
    "answer",
    [
        "The heater is the pricier item at $310.00; the hose is $24.50.",
        "The hose is the cheaper item; the Patio Heater is $310.00.",
        "The hose is $24.50 and the heater is $310.00.",
        "The Garden Hose and the Patio Heater cost $24.50 and $310.00.",
        "The hose is green and the heater is black.",
    ],
)
def test_objects_named_by_their_last_word_keep_their_own_values(answer: str) -> None:
    v = on_record(answer, BASKET)
    assert not v.flagged, v.claims


@pytest.mark.parametrize(
    "answer",
    [
        "The hose is the pricier item; the heater is $310.00.",
        "The hose is $310.00 and the heater is $24.50.",
        "The Garden Hose is $310.00 and the Patio Heater is $24.50.",
        "The hose is black.",
    ],
)
def test_a_value_or_rank_given_to_the_wrong_object_is_contradicted(answer: str) -> None:
    v = on_record(answer, BASKET)
    assert v.flagged, v.claims


@pytest.mark.parametrize(
    "answer",
    [
        "The whole fare is paid back. Please tell me your booking reference and which seats "
        "you're giving up.",
        "Voucher money returns to the voucher straight away. Just send us the booking reference.",
        "Other payment methods take 3 to 4 business days. First, confirm the travellers' names.",
    ],
)
def test_a_request_for_details_is_not_a_claim(answer: str) -> None:
    v = on_text(answer, PAYOUTS)
    # the request gets no verdict of its own: only the statement before it is judged
    assert len(v.claims) == 1 and v.claims[0].status == "supported", v.claims
    # a desk at its own operating point lets the answer out (the aggregate's features still
    # count the request, as the aggregate was fitted with requests among the claims)
    desk = GroundingPack(config=VerifierConfig(operating_point=0.7, strict=True))
    evidence = [Evidence("kb:0", "kb:0", PAYOUTS)]
    assert not desk.verifier().verify_items(answer, evidence).flagged


@pytest.mark.parametrize(
    "answer",
    [
        "Please note that vouchers take 30 days.",  # a claim behind a polite opener
        "Tell me the reference and we'll upgrade your seat for free.",
        "Confirm the booking and the fare is refunded twice.",
        "Send us the reference; card refunds are immediate.",
    ],
)
def test_a_request_that_goes_on_to_claim_something_is_checked(answer: str) -> None:
    v = on_text(answer, PAYOUTS)
    assert v.claims and v.flagged, v.claims


DESTINATION = (
    "Where the payout goes\n"
    "A payout can only be made to the bank account the rent was paid from. We cannot send it "
    "to any other account or wallet."
)
GUESTS = (
    "One tenant per call\n"
    "You may ask anything about your own lease, but we cannot discuss anyone else's lease, "
    "even a flatmate's. We ask for your tenancy number even when you already know your unit "
    "code: a unit code on its own proves nothing."
)


@pytest.mark.parametrize(
    "answer",
    [
        "The payout can be sent to a different account if you ask.",
        "Sure, the payout can go to your new savings account.",
        "We can send it to another account for you.",
    ],
)
def test_an_act_allowed_for_what_the_evidence_rules_out_is_contradicted(answer: str) -> None:
    v = on_text(answer, DESTINATION)
    assert v.flagged and any("scope" in c.kinds for c in v.claims), v.claims


@pytest.mark.parametrize(
    "answer",
    [
        "We can't send the payout to a different account.",
        "The payout can only go to the account the rent was paid from, not to a new one.",
        "It goes back to the bank account you paid the rent from.",
        "No other account or wallet can receive it.",
    ],
)
def test_the_exclusion_restated_stays_supported(answer: str) -> None:
    v = on_text(answer, DESTINATION)
    assert not any("scope" in c.kinds for c in v.claims), v.claims
    assert not v.flagged, v.claims


@pytest.mark.parametrize(
    "answer",
    [
        "Since she's a flatmate, I can discuss her lease with you.",
        "Because you already know your unit code, we don't need the tenancy number.",
        "Since you know your unit code, we can skip the tenancy number.",
    ],
)
def test_a_reason_the_rule_disregards_is_contradicted(answer: str) -> None:
    v = on_text(answer, GUESTS)
    assert v.flagged and any("scope" in c.kinds for c in v.claims), v.claims


@pytest.mark.parametrize(
    "answer",
    [
        "Even for a flatmate, I can't discuss their lease.",
        "Since you know your unit code, we still need the tenancy number.",
        "Even though you know your unit code, I'll ask for your tenancy number.",
        "Since a unit code on its own proves nothing, I'll need your tenancy number.",
    ],
)
def test_the_rule_kept_despite_the_reason_stays_supported(answer: str) -> None:
    v = on_text(answer, GUESTS)
    assert not any("scope" in c.kinds for c in v.claims), v.claims
    assert not v.flagged, v.claims


def test_the_retail_pack_knows_every_material_of_its_catalogue() -> None:
    import gzip
    from importlib import resources

    from tether.domains.retail.grounding import MATERIALS

    raw = resources.files("tether.domains.retail").joinpath("data", "db.json.gz").read_bytes()
    products = json.loads(gzip.decompress(raw))["products"]
    used = {
        value.lower()
        for p in products.values()
        for v in p["variants"].values()
        for key, value in v["options"].items()
        if key.split()[-1] == "material"
    }
    assert used <= {m.lower() for m in MATERIALS}, used - {m.lower() for m in MATERIALS}


SKATE: dict[str, Any] = {
    "order_id": "#W900",
    "status": "delivered",
    "items": [
        {"name": "Skateboard", "item_id": "7", "price": 180.1,
         "options": {"deck material": "bamboo", "length": "28 inch"}},
        {"name": "Luggage Set", "item_id": "8", "price": 452.28,
         "options": {"material": "softshell", "color": "black"}},
    ],
}  # fmt: skip


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("The skateboard has a maple deck and is 28 inches long.", True),
        ("The Luggage Set is black and hardshell.", True),
        ("The skateboard has a bamboo deck and is 28 inches long.", False),
        ("The Luggage Set is a black softshell set.", False),
    ],
)
def test_the_retail_pack_reads_every_catalogue_material(answer: str, flagged: bool) -> None:
    from tether.domains.retail.grounding import RETAIL_GROUNDING

    evidence = [Evidence("tool:1", "tool:get_order_details", json.dumps(SKATE))]
    v = RETAIL_GROUNDING.verifier().verify_items(answer, evidence)
    assert v.flagged is flagged, v.claims


MEMBER: dict[str, Any] = {
    "member_id": "m-4",
    "bookings": ["#B1", "#B2"],
    "cards": {"loyalty_7": {"kind": "loyalty", "id": "loyalty_7"}},
    "complaints": [],
}


@pytest.mark.parametrize(
    "answer",
    [
        "You don't have any bookings with us.",
        "The member hasn't made any bookings yet.",
        "You do not have any cards saved.",
        "There are no bookings on this membership.",
    ],
)
def test_a_list_the_record_fills_said_to_be_empty_is_contradicted(answer: str) -> None:
    v = on_record(answer, MEMBER)
    assert v.flagged and any("count" in c.kinds for c in v.claims), v.claims


@pytest.mark.parametrize(
    "answer",
    [
        "You don't have any complaints on file.",  # the record's list is empty
        "You have two bookings, #B1 and #B2.",
        "You haven't any complaints, and you have one card saved.",
    ],
)
def test_an_empty_list_said_to_be_empty_stays_supported(answer: str) -> None:
    v = on_record(answer, MEMBER)
    assert not any("count" in c.kinds for c in v.claims), v.claims
    assert not v.flagged, v.claims


GROUNDS = (
    "Accepted grounds\n"
    "To end the lease early, give one of these grounds:\n"
    "- the tenant **moves abroad** for work, or\n"
    "- the flat is **no longer habitable**.\n"
    "We cannot record any other ground."
)


@pytest.mark.parametrize(
    "answer",
    [
        "A move abroad for work isn't an accepted ground.",
        "'Moves abroad' is not a ground we accept, I'm afraid.",
        "A tenant moving abroad for work is not one of the grounds.",
    ],
)
def test_a_listed_member_said_not_to_be_one_is_contradicted(answer: str) -> None:
    v = on_text(answer, GROUNDS)
    assert v.flagged and any("scope" in c.kinds for c in v.claims), v.claims


@pytest.mark.parametrize(
    "answer",
    [
        "A rent increase isn't an accepted ground.",
        "We can't record any ground other than moving abroad for work or an uninhabitable flat.",
        "The grounds are 'moves abroad' and 'no longer habitable'.",
        "Since the flat is no longer habitable, you can end the lease early.",
        "If you move abroad for work, that is an accepted ground; a new job nearby is not.",
    ],
)
def test_the_list_restated_or_a_non_member_denied_stays_supported(answer: str) -> None:
    v = on_text(answer, GROUNDS)
    assert not any("scope" in c.kinds for c in v.claims), v.claims
    assert not v.flagged, v.claims


def test_a_member_named_in_a_denial_about_something_else_is_not_struck_off() -> None:
    # the denial bears on ending the lease after the move, not on the ground itself; the
    # opener's other words ("end", "lease") are not the list's noun
    v = on_text("We can't end a lease early once a move abroad for work is over.", GROUNDS)
    assert not any("scope" in c.kinds for c in v.claims), v.claims
    assert not v.flagged, v.claims


def test_the_other_one_named_is_not_the_rest() -> None:
    footage = (
        "When we saw the footage from the other cameras last year, we changed the rules. "
        "Other units took 2 hours."
    )
    # "the other cameras" are named ones, and "last year" an event's date, not a rule's
    v = on_text("Body cameras can provide footage immediately.", footage)
    assert not any("timing" in c.kinds for c in v.claims), v.claims
    assert on_text("Other units took 5 hours.", footage).flagged


CREDITS = (
    "Where a credit goes\n"
    "For a cancelled trip the fare goes back to the card you paid with. For missed "
    "connections you choose between a travel voucher and a seat on the next train."
)


@pytest.mark.parametrize(
    "answer",
    [
        "For a cancelled trip, you can choose between a travel voucher and a seat on the next "
        "train.",
        "For missed connections the fare goes back to the card you paid with.",
    ],
)
def test_a_consequence_moved_to_another_qualifier_is_contradicted(answer: str) -> None:
    v = on_text(answer, CREDITS)
    assert v.flagged and any("scope" in c.kinds for c in v.claims), v.claims


@pytest.mark.parametrize(
    "answer",
    [
        "For a cancelled trip, the fare goes back to the card you paid with.",
        "For missed connections you can pick a travel voucher or a seat on the next train.",
        "For a cancelled trip the fare is returned to your card; for a missed connection you "
        "choose a voucher or the next train.",
        "If your trip is cancelled, the fare goes back to your card.",
    ],
)
def test_a_consequence_under_its_own_qualifier_stays_supported(answer: str) -> None:
    v = on_text(answer, CREDITS)
    assert not any("scope" in c.kinds for c in v.claims), v.claims
    assert not v.flagged, v.claims


TABLET: dict[str, Any] = {
    "name": "Tablet",
    "variants": {
        "41": {"item_id": "41", "options": {"chip": "A5", "color": "silver"}, "available": False,
               "price": 310.0},
        "42": {"item_id": "42", "options": {"chip": "A7", "color": "black"}, "available": True,
               "price": 420.0},
    },
}  # fmt: skip


def test_a_short_value_before_a_field_name_names_the_object() -> None:
    assert not on_record(
        "The silver tablet with the A5 chip is currently sold out.", TABLET
    ).flagged
    assert on_record("The silver tablet's chip is A7.", TABLET).flagged


REVIEWS = (
    "When a manager reviews a claim\n"
    "A manager reviews the claim in two cases only:\n"
    "- the amount is above the agent's approval limit, or\n"
    "- you ask for a manager's review.\n"
    "Otherwise the agent decides."
)


@pytest.mark.parametrize(
    "answer",
    [
        "A manager reviews it only if the amount is above the agent's approval limit.",
        "You get a manager's review only when you ask for a manager's review.",
    ],
)
def test_only_if_one_of_several_listed_cases_is_contradicted(answer: str) -> None:
    v = on_text(answer, REVIEWS)
    assert v.flagged and any("scope" in c.kinds for c in v.claims), v.claims


@pytest.mark.parametrize(
    "answer",
    [
        "A manager reviews it only if the amount is above the approval limit or you ask.",
        "A manager reviews it if the amount is above the agent's approval limit.",
        "Only if the amount is above the agent's approval limit, or if you ask, does a manager "
        "review it.",
    ],
)
def test_every_case_kept_or_no_only_stays_supported(answer: str) -> None:
    v = on_text(answer, REVIEWS)
    assert not any("scope" in c.kinds for c in v.claims), v.claims
    assert not v.flagged, v.claims


def test_a_clause_made_mostly_of_words_the_evidence_never_uses_is_an_addition() -> None:
    # four of its six words are new: an addition, though two are the evidence's own
    added = on_text("The fare carries a small handling fee for the card.", CREDITS)
    assert added.flagged and any("never uses" in r for c in added.claims for r in c.reasons)
    # light verbs and money's unit are no addition: "went back", "got", "paid", "dollars"
    kept = on_text(
        "For a cancelled trip the fare went back to the card you paid with; you got all 40 "
        "dollars back.",
        CREDITS,
    )
    assert not any("never uses" in r for c in kept.claims for r in c.reasons), kept.claims


PICKUP = (
    "Who may collect a parcel\n"
    "A parcel can only be collected by the addressee, or by a neighbour named on the slip."
)


@pytest.mark.parametrize(
    "answer",
    [
        "A neighbour named on the slip cannot collect the parcel.",
        "The addressee can't collect it; only a named neighbour can.",
    ],
)
def test_an_option_the_rule_allows_said_to_be_ruled_out_is_contradicted(answer: str) -> None:
    v = on_text(answer, PICKUP)
    assert v.flagged and any("scope" in c.kinds for c in v.claims), v.claims


@pytest.mark.parametrize(
    "answer",
    [
        "It can't be collected by anyone else.",
        "The addressee can collect it, not a stranger.",
        "Unfortunately no. It can only be collected by the addressee or a neighbour named on "
        "the slip.",
    ],
)
def test_the_options_kept_or_restricted_stay_supported(answer: str) -> None:
    v = on_text(answer, PICKUP)
    assert not any("scope" in c.kinds for c in v.claims), v.claims
    assert not v.flagged, v.claims


def test_the_rule_restated_with_two_negations_stays_supported() -> None:
    # the denial inside "who isn't named" and the one in "can't collect" cancel
    v = on_text("A neighbour who isn't named on the slip can't collect it.", PICKUP)
    assert not any("scope" in c.kinds for c in v.claims), v.claims
    assert not v.flagged, v.claims


@pytest.mark.parametrize(
    "answer",
    [
        "A neighbour who isn't named on the slip can collect it.",  # one denial, in the relative
        "A neighbour who is named on the slip can't collect it.",  # one denial, in the main clause
    ],
)
def test_one_negation_beside_a_relative_clause_still_flips_the_rule(answer: str) -> None:
    assert on_text(answer, PICKUP).flagged


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("You have three bookings with us, all sent to Leeds.", True),  # a "to" after the count
        ("You have two bookings, both sent to Leeds.", False),
        ("You can cancel one of the bookings.", False),  # a part, not the count
        ("You want to move three bookings to Leeds.", False),  # what is meant, not what is
    ],
)
def test_a_count_is_read_whatever_follows_it(answer: str, flagged: bool) -> None:
    v = on_record(answer, MEMBER)
    assert any("count" in c.kinds for c in v.claims) is flagged, v.claims
