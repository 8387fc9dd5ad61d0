"""Readings the retail verifier gives to counts, timings and labelled lines, each beside the
near miss that must still be caught.

A superlative in a clause joined on by ", and" is judged against the two prices named before it,
so calling the cheaper item "the dearer of the two" is caught. An amount said to be "more than
enough for it", or to cover another, is held to the amount it is said to cover, and the decimal
point in "$12.40" ends no sentence. A timing said to come "later than" or "sooner than" another
is held to the order the passages give the two, and calendar days are not business days, though
"working days" are, and a calendar week said beside business days is no such claim. A label
answered with "nothing" denies the payment method or order the account holds, while a label
declined with "no" makes no claim about a timing. A price in brackets only tells one variant
from another and does not end the clause, so the availability said after it is still judged.
"None of the ... ones" names no value the record lacks, but a colour the record lacks, or
"no black one" where there are black ones, is caught. A whole list is counted by the word its
members are called by, and how many of them are in stock is judged across ", and"; counts
written after a value ("robotic 4 of 5") are judged against the variants with that value. A
short name ("phone") is found inside a one-word item name ("Smartphone"), a share's whole need
not be an item's price, a ratio of two prices is worked out, and a share after a part and its
whole is judged by the two. A participle after an item's value ("covering 30-50 lbs") adds no
part to the item, while a part it lacks ("folding") is caught. A net charge of zero holds when
the same amount is said as paid and refunded, and not when it stands alone.

The check of counts said after a value runs in time linear in the answer's length, measured as
a ratio of two CPU timings, never against a wall clock."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import pytest

from tests.grounding.common import growth
from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL
from tether.grounding.verifier import Verification, Verifier

# --- records, from the probe sets named beside each --------------------------------------------

# dev39 order-W5030602: a kettle at $94.01 and a thermostat at $260.68
KETTLE_AND_THERMOSTAT: dict[str, Any] = {
    "order_id": "#W5030602",
    "items": [
        {
            "name": "Tea Kettle",
            "item_id": "9747045638",
            "price": 94.01,
            "options": {
                "material": "glass",
                "capacity": "1 liter",
                "stovetop compatibility": "electric",
            },
        },
        {
            "name": "Smart Thermostat",
            "item_id": "3377900078",
            "price": 260.68,
            "options": {"compatibility": "Apple HomeKit", "color": "white"},
        },
    ],
    "status": "pending",
    "fulfillments": [],
    "payment_history": [
        {"transaction_type": "payment", "amount": 354.69, "payment_method_id": "gift_card_5328393"}
    ],
}

# dev39 user-fatima_taylor_2349: one PayPal account and one order
FATIMA: dict[str, Any] = {
    "user_id": "fatima_taylor_2349",
    "name": {"first_name": "Fatima", "last_name": "Taylor"},
    "address": {
        "address1": "940 Oak Street",
        "address2": "Suite 612",
        "city": "Columbus",
        "country": "USA",
        "state": "OH",
        "zip": "43224",
    },
    "email": "fatima.taylor8616@example.com",
    "payment_methods": {"paypal_4421257": {"source": "paypal", "id": "paypal_4421257"}},
    "orders": ["#W9854700"],
}


def _variant(
    item_id: str, options: dict[str, str], available: bool, price: float
) -> dict[str, Any]:
    return {"item_id": item_id, "options": options, "available": available, "price": price}


def _earbuds(color: str, battery: str, water: str) -> dict[str, str]:
    return {"color": color, "battery life": battery, "water resistance": water}


# dev39 product-9924732112: twelve earbuds, four of them IPX7 and only one of those available
EARBUDS: dict[str, Any] = {
    "name": "Wireless Earbuds",
    "product_id": "9924732112",
    "variants": {
        v["item_id"]: v
        for v in (
            _variant("9580569596", _earbuds("black", "4 hours", "IPX7"), True, 257.38),
            _variant("2499294441", _earbuds("black", "8 hours", "IPX7"), False, 258.36),
            _variant("1646531091", _earbuds("blue", "6 hours", "IPX4"), True, 232.49),
            _variant("8555936349", _earbuds("blue", "8 hours", "IPX4"), True, 226.49),
            _variant("5565631513", _earbuds("black", "6 hours", "IPX7"), False, 267.9),
            _variant("6077640618", _earbuds("blue", "8 hours", "not resistant"), True, 242.92),
            _variant("9270970345", _earbuds("black", "6 hours", "not resistant"), False, 259.03),
            _variant("4063058357", _earbuds("black", "4 hours", "not resistant"), True, 243.34),
            _variant("3694871183", _earbuds("white", "8 hours", "IPX4"), False, 256.67),
            _variant("6452271382", _earbuds("blue", "4 hours", "IPX4"), True, 258.84),
            _variant("2052249669", _earbuds("white", "4 hours", "not resistant"), True, 237.14),
            _variant("2757705742", _earbuds("blue", "4 hours", "IPX7"), False, 258.97),
        )
    },
}


def _speaker(color: str, battery: str, water: str) -> dict[str, str]:
    return {"color": color, "battery life": battery, "water resistance": water}


# dev19 product-4768869376: sixteen speakers in black, blue, green and red, none purple
SPEAKERS: dict[str, Any] = {
    "name": "Bluetooth Speaker",
    "product_id": "4768869376",
    "variants": {
        v["item_id"]: v
        for v in (
            _variant("5967152432", _speaker("green", "10 hours", "yes"), False, 292.71),
            _variant("9179378709", _speaker("green", "10 hours", "no"), False, 326.59),
            _variant("9440686670", _speaker("green", "20 hours", "no"), True, 298.91),
            _variant("4716977452", _speaker("blue", "10 hours", "yes"), True, 289.69),
            _variant("2652637226", _speaker("green", "20 hours", "yes"), False, 295.94),
            _variant("5650803029", _speaker("black", "20 hours", "no"), False, 324.63),
            _variant("5855700373", _speaker("black", "10 hours", "yes"), False, 293.46),
            _variant("7751905257", _speaker("red", "10 hours", "yes"), True, 321.18),
            _variant("2635605237", _speaker("blue", "20 hours", "no"), True, 271.89),
            _variant("6704763132", _speaker("blue", "10 hours", "no"), True, 305.45),
            _variant("7597543861", _speaker("black", "10 hours", "no"), False, 310.47),
            _variant("7617930199", _speaker("red", "20 hours", "yes"), True, 285.94),
            _variant("1052700637", _speaker("red", "20 hours", "no"), True, 285.81),
            _variant("1689914594", _speaker("red", "10 hours", "no"), True, 315.2),
            _variant("3254583681", _speaker("blue", "20 hours", "yes"), True, 302.67),
            _variant("6455132774", _speaker("black", "20 hours", "yes"), False, 273.38),
        )
    },
}


def _vacuum(kind: str, bag: str, features: str) -> dict[str, str]:
    return {"type": kind, "bagged/bagless": bag, "features": features}


# dev40 product-1762337868: thirteen vacuums, nine available; robotic 4 of 5, upright 2 of 4,
# canister 3 of 4
VACUUM: dict[str, Any] = {
    "name": "Vacuum Cleaner",
    "product_id": "1762337868",
    "variants": {
        v["item_id"]: v
        for v in (
            _variant("4602305039", _vacuum("robotic", "bagged", "cordless"), True, 561.05),
            _variant("3019027053", _vacuum("upright", "bagless", "cordless"), False, 553.03),
            _variant("1345513440", _vacuum("canister", "bagged", "cordless"), True, 655.59),
            _variant("4806644905", _vacuum("robotic", "bagless", "cordless"), True, 658.89),
            _variant("7407609582", _vacuum("upright", "bagless", "HEPA filter"), True, 602.48),
            _variant("4965355367", _vacuum("robotic", "bagless", "pet hair removal"), True, 620.07),
            _variant("3526747930", _vacuum("upright", "bagged", "pet hair removal"), True, 540.12),
            _variant("2872451762", _vacuum("canister", "bagged", "pet hair removal"), True, 622.12),
            _variant(
                "7958300294", _vacuum("canister", "bagless", "pet hair removal"), True, 642.72
            ),
            _variant("9970989750", _vacuum("upright", "bagged", "cordless"), False, 569.43),
            _variant("4725166838", _vacuum("robotic", "bagless", "HEPA filter"), True, 602.11),
            _variant("1304426904", _vacuum("canister", "bagless", "HEPA filter"), False, 565.79),
            _variant("6259501109", _vacuum("robotic", "bagged", "pet hair removal"), False, 652.61),
        )
    },
}

# dev41 order-W2087737: a smartphone at $1,261.14 and a smart watch at $356.23, $1,617.37 paid
PHONE_AND_WATCH: dict[str, Any] = {
    "order_id": "#W2087737",
    "items": [
        {
            "name": "Smartphone",
            "item_id": "9929635042",
            "price": 1261.14,
            "options": {
                "color": "gold",
                "storage": "128GB",
                "RAM": "4GB",
                "screen size": "5.8-inch",
            },
        },
        {
            "name": "Smart Watch",
            "item_id": "2681513500",
            "price": 356.23,
            "options": {"color": "gold", "band material": "silicone", "display": "AMOLED"},
        },
    ],
    "status": "pending",
    "fulfillments": [],
    "payment_history": [
        {"transaction_type": "payment", "amount": 1617.37, "payment_method_id": "paypal_3392566"}
    ],
}

# dev40 order-W1649831: one adjustable urethane dumbbell set, 30-50 lbs, paid by gift card
DUMBBELLS: dict[str, Any] = {
    "order_id": "#W1649831",
    "items": [
        {
            "name": "Dumbbell Set",
            "item_id": "4422467033",
            "price": 483.47,
            "options": {
                "weight range": "30-50 lbs",
                "material": "urethane",
                "set type": "adjustable",
            },
        }
    ],
    "status": "pending",
    "fulfillments": [],
    "payment_history": [
        {"transaction_type": "payment", "amount": 483.47, "payment_method_id": "gift_card_8633125"}
    ],
}

# dev40 order-W7152670: a cancelled order of boots, $241.96 paid and refunded to one gift card
REFUNDED_BOOTS: dict[str, Any] = {
    "order_id": "#W7152670",
    "items": [
        {
            "name": "Hiking Boots",
            "item_id": "4582956489",
            "price": 241.96,
            "options": {"size": "12", "material": "synthetic", "waterproof": "no"},
        }
    ],
    "status": "cancelled",
    "fulfillments": [{"tracking_id": ["128309117248"], "item_ids": ["4582956489"]}],
    "payment_history": [
        {"transaction_type": "payment", "amount": 241.96, "payment_method_id": "gift_card_5681264"},
        {"transaction_type": "refund", "amount": 241.96, "payment_method_id": "gift_card_5681264"},
    ],
}

# --- questions and passages, from the qa probe sets named beside each --------------------------

PAYMENT_METHOD = (
    "passage 1: Payment method\nYou can move the order to one other payment method that you "
    "already hold, different from the one used now. A gift card must have enough balance to pay "
    "the whole order total. The order stays pending, and the first payment is returned: at once "
    "to a gift card, or within 5 to 7 business days to a credit card or PayPal."
)
REFUND_TIMING = (
    "passage 1: How long a refund takes\n- **Gift card:** the money is back on the card "
    "immediately.\n- **Credit card or PayPal:** the refund takes 5 to 7 business days to arrive.\n"
    "These timings apply when an order is cancelled and when the payment method of a pending "
    "order is changed, because the original payment is returned in both cases."
)

# dev39 qa-paying-difference-boots-gift-card-short-no-split-no-new-order
BOOTS_QUESTION = (
    "Hi, it's Priya Nair. My order with the black hiking boots was delivered and I'd like the "
    "same boots in brown instead; the brown pair is listed at $12.40 more than the $148.60 I "
    "paid. On my account I have a Visa and a gift card with $9 left on it. My flatmate says I "
    "can use up the $9 on the gift card and have the Visa take the last $3.40. A colleague says "
    "the extra is always charged to whatever paid for the original order, so I don't get a say. "
    "My mum says I just pick one of the payment methods on my account. Will I also have to put "
    "through a new order for the brown pair?"
)
BOOTS_PASSAGES = (
    "passage 1: Paying the difference\nIf the new variant costs more or less, the difference is "
    "charged to, or refunded to, a payment method you choose from your account. A gift card used "
    "to pay the difference must hold enough balance to cover it.\npassage 2: What happens next\n"
    "After you confirm, the status becomes **exchange requested** and an e-mail tells you how to "
    "send the original items back. You do not need to place a new order."
)

# dev39 qa-payment-method-gift-card-to-paypal-refund-at-once-stays-pending
GIFT_CARD_TO_PAYPAL = (
    "Hi, Marcus Bell. My pending order, a desk lamp and a yoga mat, came to $212.40 and I paid "
    "it with a gift card. I'd like to move it to my PayPal instead. My brother says the $212.40 "
    "would take 5 to 7 business days to land back on the gift card. My sister says my second "
    "gift card, the one with $180 on it, couldn't take the order anyway because it'd have to "
    "cover the whole total. A friend thinks changing the payment knocks the order out of "
    "pending. Can I move it to PayPal, and when does the gift card get its money back?"
)

# dev40 qa-pending-desk-order-move-to-gift-card-mastercard-back-in-days
DESK_TO_GIFT_CARD = (
    "My order for a standing desk and a desk lamp is still pending. It came to $412.80 and I "
    "paid with my Mastercard, but I'd like to move it to my gift card, which has $450 on it. My "
    "partner says $450 is plenty for the whole thing. A colleague told me I could only do it if "
    "the gift card covered the desk alone, not the lamp. My neighbour says once I switch, the "
    "order goes back to the start and has to be placed again. And someone on a forum said the "
    "Mastercard money shows up again the same day. Is any of that right, and could I put it on "
    "a PayPal account I'd open tomorrow instead?"
)

# dev38 qa-refund-timing-paypal-cancel-or-switch-same-wait-no-faster-than-card
PAYPAL_CANCEL = (
    "Hi, Juan Lopez here. I want to cancel my pending order #W3386832, the espresso machine, the "
    "blue helmet and the garden hose, which came to $3,041.36 through PayPal. How long before I "
    "see that money again? My uncle swears PayPal refunds are quicker than card ones, two or "
    "three days at most. A coworker says I'd be better off moving the order to another payment "
    "method instead, but also that PayPal only hands back the first payment once the order "
    "ships. My neighbour says that whichever I do, PayPal takes the same 5 to 7 business days."
)

# dev29 qa-refund-timing-cancelled-tablet-card-business-days-no-paid-speed-up-gift-card-instant
TABLET_CANCEL = (
    "It's Emma. I've just cancelled my pending order for the silver 10-inch tablet, $903.95 on "
    "my credit card. A coworker says the 5 to 7 days count weekends too, so it'll be back within "
    "a week at most. A chat bot offered to speed the refund up to 24 hours if I pay a $9.99 fee. "
    "My husband also wants to cancel his pending order, which he paid from his gift card. Will "
    "his money take as long as mine?"
)


@lru_cache(maxsize=1)
def verifier() -> Verifier:
    return RETAIL.grounding.verifier()


def verify(answer: str, record: dict[str, Any], tool: str = "get_order_details") -> Verification:
    evidence = [Evidence("tool:1", f"tool:{tool}", json.dumps(record))]
    return verifier().verify_items(answer, evidence)


def verify_qa(question: str, passages: str, answer: str) -> Verification:
    source = {"question": question, "passages": passages}
    return verifier().verify_source("qa", source, answer, "")


def failing(result: Verification) -> list[dict[str, Any]]:
    """What the verifier held against an answer, for an assertion's message."""
    return [c.to_dict() for c in result.failing]


