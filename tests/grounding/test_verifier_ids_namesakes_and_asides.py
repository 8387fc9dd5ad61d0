"""Readings for answers that read an id out ("gift card 9105630"), spell a state's code out
("North Carolina"), tell two items of one name apart by their options ("the beige memory foam
pet bed"), round a price with a hedge ("about $244"), say a share of the order or a fraction of
it ("roughly 43% of the order", "more than half the order"), set an alternative aside ("straight
away, not in 5 to 7 business days"), give a verdict on what someone the customer quotes said
("Uncle: no."), or say where a refund goes ("refunded to its original payment method"). Each
sits beside the near miss it must still catch."""

from __future__ import annotations

import pytest

from tests.grounding.common import desk, flagged, growth
from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL
from tether.grounding.claims import number_matches


def asked(answer: str, question: str, passage: str) -> bool:
    """Whether the desk flags `answer` to `question` over one kb passage."""
    evidence = [Evidence("kb:1", "kb:policy", passage)]
    verifier = RETAIL.grounding.verifier()
    return verifier.verify_items(answer, evidence, question=question).flagged


ACCOUNT = {
    "user_id": "juan_santos_1448",
    "name": {"first_name": "Juan", "last_name": "Santos"},
    "address": {
        "address1": "693 Willow Lane",
        "address2": "Suite 604",
        "city": "Charlotte",
        "country": "USA",
        "state": "NC",
        "zip": "28258",
    },
    "payment_methods": {
        "gift_card_3767667": {"source": "gift_card", "id": "gift_card_3767667", "balance": 45}
    },
    "orders": ["#W2582045"],
}


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("Your gift card 3767667 holds $45.", False),
        ("Card 3767667 holds $45.", False),
        ("Your gift card 3767668 holds $45.", True),
        # the number of another id is not the card's: the account's own id ends in 1448
        ("Your gift card 1448 holds $45.", True),
        ("Your address is in Charlotte, North Carolina.", False),
        ("Your address is in Charlotte, South Carolina.", True),
        ("There aren't any orders on the account yet.", True),
        ("There isn't a PayPal account on file.", False),
    ],
)
def test_an_id_and_a_state_are_read_out_as_the_record_holds_them(answer: str, wrong: bool) -> None:
    assert flagged(answer, ACCOUNT, "get_user_details") is wrong


PET_BEDS = {
    "order_id": "#W4680317",
    "status": "delivered",
    "items": [
        {
            "name": "Pet Bed",
            "item_id": "6942241102",
            "price": 180.93,
            "options": {"size": "large", "material": "memory foam", "color": "beige"},
        },
        {
            "name": "Pet Bed",
            "item_id": "7917269097",
            "price": 184.25,
            "options": {"size": "large", "material": "polyester", "color": "grey"},
        },
        {
            "name": "Headphones",
            "item_id": "5635439102",
            "price": 353.76,
            "options": {"type": "over-ear", "connectivity": "wired", "color": "blue"},
        },
    ],
    "fulfillments": [
        {"tracking_id": ["336816019299"], "item_ids": ["6942241102", "7917269097", "5635439102"]}
    ],
    "payment_history": [{"transaction_type": "payment", "amount": 718.94}],
}


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("The beige memory foam pet bed is $180.93.", False),
        ("The beige memory foam pet bed is $184.25.", True),
        ("The grey pet bed is made of polyester.", False),
        ("The grey pet bed is made of memory foam.", True),
        ("Two large pet beds, one beige memory foam and one grey polyester, plus wired blue "
         "over-ear headphones.", False),
        ("Two large pet beds, one beige memory foam and one grey polyester, plus wired beige "
         "over-ear headphones.", True),
        ("Nothing went out in a separate shipment.", False),
        ("The headphones went out in a separate shipment from the beds.", True),
    ],
)  # fmt: skip
def test_items_of_one_name_are_told_apart_by_their_options(answer: str, wrong: bool) -> None:
    assert flagged(answer, PET_BEDS, "get_order_details") is wrong


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        # one pet bed described with what only the other holds: no such bed
        ("The pet bed in beige polyester was delivered.", True),
        ("All three items were delivered: a large pet bed in beige polyester, a large grey one "
         "in memory foam, and blue headphones.", True),
        ("You got a grey memory foam pet bed.", True),
        # the right way round, beds said apart, and several said as several
        ("All three items were delivered: a large pet bed in beige memory foam, a large grey "
         "one in polyester, and blue headphones.", False),
        ("The pet bed in beige is cheaper than the polyester pet bed.", False),
        ("Both pet beds, one beige and one grey, arrived.", False),
        ("The pet beds in beige and polyester both arrived.", False),
        # the name said twice: each saying is told apart on its own stretch
        ("The beige pet bed is memory foam and the grey pet bed is polyester.", False),
        ("The beige pet bed costs $180.93 and the grey pet bed $184.25.", False),
        ("The beige pet bed is polyester and the grey pet bed is memory foam.", True),
        ("The beige pet bed costs $184.25 and the grey pet bed $180.93.", True),
    ],
)  # fmt: skip
def test_one_item_of_a_shared_name_described_with_two_items_options(
    answer: str, wrong: bool
) -> None:
    assert flagged(answer, PET_BEDS, "get_order_details") is wrong


