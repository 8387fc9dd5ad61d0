"""What the customer said is read, never trusted: the run path hands the verifier the
customer's latest message as the question, as `tether eval grounding` hands it a benchmark's
question. An answer may name what the customer named ("your Mastercard") and work with the
amounts they give where no record does; a claim made of nothing but the customer's words, or
repeating what they report someone promised, is not grounded by them. Where a record is, the
record, not the customer, says what holds: an answer correcting the customer by it passes.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from tests.grounding.common import context
from tether.core.types import Effect, Evidence, Message, ModelTurn, TurnKind
from tether.domains.retail.pack import RETAIL
from tether.grounding.evidence_set import MAX_QUESTION_CHARS, EvidenceSet
from tether.grounding.verify import ClaimCheck, asked

REFUNDS = (
    "How long a refund takes\n- **Gift card:** the money is back on the card immediately.\n"
    "- **Credit card or PayPal:** the refund takes 5 to 7 business days to arrive."
)
ORDER: dict[str, Any] = {
    "order_id": "#W100",
    "status": "pending",
    "items": [{"name": "Desk Lamp", "price": 30.5}],
}


def desk_allows(said: str, answer: str, evidence: list[Evidence] | None = None) -> bool:
    """Whether the retail desk's answer check lets `answer` out after the customer said
    `said` (as their latest message, after an earlier one of their own)."""
    check = ClaimCheck(RETAIL.grounding.verifier())
    evidence = evidence or [Evidence("kb:1", "kb:refunds", REFUNDS)]
    messages = (
        Message("user", "Hi, I have a question about a refund."),
        Message("assistant", "Of course, what would you like to know?"),
        Message("user", said),
    )
    ctx = replace(context(evidence), messages=messages)
    verdict = check(ctx, ModelTurn(TurnKind.ANSWER, answer, citations=()))
    return verdict.effect is Effect.ALLOW


def order_evidence() -> list[Evidence]:
    return [Evidence("tool:1", "tool:get_order_details", json.dumps(ORDER))]


ASSERTED = [
    # reported: what someone is said to have promised
    (
        "Your agent promised me a $100 credit for the delay. When do I get it?",
        "You'll get the $100 credit for the delay within 5 to 7 business days.",
    ),
    (
        "Your colleague said I get free express shipping on my next order. Confirm?",
        "Yes, you get free express shipping on your next order.",
    ),
    (
        "I was told refunds to PayPal are instant. Is that right?",
        "Yes, refunds to PayPal are instant.",
    ),
    (
        "Someone on your chat line assured me refunds to PayPal are instant. Right?",
        "Yes, refunds to PayPal are instant.",
    ),
    (
        "The website says I get a $20 voucher for the late delivery. Where is it?",
        "Your $20 voucher for the late delivery is on its way.",
    ),
    # asked or asserted outright: the answer says the customer back
    (
        "Do I get free express shipping on my next order?",
        "Yes, you get free express shipping on your next order.",
    ),
    (
        "I get free express shipping on my next order, right?",
        "Yes, you get free express shipping on your next order.",
    ),
    (
        "I'm owed a $20 voucher for the late delivery. Where is it?",
        "Your $20 voucher for the late delivery is on its way.",
    ),
    # what the customer says back, with an answer the evidence contradicts
    (
        "I paid with PayPal. How long will my refund take?",
        "Your PayPal refund is immediate.",
    ),
]


@pytest.mark.parametrize(("said", "answer"), ASSERTED)
def test_an_answer_grounded_only_in_the_customers_words_is_stopped(said: str, answer: str) -> None:
    assert not desk_allows(said, answer)


@pytest.mark.parametrize(
    ("said", "answer"),
    [
        ("I paid with PayPal. How long will my refund take?", "Your PayPal refund takes 5 to 7 business days."),
        (
            "I paid with my Mastercard. When is the money back?",
            "The refund to your Mastercard takes 5 to 7 business days to arrive.",
        ),
    ],
)  # fmt: skip
def test_an_answer_may_name_what_the_customer_named(said: str, answer: str) -> None:
    assert desk_allows(said, answer)
    # the name is the customer's: said by no one, it is a name the evidence lacks
    assert not desk_allows("How long will my refund take?", answer.replace("PayPal", "Venmo"))


def test_a_record_not_the_customer_says_what_holds() -> None:
    said = "Where is my delivered order #W100? It never came."
    # the answer corrects the customer by the record
    assert desk_allows(
        said, "Order #W100 is still pending, so it has not shipped yet.", order_evidence()
    )
    # and one agreeing with the customer against the record is stopped
    assert not desk_allows(said, "Your order #W100 has been delivered.", order_evidence())
    # an amount the customer gives is no referent where a record gives the customer's amounts
    assert not desk_allows(
        "My $35 desk lamp from order #W100 is broken.",
        "Your $35 desk lamp is from order #W100.",
        order_evidence(),
    )


def test_the_question_is_the_customers_latest_message() -> None:
    messages = (
        Message("user", "first"),
        Message("assistant", "reply"),
        Message("user", "latest"),
        Message("tool", "a tool's output"),
        Message("context", "a retrieved passage"),
    )
    assert asked(messages) == "latest"
    assert asked(()) == ""
    assert asked((Message("assistant", "only the agent spoke"),)) == ""


@pytest.mark.parametrize(
    "question",
    [
        "I paid with my Mastercard\x00.",
        "I paid with my Mastercard\ud800.",
        "I paid with my Mastercard. " * (MAX_QUESTION_CHARS // 20),
        b"I paid with my Mastercard.",
        None,
        42,
    ],
)
def test_a_question_that_cannot_be_read_is_dropped_whole(question: Any) -> None:
    """The answer is checked as if the customer said nothing: the name is one the evidence lacks."""
    evidence = EvidenceSet.from_items([Evidence("kb:1", "kb:refunds", REFUNDS)])
    evidence.ask(question)
    assert evidence.question == ""
    assert not evidence.problems
    verifier = RETAIL.grounding.verifier()
    answer = "The refund to your Mastercard takes 5 to 7 business days to arrive."
    assert verifier.verify(answer, evidence).flagged
    evidence.ask("I paid with my Mastercard.")
    assert not verifier.verify(answer, evidence).flagged


def test_what_the_customer_says_they_hold_yields_to_the_record() -> None:
    said = "I don't have a gift card yet. Where can my refund go?"
    rule = Evidence(
        "kb:1",
        "kb:refunds",
        "A refund can only be paid to the payment method originally used for the order, or to "
        "a gift card that already exists on your account.",
    )
    answer = "You have a gift card, so the refund can go there."
    # by the customer's own account, with nothing else to go on, the answer contradicts them
    assert not desk_allows(said, answer, [rule])
    # a record of their account holding one says otherwise, and it is the record that counts
    user = {"user_id": "sara_lee_1", "payment_methods": {"gift_card_7": {"source": "gift_card"}}}
    record = Evidence("tool:1", "tool:get_user_details", json.dumps(user))
    assert desk_allows(said, answer, [rule, record])


def test_the_customers_account_is_denied_only_in_its_own_words() -> None:
    said = (
        "My pending order needs the espresso machine changed to the 1L one, and I'd like a "
        "person to do it. Will you put me through?"
    )
    rule = Evidence(
        "kb:1",
        "kb:people",
        "When we transfer you, a colleague continues from a short summary of your request, so "
        "you need not repeat it.",
    )
    # another verb for the same things denies nothing the customer said
    fine = "You won't need to explain the espresso machine again: a colleague has a summary."
    assert desk_allows(said, fine, [rule])
    # the customer's own words, denied, still contradict them
    assert not desk_allows(said, "You don't need the espresso machine changed.", [rule])


PROMISED = "The agent I chatted with said I'd get a $20 credit for the trouble. How do I return it?"


@pytest.mark.parametrize(
    ("answer", "allowed"),
    [
        # declining what the customer was promised names it
        ("I can't confirm any $20 credit; refunds to PayPal take 5 to 7 business days.", True),
        ("A $20 credit isn't something I can offer, but a PayPal refund takes 5 to 7 business days.", True),
        # granting it, or putting it off, is saying it
        ("Your $20 credit arrives within 5 to 7 business days.", False),
        ("You won't get the $20 credit until the refund arrives in 5 to 7 business days.", False),
    ],
)  # fmt: skip
def test_what_the_customer_was_promised_may_be_declined_by_name(answer: str, allowed: bool) -> None:
    assert desk_allows(PROMISED, answer) is allowed


EXCHANGES = (
    "Items from an order whose status is delivered can be exchanged for another variant of the "
    "same product, such as a different colour, provided that variant is available."
)


@pytest.mark.parametrize(
    ("said", "answer", "allowed"),
    [
        # only what the customer reports someone said is cut out of the question, not the rest
        (
            "I read that exchanges only work while an order is pending, but can I swap my gold "
            "smart watch for the silver smart watch?",
            "A delivered order's items can be exchanged for another variant, provided that "
            "variant is available, so the silver smart watch works.",
            True,
        ),
        (
            "I read that exchanges only work while an order is pending, but can I swap my gold "
            "smart watch for the silver smart watch?",
            "Gold to silver smart watch: yes, provided the silver one is available.",
            True,
        ),
        # a sentence saying back what the customer asks is the customer's words
        (
            "I want to swap the gold smart watch from my delivered order. What do you need?",
            "You're swapping the gold smart watch and asking what we need.",
            True,
        ),
        # nothing but the customer's words, in a sentence the evidence does not speak to
        (
            "Can I swap my gold smart watch for the silver smart watch and get a free strap?",
            "Yes, you get a free strap with the silver smart watch.",
            False,
        ),
    ],
)
def test_the_customers_things_are_named_in_applying_the_evidence(
    said: str, answer: str, allowed: bool
) -> None:
    assert desk_allows(said, answer, [Evidence("kb:1", "kb:exchanges", EXCHANGES)]) is allowed


def test_a_difference_of_the_customers_own_amounts_is_theirs_to_name() -> None:
    said = "My pending order came to $463.43. My gift card has $400 left on it. Can it pay?"
    rule = Evidence(
        "kb:1", "kb:payment", "A gift card can pay for an order only if its balance covers it."
    )
    assert desk_allows(said, "No: the gift card is $63.43 short of the $463.43.", [rule])
    assert not desk_allows(said, "No: the gift card is $73.43 short of the $463.43.", [rule])


RETURNS = (
    "To start a return we need the order id, the list of items you are sending back, and where "
    "the refund should go. A refund can only be paid to the payment method originally used for "
    "the order, or to a gift card that already exists on your account."
)
TOLD = (
    "Hi, Sophia here. I want to return the perfume, which was $289.66 on my credit card. The "
    "agent said the refund could go to my husband's PayPal, and that a $10 fee for the return "
    "label would be taken off. What do you need from me?"
)


@pytest.mark.parametrize(
    ("answer", "allowed"),
    [
        # what the customer was told, said again as fact, in words only the report uses
        ("We need the order id and the items; the $10 return label fee is taken off the refund.", False),
        ("Send the order id, the items and where the refund goes; the label fee comes off it.", False),
        # denied, declined, or a label for a denial
        ("We need the order id, the items and where the refund should go; it can't go to your husband's PayPal.", True),
        ("Your husband's PayPal: not possible. The refund goes to the credit card you paid with.", True),
        ("We need the order id and the items, Sophia, and where the refund should go.", True),
        # said back as what the customer asks
        ("You're returning the $289.66 perfume and asking what we need: the order id, the items and where the refund should go.", True),
    ],
)  # fmt: skip
def test_what_the_customer_was_told_is_no_evidence_said_again(answer: str, allowed: bool) -> None:
    assert desk_allows(TOLD, answer, [Evidence("kb:1", "kb:returns", RETURNS)]) is allowed


VERIFY = (
    "Before we look at any order, we verify your identity: tell us the e-mail address on your "
    "account, or your first name, last name and zip code. Once you are verified we can tell you "
    "about your own profile, your orders and the products in them, for example to help you find "
    "an order id."
)


@pytest.mark.parametrize(
    "answer",
    [
        # the customer's name, said to them, is no member of a list put in another's place
        "Happy to help find the lamp's order id, Sophia, once you're verified.",
        # an amount with a decimal point does not end the sentence saying back what they ask
        "You're after the $164.28 desk lamp and asking about it.",
    ],
)
def test_the_customer_is_addressed_and_answered_in_their_own_words(answer: str) -> None:
    said = "Hi, Sophia here, zip 76197. I want the order id for the $164.28 desk lamp I bought."
    assert desk_allows(said, answer, [Evidence("kb:1", "kb:verify", VERIFY)])


SISTER = (
    "I want to send back the air purifier; it was $547.55 on my gift card. The agent said the "
    "refund could go onto my sister's gift card, as she's the one who'll use it, and that I'd "
    "get a $25 voucher on top for the trouble. What do you need from me?"
)


@pytest.mark.parametrize(
    ("answer", "allowed"),
    [
        # a report reads on through what hangs on it (", as …, and that …")
        ("Send the order id, the item and where the refund should go; you'll get the $547.55 back, plus the $25 voucher for the trouble.", False),
        # the answer saying the report holds needs only one of its words
        ("We need the order id, the item and where the refund goes; as the agent said, it can go to your sister's card.", False),
        # declined in other words, or said back as what the customer asks
        ("We need the order id, the item and where the refund should go. The $25 voucher: nothing I can confirm.", True),
        ("You'd like to send back the air purifier and ask whether the voucher for the trouble is yours.", True),
        ("You're asking whether the voucher stands, since the agent said you'd get a voucher for the trouble.", True),
        # saying back what they ask first does not let the answer grant it after
        ("You're asking about the voucher, and yes, you get a voucher for the trouble.", False),
        ("You're asking about the voucher, and yes, you get the $25 voucher.", False),
    ],
)  # fmt: skip
def test_a_report_is_read_whole_and_an_answer_endorsing_it_is_stopped(
    answer: str, allowed: bool
) -> None:
    assert desk_allows(SISTER, answer, [Evidence("kb:1", "kb:returns", RETURNS)]) is allowed


COURIER = (
    "I paid $45.90 on my Visa for the lamp I cancelled. The agent said a courier would swap the "
    "shelves on one visit and that the Visa refund would be back within 24 hours. When is it back?"
)


@pytest.mark.parametrize(
    ("answer", "allowed"),
    [
        # a timing denied is no timing said, whichever subject the sentence gives it
        ("The $45.90 takes 5 to 7 business days to reach your Visa, so it won't be back within 24 hours, whatever the agent said.", True),
        # what the customer was told, named in a sentence denying it
        ("A courier swapping the shelves on one visit: not something I can confirm. Your Visa refund takes 5 to 7 business days.", True),
        # granted, it is still said again
        ("A courier will swap the shelves on one visit, and your Visa refund takes 5 to 7 business days.", False),
        ("Your Visa refund will be back within 24 hours.", False),
        ("You won't wait long: the $45.90 is back on your Visa within 24 hours.", False),
    ],
)  # fmt: skip
def test_what_the_customer_was_told_may_be_denied_in_so_many_words(
    answer: str, allowed: bool
) -> None:
    assert desk_allows(COURIER, answer) is allowed


@pytest.mark.parametrize(
    ("said", "answer", "allowed"),
    [
        # what the customer was told is no account of theirs for an answer to contradict
        (
            "I'm returning a lamp. The bot told me that since it was a gift card order you'd "
            "send me a bank transfer for the $30.50 instead. Where does the refund go?",
            "Refund: your gift card, not a bank transfer.",
            True,
        ),
        # what they say of themselves still is
        (
            "I paid with PayPal, and the bot told me the refund would go to a gift card.",
            "You paid with a gift card, so the refund goes back to it.",
            False,
        ),
    ],
)
def test_what_the_customer_was_told_is_not_their_own_account(
    said: str, answer: str, allowed: bool
) -> None:
    assert desk_allows(said, answer, [Evidence("kb:1", "kb:returns", RETURNS)]) is allowed


HOLD = (
    "The agent said you'd keep a blue lamp back for me until it's in stock again. Can I "
    "exchange my delivered lamp for it?"
)


@pytest.mark.parametrize(
    ("answer", "allowed"),
    [
        # setting aside what the customer was told names it, in words of its own
        ("You can exchange it for the blue lamp only while that variant is available, whatever the agent told you about keeping one back.", True),
        ("Regardless of what the agent promised, an exchange needs the variant to be available.", True),
        ("An exchange needs the variant to be available, though, whatever was said on the phone about putting a lamp aside for you.", True),
        # what follows the setting aside is the answer's own
        ("Whatever the agent said, we'll keep one back for you until it's restocked.", False),
        ("Whatever the agent said, the exchange also ships free by express courier.", False),
    ],
)  # fmt: skip
def test_setting_aside_what_the_customer_was_told_adds_nothing(answer: str, allowed: bool) -> None:
    assert desk_allows(HOLD, answer, [Evidence("kb:1", "kb:exchanges", EXCHANGES)]) is allowed


def test_a_report_runs_on_past_but_that() -> None:
    """What follows ", but that" in a report is reported too ("the agent said it's sold out,
    but that he'd post me a spare bulb"): no words of the customer's own to grant it in."""
    said = (
        "The agent said the blue lamp is sold out, but that he'd post me a spare bulb for free. "
        "Can I exchange my delivered lamp?"
    )
    evidence = [Evidence("kb:1", "kb:exchanges", EXCHANGES)]
    granted = (
        "It can be exchanged for a variant that is available, and a spare bulb is posted to "
        "you for free."
    )
    assert not desk_allows(said, granted, evidence)
    assert desk_allows(
        said,
        "Yes, it can be exchanged for another variant, provided that variant is available.",
        evidence,
    )


DIFFERENCE = (
    "If the new variant costs more, the difference is charged to a payment method you choose "
    "from your account."
)
OUTSIDE = (
    "The bot told me I could give the courier cash for the $12 difference, and that once "
    "verified I stay verified for a month. Right?"
)


@pytest.mark.parametrize(
    ("answer", "allowed"),
    [
        # what the customer was told, put outside what the rules say
        ("Paying the courier in cash falls outside how a difference gets paid.", True),
        ("Cash for the courier is the bot's idea; the difference goes on a payment method you choose.", True),
        ("Cash to the courier goes further than our rules do: the difference is charged to a payment method you choose.", True),
        ("Verified for a month: nowhere in our steps.", True),
        ("Staying verified for a month is a point our steps are silent on.", True),
        # granted, it is said again
        ("You can give the courier cash for the $12 difference.", False),
        ("Once verified, you stay verified for a month.", False),
    ],
)  # fmt: skip
def test_what_the_customer_was_told_may_be_put_outside_the_rules(
    answer: str, allowed: bool
) -> None:
    evidence = [
        Evidence("kb:1", "kb:difference", DIFFERENCE),
        Evidence("kb:2", "kb:verify", VERIFY),
    ]
    assert desk_allows(OUTSIDE, answer, evidence) is allowed


USER_ID = (
    "We ask for this even when you already know your user id: a user id on its own does not "
    "prove who you are, so we still look you up by e-mail or by name and zip."
)
NO_USER_ID = "I haven't got my user id to hand, so I suppose you can't verify me today?"


@pytest.mark.parametrize(
    ("answer", "allowed"),
    [
        # said back, the customer's negation included, it asserts nothing
        ("You're asking whether we can verify you without your user id.", True),
        ("You're asking whether we can verify you without your user id. We can, by e-mail.", True),
        # what follows is the answer's own
        ("You're asking whether we can verify you without your user id, and we can't.", False),
        # a word neither the customer nor the evidence uses is no saying back
        ("You're asking whether we can verify you without your user id within 10 minutes.", False),
    ],
)
def test_saying_back_what_the_customer_asks_asserts_nothing(answer: str, allowed: bool) -> None:
    evidence = [Evidence("kb:1", "kb:verify", VERIFY), Evidence("kb:2", "kb:user-id", USER_ID)]
    assert desk_allows(NO_USER_ID, answer, evidence) is allowed


def test_a_record_contradicting_what_is_said_back_still_stops_it() -> None:
    said = "My order #W100 was delivered last week. Can I still change its address?"
    answer = (
        "You're asking whether the address can still change, since your order has been delivered."
    )
    assert not desk_allows(said, answer, order_evidence())


EXCHANGE = (
    "Exchanging delivered items\nItems from an order whose status is **delivered** can be "
    "exchanged for another variant of the **same product**, such as a different size or colour, "
    "provided that variant is available. Exchanging for a different kind of product is not "
    "possible; for that, return the item instead."
)
COUNTER = (
    "My black tablet, paid from my gift card, was delivered on Thursday, and I'd like the "
    "silver one instead. The man on your helpline said I could just take it into one of your "
    "stores and they'd swap it over the counter. Is that possible?"
)


def counter_claim(answer: str) -> str:
    """The status of the one claim of `answer`, after the customer asked COUNTER."""
    evidence = [Evidence("kb:1", "kb:exchange", EXCHANGE)]
    found = RETAIL.grounding.verifier().verify_items(answer, evidence, question=COUNTER)
    (claim,) = found.claims
    return claim.status


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        # declining the report names it, and adds nothing the evidence lacks
        ("A swap over a shop counter is no part of the exchange rule I have.", "supported"),
        ("A store counter doesn't feature in our exchange rule, so I can't send you there.", "supported"),
        ("The swap over the counter: no part of our exchange rule.", "supported"),
        ("I can't send you to a store for a counter swap.", "supported"),
        # granting it, or saying what the evidence never does, is another matter
        ("A swap over a shop counter is part of the exchange rule I have.", "unsupported"),
        ("A swap over the counter is a thing our stores do.", "unsupported"),
        ("The counter works.", "unsupported"),
        ("Our shop staff at the counter never refuse a gift wrap.", "unsupported"),
    ],
)  # fmt: skip
def test_a_clause_declining_what_the_customer_was_told_adds_nothing(
    answer: str, status: str
) -> None:
    assert counter_claim(answer) == status


@pytest.mark.parametrize(
    ("answer", "allowed"),
    [
        (
            "You're asking whether a tablet bought with a gift card can be exchanged at all. It "
            "can, as long as your order is delivered and the silver variant is available, gift "
            "card and all. A swap over a shop counter is no part of the exchange rule I have, so "
            "I can't send you to a store for it.",
            True,
        ),
        (
            "Black to silver works while the silver one is available, and as the man on the "
            "helpline said, you can take it into one of our stores and have it swapped over the "
            "counter.",
            False,
        ),
    ],
)
def test_an_answer_declining_the_report_passes_and_one_granting_it_does_not(
    answer: str, allowed: bool
) -> None:
    assert desk_allows(COUNTER, answer, [Evidence("kb:1", "kb:exchange", EXCHANGE)]) is allowed


KEPT = (
    "The agent said that since the blue earbuds only cost $258.97, I could just keep them "
    "rather than post them back. Should I order the new pair myself?"
)
EXCHANGE_NEXT = (
    "What happens next\nAfter you confirm, the status becomes **exchange requested** and an "
    "e-mail tells you how to send the original items back. You do not need to place a new order."
)


@pytest.mark.parametrize(
    ("answer", "allowed"),
    [
        # declining what the report offers may name its amount, to the cent, in any form
        ("Keeping the $258.97 earbuds \u2192 no; the original items are sent back.", True),
        ("Keeping the $258.97 earbuds: no.", True),
        ("The $258.97 earbuds aren't yours to keep.", True),
        # granting it, or naming the amount in denying something else, is saying it
        ("Keeping the $258.97 earbuds \u2192 yes; the original items are not sent back.", False),
        ("The $258.97 earbuds are yours to keep.", False),
        ("You do not need to place a new order for the $258.97 earbuds.", False),
    ],
)  # fmt: skip
def test_an_amount_of_the_report_may_be_named_in_declining_it(answer: str, allowed: bool) -> None:
    assert desk_allows(KEPT, answer, [Evidence("kb:1", "kb:exchange", EXCHANGE_NEXT)]) is allowed


NEEDS = (
    "What we need from you\n- the order id,\n- the list of items you are sending back, and\n"
    "- where the refund should go.\nWhere the refund goes\nA refund can only be paid to the "
    "payment method originally used for the order, or to a gift card that already exists on your "
    "account."
)
SENDING = (
    "I want to send back the urethane dumbbell set from my delivered order and keep the keyboard. "
    "The agent said the refund could go straight into my bank account by transfer. What do you "
    "need?"
)


@pytest.mark.parametrize(
    ("answer", "allowed"),
    [
        # a label in the evidence's words, filled in with the customer's own
        ("Items going back: the urethane dumbbell set only.", True),
        ("Items you are sending back \u2192 the urethane dumbbell set, not the keyboard.", True),
        # filled in with words no one used, or with what the customer was told; a label of the
        # answer's own filled in with the customer's words
        ("Items going back: the titanium kettlebell rack and matching chalk bag.", False),
        ("Where the refund should go: your bank account, by transfer.", False),
        ("Express delivery: free for the urethane dumbbell set.", False),
    ],
)  # fmt: skip
def test_a_label_of_the_evidences_words_is_filled_in_with_the_customers(
    answer: str, allowed: bool
) -> None:
    assert desk_allows(SENDING, answer, [Evidence("kb:1", "kb:returns", NEEDS)]) is allowed