def judged(result: Verification, wrong: bool, reason: str) -> None:
    """The answer is flagged exactly when it is wrong, and, where a reason is named, a reason
    the verifier gives contains it."""
    assert result.flagged is wrong, [c.to_dict() for c in result.claims]
    if reason:
        reasons = [text for claim in result.failing for text in claim.reasons]
        assert any(reason in text for text in reasons), failing(result)


# --- a. a superlative in a clause joined by ", and" --------------------------------------------

APART = "The thermostat ($260.68) and the kettle ($94.01) are $166.67 apart, and"


@pytest.mark.parametrize(
    ("answer", "wrong", "reason"),
    [
        (f"{APART} the thermostat is the dearer of the two.", False, ""),
        (f"{APART} the kettle is the dearer of the two.", True, "costs 94.01"),
    ],
)
def test_a_superlative_after_and_is_judged_against_the_two_prices(
    answer: str, wrong: bool, reason: str
) -> None:
    judged(verify(answer, KETTLE_AND_THERMOSTAT), wrong, reason)


# --- b. an amount said to be enough for "it" ---------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "wrong", "reason"),
    [
        ("The gift card's $9 doesn't cover the $12.40.", False, ""),
        (
            "Put the $12.40 on the gift card, since its $9 is more than enough for it.",
            True,
            "9 is less than the 12.4",
        ),
        # the decimal point of "$12.40" ends no sentence
        ("The gift card's $9 covers the $12.40.", True, "9 is less than the 12.4"),
    ],
)
def test_an_amount_said_to_cover_another_is_held_to_it(
    answer: str, wrong: bool, reason: str
) -> None:
    judged(verify_qa(BOOTS_QUESTION, BOOTS_PASSAGES, answer), wrong, reason)


