"""Readings the retail verifier gives to shares, labelled lines and the parts of an item.

A sum that a later "that" refers back to is a whole, not the price of the item named beside it,
and a fraction of a stated whole is judged against the item its clause names: "a bit over half"
holds of an espresso machine that is 58% of the order, "two-thirds" and "a third" do not, and a
fraction that names no priced item is not judged as one. An amount said roughly in words
("about forty-one dollars apart") is held to the difference it claims. A word after a tick mark
starts an item the way a sentence would, so "One" is no name, and "wooden" is the material
"wood". A labelled line ("Water-resistant speaker: no", "Parcels: two", "Orders: 3") is read
as the label's value, and a question answered "No." denies what it asks. "Nothing" or "none of
it" on a payment method that paid denies a payment the record holds. Two totals compared ("$442.93
more than the dumbbells and the puzzle put together") are worked out from the items they name.
A count of parcels, labels or orders is judged against how many the record lists, while a
tracking number is no count and one item's parcel may be one of several.

Every reading has beside it the near miss that must still be caught. The check of a repeated
share runs in time linear in the answer's length, measured as a ratio of two timings, never
against a wall clock."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import pytest

from tests.grounding.common import growth
from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL
from tether.grounding.verifier import Verification, Verifier

# an espresso machine and two tablets, $4,803.37 paid from one gift card
ESPRESSO: dict[str, Any] = {
    "order_id": "#W7111824",
    "user_id": "omar_kim_3528",
    "items": [
        {
            "name": "Espresso Machine",
            "product_id": "4354588079",
            "item_id": "9884666842",
            "price": 2794.7,
            "options": {"pressure": "19 bar", "capacity": "1L", "type": "manual"},
        },
        {
            "name": "Tablet",
            "product_id": "8024098596",
            "item_id": "2633090267",
            "price": 1046.33,
            "options": {"screen size": "7-inch", "storage": "64GB", "color": "silver"},
        },
        {
            "name": "Tablet",
            "product_id": "8024098596",
            "item_id": "4803681337",
            "price": 962.34,
            "options": {"screen size": "8-inch", "storage": "64GB", "color": "black"},
        },
    ],
    "status": "pending",
    "fulfillments": [],
    "payment_history": [
        {"transaction_type": "payment", "amount": 4803.37, "payment_method_id": "gift_card_3749819"}
    ],
}

# a product with two variants, $41.41 apart
EARBUDS: dict[str, Any] = {
    "name": "Wireless Earbuds",
    "product_id": "9924732112",
    "variants": {
        "1": {"item_id": "1", "options": {"color": "blue"}, "available": True, "price": 226.49},
        "2": {"item_id": "2", "options": {"color": "black"}, "available": False, "price": 267.90},
    },
}

# one brown wooden bookshelf, 6 ft tall, delivered in one parcel
BOOKSHELF: dict[str, Any] = {
    "order_id": "#W9336725",
    "items": [
        {
            "name": "Bookshelf",
            "item_id": "7154215719",
            "price": 505.62,
            "options": {"material": "wood", "color": "brown", "height": "6 ft"},
        }
    ],
    "status": "delivered",
    "fulfillments": [{"tracking_id": ["836251433228"], "item_ids": ["7154215719"]}],
    "payment_history": [
        {
            "transaction_type": "payment",
            "amount": 505.62,
            "payment_method_id": "credit_card_4147840",
        }
    ],
}

# a keyboard and a speaker that is not water resistant, one parcel, paid by PayPal
SPEAKER: dict[str, Any] = {
    "order_id": "#W4817420",
    "user_id": "yusuf_ahmed_6232",
    "items": [
        {
            "name": "Mechanical Keyboard",
            "product_id": "1656367028",
            "item_id": "1",
            "price": 228.84,
            "options": {"switch type": "linear", "backlight": "RGB", "size": "full size"},
        },
        {
            "name": "Bluetooth Speaker",
            "product_id": "4768869376",
            "item_id": "2",
            "price": 310.47,
            "options": {"color": "black", "battery life": "10 hours", "water resistance": "no"},
        },
    ],
    "status": "delivered",
    "fulfillments": [{"tracking_id": ["836251433228"], "item_ids": ["1", "2"]}],
    "payment_history": [
        {"transaction_type": "payment", "amount": 539.31, "payment_method_id": "paypal_2860956"}
    ],
}

# one pair of boots, paid in full from a gift card
BOOTS: dict[str, Any] = {
    "order_id": "#W2575533",
    "user_id": "isabella_lopez_6490",
    "items": [
        {
            "name": "Hiking Boots",
            "product_id": "7363354090",
            "item_id": "8106223139",
            "price": 253.54,
            "options": {"size": "9", "material": "leather", "waterproof": "yes"},
        }
    ],
    "status": "delivered",
    "fulfillments": [{"tracking_id": ["468830347216"], "item_ids": ["8106223139"]}],
    "payment_history": [
        {"transaction_type": "payment", "amount": 253.54, "payment_method_id": "gift_card_9293123"}
    ],
}

# a tablet, an adjustable iron dumbbell set and a puzzle, paid by credit card and refunded
CANCELLED: dict[str, Any] = {
    "order_id": "#W8665881",
    "user_id": "noah_brown_6181",
    "items": [
        {
            "name": "Tablet",
            "product_id": "8024098596",
            "item_id": "6065192424",
            "price": 1018.68,
            "options": {"color": "gold"},
        },
        {
            "name": "Dumbbell Set",
            "product_id": "7233192239",
            "item_id": "3333391894",
            "price": 522.03,
            "options": {"weight range": "30-50 lbs", "material": "iron", "set type": "adjustable"},
        },
        {
            "name": "Jigsaw Puzzle",
            "product_id": "1808611083",
            "item_id": "1096508426",
            "price": 53.72,
            "options": {"pieces": "1000"},
        },
    ],
    "status": "cancelled",
    "fulfillments": [],
    "payment_history": [
        {
            "transaction_type": "payment",
            "amount": 1594.43,
            "payment_method_id": "credit_card_7815826",
        },
        {
            "transaction_type": "refund",
            "amount": 1594.43,
            "payment_method_id": "credit_card_7815826",
        },
    ],
}


def parcels(shipments: int) -> dict[str, Any]:
    """A keyboard and a speaker, sent in `shipments` parcels."""
    tracking = ["836251433228", "517174610452"][:shipments]
    item_ids = [["1", "2"]] if shipments == 1 else [["1"], ["2"]]
    return {
        **SPEAKER,
        "fulfillments": [
            {"tracking_id": [number], "item_ids": ids}
            for number, ids in zip(tracking, item_ids, strict=True)
        ],
    }


# an account with two orders, as get_user_details returns it
ACCOUNT: dict[str, Any] = {
    "user_id": "yusuf_ahmed_6232",
    "name": {"first_name": "Yusuf", "last_name": "Ahmed"},
    "address": {
        "address1": "409 Elm Street",
        "address2": "Suite 697",
        "city": "Philadelphia",
        "country": "USA",
        "state": "PA",
        "zip": "19153",
    },
    "email": "yusuf.ahmed6125@example.com",
    "payment_methods": {
        "paypal_2860956": {"source": "paypal", "id": "paypal_2860956"},
    },
    "orders": ["#W4817420", "#W2575533"],
}


@lru_cache(maxsize=1)
def verifier() -> Verifier:
    return RETAIL.grounding.verifier()


def verify(answer: str, record: dict[str, Any], tool: str = "get_order_details") -> Verification:
    evidence = [Evidence("tool:1", f"tool:{tool}", json.dumps(record))]
    return verifier().verify_items(answer, evidence)


def failing(result: Verification) -> list[dict[str, Any]]:
    """What the verifier held against an answer, for an assertion's message."""
    return [c.to_dict() for c in result.failing]


