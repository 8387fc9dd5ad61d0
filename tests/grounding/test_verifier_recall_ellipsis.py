"""Facts said in fewer words: a denial that borrows the verb before it ("paid, though not
processed yet", "but no refund yet", "address on file: none"), a count of the members a claim
lists ("just two things: the id and the items" for a list of three), and two cases said to take
the same time ("as quickly as") that the evidence times apart. Each near miss must be caught
and each faithful paraphrase must pass, double negations and clause boundaries included."""

from __future__ import annotations

from typing import Any

import pytest

from tests.grounding.common import contradicted, on_record, on_text
from tether.grounding.indirect import plainly

PROCESSED: dict[str, Any] = {
    "order_id": "#R300",
    "status": "processed",
    "items": [
        {"name": "Floor Lamp", "item_id": "31", "price": 88.0, "options": {"colour": "black"}},
    ],
    "payment_history": [
        {"transaction_type": "payment", "amount": 88.0, "payment_method_id": "gift_card_1"},
    ],
}  # fmt: skip
REFUNDED: dict[str, Any] = {
    "order_id": "#R301",
    "status": "cancelled",
    "items": [
        {"name": "Floor Lamp", "item_id": "32", "price": 88.0, "options": {"colour": "white"}},
    ],
    "payment_history": [
        {"transaction_type": "payment", "amount": 88.0, "payment_method_id": "gift_card_2"},
        {"transaction_type": "refund", "amount": 88.0, "payment_method_id": "gift_card_2"},
    ],
}  # fmt: skip
PROFILE: dict[str, Any] = {
    "user_id": "sam_7",
    "address": {"address1": "12 Elm Road", "city": "Leeds", "zip": "LS1"},
    "payment_methods": {"gift_card_9": {"source": "gift_card", "id": "gift_card_9", "balance": 40.0}},
}  # fmt: skip
NEEDED = (
    "What to send us\n"
    "- the order number,\n"
    "- the list of items you are sending back, and\n"
    "- where the refund should go."
)
DESTINATIONS = (
    "Where a refund goes\n"
    "A refund can only be paid to the payment method used for the order, or to a gift card "
    "already on your account."
)
SPEEDS = (
    "Switching the payment\n"
    "The first payment is returned: at once to a gift card, or within 5 to 7 business days to "
    "a credit card or PayPal."
)


@pytest.mark.parametrize(
    ("said", "plain"),
    [
        ("It is paid for, though not processed yet.", "It is paid for, though it is not processed yet."),
        ("They were paid, but not refunded.", "They were paid, but they were not refunded."),
        ("It was paid, but no refund yet.", "It was paid, but there is no refund yet."),
        ("Balance: $40; address on file: none.", "Balance: $40; there is no address on file."),
        ("It can go to your gift card, but not to another card.",
         "It can go to your gift card, but it can not go to another card."),
        # a denial with its own verb, emphasis, and a clause with no verb to lend stay as written
        ("It is here, but not everyone has been refunded.", "It is here, but not everyone has been refunded."),
        ("It is cheap, but not only that.", "It is cheap, but not only that."),
        ("Paid, though not processed.", "Paid, though not processed."),
        ("It can go to your gift card, but not another card.", "It can go to your gift card, but not another card."),
    ],
)  # fmt: skip
def test_a_verbless_denial_borrows_the_verb_before_it(said: str, plain: str) -> None:
    assert plainly(said) == plain


@pytest.mark.parametrize(
    ("answer", "record", "flagged"),
    [
        ("Your order of $88.00 is paid for, though not processed yet.", PROCESSED, True),
        ("Your order of $88.00 is paid for, though not delivered yet.", PROCESSED, False),
        # a double negation: not unprocessed
        ("Your order of $88.00 is paid for, and not pending any more.", PROCESSED, False),
        ("The lamp was paid with a gift card, but no refund yet.", REFUNDED, True),
        ("The lamp was paid with a gift card, and the refund went back to it.", REFUNDED, False),
        ("Gift card balance: $40.00; address on file: none.", PROFILE, True),
        ("Gift card balance: $40.00; other payment methods: none.", PROFILE, False),
    ],
)
def test_a_verbless_denial_of_a_record_fact_is_caught(
    answer: str, record: dict[str, Any], flagged: bool
) -> None:
    v = on_record(answer, record)
    assert v.flagged is flagged, v.claims


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("We need just two things from you: the order number and the list of items.", True),
        ("Three things: the order number, the items you're sending back and where the refund goes.", False),
        # no count of its own list, and a count that is not its list's length, decide nothing
        ("We need the order number and the list of items, among other things.", False),
        ("We need three things: the order number and the list of items.", False),
        # a member no item is: left to the checks of words the evidence lacks
        ("We need four things: the order number, the items, where the refund goes and a photo.", False),
    ],
)  # fmt: skip
def test_a_count_of_listed_members_is_held_to_the_list(answer: str, flagged: bool) -> None:
    v = on_text(answer, NEEDED)
    assert contradicted(v, "count") is flagged, v.claims