# --- c. timings compared with "later" and "sooner" ---------------------------------------------

MOVED = "Moving it to PayPal is fine, and the $212.40 comes back to your gift card"


@pytest.mark.parametrize(
    ("answer", "wrong", "reason"),
    [
        (f"{MOVED} at once, sooner than it would reach a credit card.", False, ""),
        (
            f"{MOVED}, though later than it would have reached a credit card or PayPal, where it "
            "takes 5 to 7 business days.",
            True,
            "'later than' is reversed",
        ),
    ],
)
def test_a_timing_said_later_or_sooner_is_held_to_the_passages(
    answer: str, wrong: bool, reason: str
) -> None:
    judged(verify_qa(GIFT_CARD_TO_PAYPAL, PAYMENT_METHOD, answer), wrong, reason)


# --- d. a label answered with nothing ----------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "wrong", "reason"),
    [
        ("Payment: PayPal only.", False, ""),
        ("Orders: 1", False, ""),
        ("- Payment: nothing saved yet", True, "payment_methods holds 1, not 0"),
        ("Orders: nothing yet.", True, "orders holds 1, not 0"),
    ],
)
def test_a_label_answered_with_nothing_denies_what_the_account_holds(
    answer: str, wrong: bool, reason: str
) -> None:
    judged(verify(answer, FATIMA, "get_user_details"), wrong, reason)