def test_the_phrases_around_a_shared_name_are_read_in_linear_time() -> None:
    ratio = growth(
        lambda: flagged("the pet bed in beige, " * 100, PET_BEDS, "get_order_details"),
        lambda: flagged("the pet bed in beige, " * 400, PET_BEDS, "get_order_details"),
    )
    assert ratio < 8  # 4x the text: linear is 4x, quadratic 16x


ORDER = {
    "order_id": "#W5158064",
    "status": "pending",
    "items": [
        {"name": "Cycling Helmet", "item_id": "1", "price": 209.69, "options": {"size": "L"}},
        {"name": "Wristwatch", "item_id": "2", "price": 1985.30, "options": {"dial": "white"}},
        {
            "name": "Espresso Machine",
            "item_id": "3",
            "price": 2719.16,
            "options": {"type": "manual"},
        },
    ],
    "fulfillments": [],
    "payment_history": [{"transaction_type": "payment", "amount": 4914.15}],
}


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("The espresso machine is about $2,719.", False),
        ("The espresso machine is about $2,729.", True),
        ("The espresso machine is just under $2,720.", False),
        ("The espresso machine is just under $2,710.", True),
        ("The espresso machine is $2,719.", True),  # said exactly, it is wrong by 16 cents
        ("The espresso machine is roughly 55% of the order.", False),
        ("The espresso machine is roughly 65% of the order.", True),
        ("The espresso machine is more than half the order.", False),
        ("The espresso machine is less than half the order.", True),
        ("The helmet is less than half the order.", False),
        ("The helmet is more than half the order.", True),
    ],
)
def test_a_price_rounded_or_a_share_of_the_order_is_judged_against_the_prices(
    answer: str, wrong: bool
) -> None:
    assert flagged(answer, ORDER, "get_order_details") is wrong


MOUSE = {
    "name": "Gaming Mouse",
    "product_id": "5713490933",
    "variants": {
        "1": {"item_id": "1", "options": {"color": "white", "sensor": "optical"}, "available": True,
              "price": 137.22},
        "2": {"item_id": "2", "options": {"color": "black", "sensor": "optical"}, "available": True,
              "price": 137.32},
        "3": {"item_id": "3", "options": {"color": "RGB", "sensor": "optical"}, "available": False,
              "price": 142.3},
        "4": {"item_id": "4", "options": {"color": "RGB", "sensor": "laser"}, "available": False,
              "price": 160.89},
    },
}  # fmt: skip


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("The white optical one at $137.22 is ten cents cheaper than the black optical one.", False),
        ("The white optical one at $137.22 is twenty cents cheaper than the black optical one.",
         True),
        ("Two of the four variants are available.", False),
        ("Three of the four variants are available.", True),
        ("Both RGB versions are unavailable, so there's no RGB option at the moment.", False),
        ("There's no RGB option.", True),
    ],
)  # fmt: skip
def test_cents_apart_counts_of_a_list_and_none_for_now(answer: str, wrong: bool) -> None:
    assert flagged(answer, MOUSE, "get_product_details") is wrong