def contradicted(result: Verification) -> bool:
    return result.flagged and any(c.status == "contradicted" for c in result.claims)


# --- 1, 2. a sum "that" refers back to, and a share of it ------------------------------------


PAID = "Your gift card paid the $4,803.37 in a single payment, and the 1L manual espresso machine"


@pytest.mark.parametrize(
    "answer",
    [
        f"{PAID} makes up a bit over half of that.",
        "The espresso machine is about three-fifths of the $4,803.37.",
    ],
)
def test_a_share_the_item_bears_out_of_a_stated_whole_passes(answer: str) -> None:
    result = verify(answer, ESPRESSO)
    assert not result.flagged, failing(result)


@pytest.mark.parametrize(
    "answer",
    [
        # the whole said as the item's price
        "The espresso machine costs $4,803.37.",
        # a share the item's $2,794.70 does not bear out: it is 58% of the whole
        f"{PAID} makes up roughly two-thirds of that.",
        "The espresso machine is about a third of the $4,803.37.",
    ],
)
def test_a_whole_given_as_the_item_or_a_share_it_does_not_bear_out_is_contradicted(
    answer: str,
) -> None:
    result = verify(answer, ESPRESSO)
    assert contradicted(result), [c.to_dict() for c in result.claims]


def share_reasons(answer: str) -> list[str]:
    """The reasons that a share names nothing it could be of."""
    result = verify(answer, ESPRESSO)
    reasons = [reason for claim in result.claims for reason in claim.reasons]
    return [reason for reason in reasons if "nothing it names is" in reason]


def test_a_share_that_names_no_priced_item_is_not_judged_as_one() -> None:
    # the same share said of the espresso machine is judged, and found wrong
    judged = "You paid $4,803.37, and the espresso machine makes up roughly two-thirds of that."
    assert share_reasons(judged)
    # said of a payment method, it names no item with a price to judge it by
    assert not share_reasons(
        "You paid $4,803.37, and roughly two-thirds of that went on the gift card."
    )
    assert not share_reasons(
        "You paid $4,803.37. Roughly two-thirds of that went on the gift card."
    )