# --- e. a price in brackets tells variants apart and parts no clause ---------------------------


@pytest.mark.parametrize(
    ("answer", "wrong", "reason"),
    [
        ("The blue 4-hour pair ($258.84) can be ordered.", False, ""),
        ("The blue 4-hour IPX7 pair ($258.97) is sold out.", False, ""),
        (
            "Of the other three IPX7 variants, black with 8 hours and black with 6 hours are "
            "unavailable, but the blue 4-hour pair ($258.97) can still be ordered.",
            True,
            "available is False",
        ),
    ],
)
def test_a_price_in_brackets_picks_the_variant_whose_availability_is_judged(
    answer: str, wrong: bool, reason: str
) -> None:
    judged(verify(answer, EARBUDS, "get_product_details"), wrong, reason)


# --- f. "none of the ... ones" -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "wrong", "reason"),
    [
        ("\u2717 none of the black or green water-resistant ones", False, ""),
        ("None of the purple ones are available.", True, "not 'purple'"),
        ("There is no black one.", True, "the record holds 'black'"),
    ],
)
def test_none_of_the_ones_names_no_absent_value(answer: str, wrong: bool, reason: str) -> None:
    judged(verify(answer, SPEAKERS, "get_product_details"), wrong, reason)


# --- g, h. a whole list counted, and counts after a value --------------------------------------