def test_a_count_of_a_sentences_alternatives_is_borne_out_but_never_contradicted() -> None:
    held = on_text(
        "Only two destinations are possible: the payment method used for the order or a gift "
        "card already on your account.",
        DESTINATIONS,
    )
    assert not held.flagged, held.claims
    assert any(
        f.kind == "count" and f.status == "supported" for c in held.claims for f in c.findings
    )
    # a sentence's commas may join clauses, so it never shows a count too small
    one = on_text("Only one destination is possible: the payment method used.", DESTINATIONS)
    assert not contradicted(one, "count")


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("Your PayPal payment would come back as quickly as it would to a gift card.", True),
        ("A credit card payment takes the same time as a gift card one to come back.", True),
        ("Your PayPal payment would come back just as quickly as a credit card one.", False),
        # a denied sameness compares the other way; and one side alone decides nothing
        ("Your PayPal payment would not come back as quickly as it would to a gift card.", False),
        (
            "Your PayPal payment comes back in 5 to 7 business days; that is as long as we need.",
            False,
        ),
        # a comparison that agrees, after a clause boundary, still passes
        ("At once for a gift card; a PayPal payment is slower than a gift card one.", False),
        ("A PayPal payment is quicker than a gift card one.", True),
    ],
)
def test_two_cases_said_to_take_the_same_time_are_held_to_their_timings(
    answer: str, flagged: bool
) -> None:
    v = on_text(answer, SPEEDS)
    assert contradicted(v, "timing") is flagged, v.claims


@pytest.mark.parametrize(
    ("said", "plain"),
    [
        ("Once you switch, it moves out of pending.", "Once you switch, it is no longer pending."),
        ("It went out of the processing stage.", "It is no longer processing."),
        ("It doesn't go out of pending.", "It is still pending."),
        ("It will never go out of pending.", "It is still pending."),
        # what something goes out of that is no state it was in stays as written
        ("The blue one went out of stock.", "The blue one went out of stock."),
        ("It went out of date.", "It went out of date."),
    ],
)
def test_moving_out_of_a_state_is_leaving_it(said: str, plain: str) -> None:
    assert plainly(said) == plain


PAYMENT = (
    "Payment method\nYou can move the order to one other payment method that you already hold. "
    "The order stays pending, and the first payment is returned."
)


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("Once you switch, the order moves out of pending and into processing.", True),
        ("Once you switch, the order doesn't move out of pending.", False),
        ("Once you switch, the order stays pending.", False),
    ],
)
def test_a_state_left_in_other_words_is_checked(answer: str, flagged: bool) -> None:
    v = on_text(answer, PAYMENT)
    assert v.flagged is flagged, v.claims


@pytest.mark.parametrize(
    ("said", "plain"),
    [
        ("There's no gray chair you can't order.", "every gray chair can be ordered."),
        ("There isn't a single variant you can't order right now.",
         "every variant can be ordered right now."),
        ("There are no chairs that we can't get.", "every chairs can be got."),
        # a reason, a way or an object after the verb is no such pair
        ("There is no reason you can't order it.", "There is no reason you can't order it."),
        ("There's no way you can't buy one.", "There's no way you can't buy one."),
    ],
)  # fmt: skip
def test_none_that_cannot_be_ordered_is_every_one_can(said: str, plain: str) -> None:
    assert plainly(said) == plain


@pytest.mark.parametrize(
    ("said", "plain"),
    [
        ("None of the white kettles is unavailable.", "every white kettles is available."),
        ("Not one rubber hose is sold out.", "every rubber hose is available."),
        ("You won't find an electric grill that can't be ordered.",
         "every electric grill can be ordered."),
        # one denial alone stays as written
        ("None of the white kettles is cheap.", "None of the white kettles is cheap."),
        ("You won't find a cheaper grill.", "You won't find a cheaper grill."),
    ],
)  # fmt: skip
def test_none_unavailable_is_every_one_available(said: str, plain: str) -> None:
    assert plainly(said) == plain


@pytest.mark.parametrize(
    ("said", "plain"),
    [
        ("The phone is missing from the delivery.", "The phone was not delivered."),
        ("The mugs were left out of the shipment.", "The mugs were not delivered."),
        ("The phone wasn't in that parcel.", "The phone was not delivered."),
        ("The phone didn't arrive.", "The phone was not delivered."),
        ("The lamp is in the box, but the phone is missing from the box.",
         "The lamp is in the box, but the phone was not delivered."),
        # nothing missing, a denied absence, or an arrival with a limit stays as written
        ("Nothing is missing from the delivery.", "Nothing is missing from the delivery."),
        ("None of them was left out of the shipment.",
         "None of them was left out of the shipment."),
        ("The phone isn't missing from the delivery.", "The phone isn't missing from the delivery."),
        ("The phone didn't arrive with a charger.", "The phone didn't arrive with a charger."),
        ("It did not arrive until Tuesday.", "It did not arrive until Tuesday."),
    ],
)  # fmt: skip
def test_an_item_missing_from_its_delivery_was_not_delivered(said: str, plain: str) -> None:
    assert plainly(said) == plain


DELIVERED: dict[str, Any] = {
    "order_id": "#R302",
    "status": "delivered",
    "items": [
        {"name": "Floor Lamp", "item_id": "33", "price": 88.0},
        {"name": "Desk Fan", "item_id": "34", "price": 40.0},
    ],
}


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("The lamp arrived, but the fan is missing from the delivery.", True),
        ("The fan wasn't in the parcel.", True),
        ("The fan didn't arrive.", True),
        ("Both arrived, and nothing is missing from the delivery.", False),
        ("The fan isn't missing from the delivery.", False),
    ],
)
def test_an_item_said_missing_from_a_delivered_order_is_caught(answer: str, flagged: bool) -> None:
    v = on_record(answer, DELIVERED)
    assert contradicted(v, "status") is flagged, v.claims