# the kb's refund timings, on one line as the "what happens next" section gives them
NEXT = (
    "After you confirm, the order's status becomes **cancelled** and the full amount goes back "
    "to the payment method you used. Money paid with a gift card returns to that card straight "
    "away; other payment methods take 5 to 7 business days."
)


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("Gift card money goes back onto the card straight away, not in 5 to 7 business days.",
         False),
        ("Gift card money goes back onto the card in 5 to 7 business days, not straight away.",
         True),
        ("Your PayPal gets it back straight away, not in 5 to 7 business days.", True),
        ("A cancelled order is refunded to the payment method you used.", False),
    ],
)  # fmt: skip
def test_an_alternative_set_aside_is_judged_by_the_timings(answer: str, wrong: bool) -> None:
    assert desk(answer, NEXT).flagged is wrong


def test_a_verdict_on_a_quoted_claim_asserts_nothing_of_its_own() -> None:
    question = (
        "My girlfriend says the gift card money takes 5 to 7 business days. My uncle says you "
        "cancel as soon as I ask."
    )
    fine = "- Girlfriend: no. Gift card money returns to the card straight away.\n- Uncle: no."
    assert not asked(fine, question, NEXT)
    # the verdict line stands aside; the line after it is still checked
    wrong = "- Girlfriend: yes. Gift card money takes 5 to 7 business days.\n- Uncle: no."
    assert asked(wrong, question, NEXT)


@pytest.mark.parametrize(
    "clause",
    [
        "gift card 3767667, ten cents, ",  # an id read out beside cents (once per number before)
        "gift card 3767667, a little under $50, ",  # a round figure bounding an amount
        "about $45, more than half the order, ",  # a rounding and a fraction of the order
    ],
)
def test_the_new_readings_stay_linear_in_the_answer(clause: str) -> None:
    """Ids, cents, bounds and shares are read once per claim, not once per number it says."""
    ratio = growth(
        lambda: flagged(clause * 100, ACCOUNT, "get_user_details"),
        lambda: flagged(clause * 400, ACCOUNT, "get_user_details"),
    )
    assert ratio < 8  # 4x the text: linear is 4x, quadratic 16x


@pytest.mark.parametrize(
    ("value", "known", "matches"),
    [
        (45.0, 0.45, True),  # "45%" of a share the evidence gives as 0.45
        (0.45, 45.0, True),  # and the other way round
        (100.0, 1.0, False),  # "$100" is no percentage of a count of one
        (200.0, 2.0, False),
    ],
)
def test_a_percentage_matches_a_fraction_never_a_whole_number(
    value: float, known: float, matches: bool
) -> None:
    assert number_matches(value, {known}) is matches


def test_a_balance_said_to_be_left_from_an_amount_the_record_never_gives_is_unsupported() -> None:
    assert not flagged("Your gift card has $45 on it.", ACCOUNT, "get_user_details")
    # the account holds one order: a count of 1 makes no "$100"
    assert flagged(
        "Your gift card has $45 left from its original $100.", ACCOUNT, "get_user_details"
    )


# the kb's "speaking with a person" section, its first paragraph
DESK = (
    "Our support desk can look up your profile, orders and products, cancel or change pending "
    "orders, return or exchange delivered items, and update your default address."
)


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("The desk can look up your profile.", False),
        ("The desk can't look up your profile.", True),
        ("We cannot update your default address.", True),
        ("We can't handle a courier complaint here.", False),  # an act the list does not name
        # a case, not a denial; emphasis, not a denial
        ("If the desk can't look up your profile, a colleague will.", False),
        ("The desk can not only look up your profile but also update your default address.", False),
        # a relative clause restating the list is no denial of it
        ("A courier complaint isn't among the desk's services, which are looking up profiles, "
         "orders and products and updating default addresses.", False),
    ],
)  # fmt: skip
def test_an_ability_the_evidence_lists_is_not_denied(answer: str, wrong: bool) -> None:
    assert desk(answer, DESK).flagged is wrong