@pytest.mark.parametrize(
    ("answer", "wrong", "reason"),
    [
        ("The vacuum cleaner comes in 13 variants, and 9 of them are available.", False, ""),
        (
            "The vacuum cleaner comes in 13 variants, and 10 of them are available.",
            True,
            "9 of variants are available, not 10",
        ),
    ],
)
def test_a_whole_list_and_how_many_are_in_stock_are_counted_across_and(
    answer: str, wrong: bool, reason: str
) -> None:
    judged(verify(answer, VACUUM, "get_product_details"), wrong, reason)


@pytest.mark.parametrize(
    ("answer", "wrong", "reason"),
    [
        ("By type: robotic 4 of 5, upright 2 of 4, canister 3 of 4.", False, ""),
        (
            "By type: robotic 4 of 5, upright 3 of 4, canister 3 of 4.",
            True,
            "of the upright ones 2 are available",
        ),
        ("By type: robotic 4 of 6.", True, "5 of variants are robotic, not 6"),
    ],
)
def test_counts_after_a_value_are_judged_against_the_variants_with_it(
    answer: str, wrong: bool, reason: str
) -> None:
    judged(verify(answer, VACUUM, "get_product_details"), wrong, reason)


# --- i, j. a short name inside a one-word name, shares and ratios ------------------------------