def test_time_grows_linearly_with_the_number_of_shares() -> None:
    sentence = "The espresso machine is about three-fifths of the $4,803.37. "
    assert len(sentence * 200) < 20_000  # within the answer's size limit
    checked = verify(sentence * 200, ESPRESSO)  # warms the caches
    assert checked.code is None and not checked.flagged, failing(checked)  # judged in full
    ratio = growth(
        lambda: verify(sentence * 50, ESPRESSO), lambda: verify(sentence * 200, ESPRESSO)
    )
    assert ratio < 8  # 4x the sentences: linear is 4x, quadratic 16x


# --- 3. an amount said roughly in words -------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("Prices run from $226.49 to $267.90, about forty-one dollars apart.", False),
        ("Prices run from $226.49 to $267.90, about fifty-one dollars apart.", True),
    ],
)
def test_a_difference_said_roughly_in_words_is_held_to_the_prices(answer: str, wrong: bool) -> None:
    result = verify(answer, EARBUDS, "get_product_details")
    assert result.flagged is wrong, [c.to_dict() for c in result.claims]


# --- 4. a word after a tick mark, and a material said as an adjective -------------------------


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("Delivered \u2713 One brown wooden bookshelf, six feet tall.", False),
        ("It's a brown wooden bookshelf.", False),
        ("It's a brown metal bookshelf.", True),
        ("It's a black wooden bookshelf.", True),
    ],
)
def test_an_item_after_a_tick_mark_is_read_like_a_sentence(answer: str, wrong: bool) -> None:
    result = verify(answer, BOOKSHELF)
    assert result.flagged is wrong, [c.to_dict() for c in result.claims]


# --- 5. a yes-or-no option on a labelled line, as a statement, or as a question answered ------


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("Water-resistant speaker: no.", False),
        ("Is the speaker water-resistant? No.", False),
        ("Water-resistant speaker: yes.", True),
        ("The speaker is water-resistant.", True),
    ],
)
def test_a_yes_or_no_option_is_held_to_the_record(answer: str, wrong: bool) -> None:
    result = verify(answer, SPEAKER)
    assert result.flagged is wrong, [c.to_dict() for c in result.claims]


# --- 6. "nothing" on a payment method that paid -----------------------------------------------


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("The gift card covered all $253.54, so nothing went on a credit card or PayPal.", False),
        ("Nothing went on the gift card.", True),
        ("None of it went on the gift card.", True),
    ],
)
def test_nothing_on_a_method_is_held_to_what_it_paid(answer: str, wrong: bool) -> None:
    result = verify(answer, BOOTS)
    assert result.flagged is wrong, [c.to_dict() for c in result.claims]


# --- 7. an item's parts, and two totals compared ----------------------------------------------


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("It had an adjustable iron dumbbell set covering 30-50 lbs.", False),
        ("It had an adjustable folding iron dumbbell set.", True),
    ],
)
def test_an_items_described_parts_are_held_to_its_options(answer: str, wrong: bool) -> None:
    result = verify(answer, CANCELLED)
    assert result.flagged is wrong, [c.to_dict() for c in result.claims]


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (
            "The tablet costs $442.93 more than the dumbbells and the puzzle put together "
            "($575.75).",
            False,
        ),
        ("The tablet costs $442.93 more than the dumbbells and the puzzle put together.", False),
        # the difference from the dumbbell set alone, said of the two together
        ("The tablet costs $496.65 more than the dumbbell set and the puzzle put together.", True),
        # the right difference, the wrong way round
        ("The tablet costs $442.93 less than the dumbbells and the puzzle together.", True),
    ],
)
def test_a_difference_from_two_items_together_is_worked_out(answer: str, wrong: bool) -> None:
    result = verify(answer, CANCELLED)
    assert result.flagged is wrong, [c.to_dict() for c in result.claims]


# --- 8. counts of parcels, labels and orders --------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "shipments", "wrong"),
    [
        ("It was delivered in two parcels.", 1, True),
        ("- Delivered: yes\n- Parcels: two, one per item", 1, True),
        ("Shipments: none", 1, True),
        ("It came in one parcel.", 1, False),
        ("Parcels: 1", 1, False),
        # a tracking number is no count
        ("Tracking: 836251433228", 1, False),
        # one of several
        ("The keyboard came in one parcel.", 2, False),
    ],
)
def test_a_count_of_parcels_is_held_to_the_fulfilments(
    answer: str, shipments: int, wrong: bool
) -> None:
    result = verify(answer, parcels(shipments))
    assert result.flagged is wrong, [c.to_dict() for c in result.claims]


@pytest.mark.parametrize(("answer", "wrong"), [("Orders: 2", False), ("Orders: 3", True)])
def test_a_labelled_count_of_orders_is_held_to_the_account(answer: str, wrong: bool) -> None:
    result = verify(answer, ACCOUNT, "get_user_details")
    assert result.flagged is wrong, [c.to_dict() for c in result.claims]