def test_a_customer_who_paid_two_orders_two_ways_may_be_told_either() -> None:
    question = (
        "#W6140392 is a coffee grinder that I paid for with a gift card. #W6140571 is a desk lamp "
        "that I paid through PayPal."
    )
    refund = "Money paid with a gift card returns to that card straight away."
    assert not asked("The grinder money goes to the gift card you paid with.", question, refund)
    assert asked("The grinder money goes to the Visa you paid with.", question, refund)


LAPTOP = {
    "order_id": "#W2417020",
    "status": "pending",
    "items": [
        {
            "name": "Laptop",
            "item_id": "1",
            "price": 2674.40,
            "options": {"ram": "32GB", "storage": "256GB SSD", "color": "space grey"},
        },
        {"name": "Electric Kettle", "item_id": "2", "price": 145.48, "options": {"color": "white"}},
    ],
    "fulfillments": [],
    "payment_history": [{"transaction_type": "payment", "amount": 2819.88}],
}


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("Storage is a 256GB SSD.", False),
        ("Storage is a 512GB SSD.", True),
        ("Storage is a 256GB SSD, eight times the 32GB of RAM.", False),
        ("Storage is a 256GB SSD, six times the 32GB of RAM.", True),
        ("The laptop made up about 95% of it; the kettle was the other $145.48.", False),
        ("The laptop made up over 99% of it; the kettle was the other $145.48.", True),
    ],
)
def test_a_value_with_its_article_a_multiple_and_a_share_of_it(answer: str, wrong: bool) -> None:
    assert flagged(answer, LAPTOP, "get_order_details") is wrong


# the kb's rule for moving a pending order to another payment method, its gift card sentence
BALANCE = "A gift card must have enough balance to pay the whole order total."


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("The gift card won't do: its $450.00 balance is less than the $612.40 total.", False),
        ("The gift card will do: its $450.00 balance is more than the $612.40 total.", True),
        ("Its $450.00 balance isn't more than the $612.40 total.", False),
    ],
)
def test_two_amounts_a_clause_compares_are_compared(answer: str, wrong: bool) -> None:
    question = "My order comes to $612.40 and my gift card has $450.00 on it. Can I use it?"
    assert asked(answer, question, BALANCE) is wrong


EXCHANGE = (
    "Items from an order whose status is **delivered** can be exchanged for another variant of "
    "the same product."
)


def test_what_the_customer_reports_is_counted_and_a_state_set_aside_is_no_swap() -> None:
    question = (
        "My girlfriend says you can only exchange pending orders. My coworker says any product "
        "is fine. My mom says a delivered order can be exchanged."
    )
    assert not asked("Exchanges are for delivered orders, not pending ones.", question, EXCHANGE)
    assert asked("Exchanges are for pending orders, not delivered ones.", question, EXCHANGE)
    assert not asked(
        "Your mom is right; the other two aren't. Delivered orders can be exchanged.",
        question,
        EXCHANGE,
    )
    # two of three reports are not "the other four"
    assert asked(
        "Your mom is right; the other four aren't. Delivered orders can be exchanged.",
        question,
        EXCHANGE,
    )


def test_a_question_in_the_evidence_says_nothing_can_be_done() -> None:
    asking = "Can the university sue for defamation? Most lawyers doubt it."
    stating = "The university can sue for defamation. Most lawyers doubt it."
    answer = "The university cannot sue for defamation."
    reasons = [r for c in desk(answer, asking).claims for r in c.reasons]
    assert not any("can be done" in r for r in reasons), reasons
    assert any("can be done" in r for c in desk(answer, stating).claims for r in c.reasons)