@pytest.mark.parametrize(
    ("answer", "wrong", "reason"),
    [
        (
            "The phone makes up about 78 % of the $1,617.37 and costs $904.91 more than the "
            "watch, around three and a half times its price.",
            False,
            "",
        ),
        ("The phone costs about 3.5 times as much as the watch.", False, ""),
        ("The phone costs about 2.5 times as much as the watch.", True, "2.5 times apart"),
        # the whole of a share is no price of the phone
        ("The phone's price is $1,617.37.", True, "costs 1261.14, not 1617.37"),
    ],
)
def test_a_short_name_is_found_inside_a_one_word_name(
    answer: str, wrong: bool, reason: str
) -> None:
    judged(verify(answer, PHONE_AND_WATCH), wrong, reason)


PART_OF_WHOLE = "The phone is most of it: $1,261.14 out of $1,617.37,"


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (f"{PART_OF_WHOLE} a bit over 77 %.", False),
        (f"{PART_OF_WHOLE} a bit over 87 %.", True),
    ],
)
def test_a_share_after_a_part_and_its_whole_is_judged_by_the_two(answer: str, wrong: bool) -> None:
    judged(verify(answer, PHONE_AND_WATCH), wrong, "")


# --- k. a participle after the item's name and a value -----------------------------------------


@pytest.mark.parametrize(
    ("answer", "wrong", "reason"),
    [
        (
            "It's a single item, an adjustable dumbbell set in urethane covering 30-50 lbs, for "
            "$483.47, paid in full with a gift card.",
            False,
            "",
        ),
        ("It's an adjustable folding urethane dumbbell set.", True, "nothing called 'folding'"),
    ],
)
def test_a_participle_after_a_value_adds_no_part_to_the_item(
    answer: str, wrong: bool, reason: str
) -> None:
    judged(verify(answer, DUMBBELLS), wrong, reason)


# --- l. a label declined with "no" -------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("A PayPal account opened tomorrow: no, it has to be one you already hold.", False),
        ("Mastercard refund: within 2 days.", True),
    ],
)
def test_a_label_declined_with_no_declines_its_timing(answer: str, wrong: bool) -> None:
    judged(verify_qa(DESK_TO_GIFT_CARD, PAYMENT_METHOD, answer), wrong, "")


# --- m. a net of one amount said twice ---------------------------------------------------------

PAID_AND_REFUNDED = (
    "Status: cancelled. Paid: $241.96 (gift card). Refunded: $241.96 (same gift card)."
)


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (f"{PAID_AND_REFUNDED} Net charge: $0.00.", False),
        (f"{PAID_AND_REFUNDED} Net charge: $5.00.", True),
        # nothing is said twice for the net to be worked out from
        ("Net charge: $0.00.", True),
    ],
)
def test_a_net_of_zero_holds_of_one_amount_paid_and_refunded(answer: str, wrong: bool) -> None:
    judged(verify(answer, REFUNDED_BOOTS), wrong, "")


# --- n. calendar days against business days ----------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "wrong", "reason"),
    [
        ("The $3,041.36 takes 5 to 7 business days to reach PayPal.", False, ""),
        ("The $3,041.36 takes 5 to 7 working days to reach PayPal.", False, ""),
        (
            "The $3,041.36 takes 5 to 7 calendar days to reach PayPal.",
            True,
            "not '5 to 7 calendar days'",
        ),
    ],
)
def test_calendar_days_are_not_business_days(answer: str, wrong: bool, reason: str) -> None:
    judged(verify_qa(PAYPAL_CANCEL, REFUND_TIMING, answer), wrong, reason)


def test_a_calendar_week_said_beside_business_days_is_no_calendar_timing() -> None:
    answer = (
        "The $903.95 goes back to your credit card within 5 to 7 business days; weekends aren't "
        "counted, so it can take longer than a calendar week."
    )
    judged(verify_qa(TABLET_CANCEL, REFUND_TIMING, answer), False, "")


# --- the time counts after a value take --------------------------------------------------------


def test_time_grows_linearly_with_the_number_of_counts_after_a_value() -> None:
    clause = "robotic 4 of 5, "
    small, large = "By type: " + clause * 50, "By type: " + clause * 200
    assert len(large) < 20_000  # within the answer's size limit
    checked = verify(large, VACUUM, "get_product_details")  # warms the caches
    assert checked.code is None and not checked.flagged, failing(checked)  # judged in full
    ratio = growth(
        lambda: verify(small, VACUUM, "get_product_details"),
        lambda: verify(large, VACUUM, "get_product_details"),
    )
    assert ratio < 8  # 4x the counts: linear is 4x, quadratic 16x
