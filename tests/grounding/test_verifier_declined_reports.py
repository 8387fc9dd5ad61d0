"""What the customer reports someone told them may be declined by naming whose it is ("your
nephew's serial numbers aren't needed", "the forum's $500 limit isn't part of our rule"), or by
saying the rules hold none of it ("there's no $10 floor", "I have nothing that lets …"). Granting
it, endorsing it with a denial of its own ("a gift card can't take more than $500"), or naming
the reporter without denying anything, still says it."""

from __future__ import annotations

import pytest

from tests.grounding.test_customer_words import desk_allows
from tether.core.types import Evidence
from tether.grounding.sources import Referents

CANCELLED = (
    "What happens next\nAfter you confirm, the order's status becomes **cancelled** and the full "
    "amount goes back to the payment method you used. Money paid with a gift card returns to "
    "that card straight away; other payment methods take 5 to 7 business days."
)
REFUND_TO = (
    "Where the refund goes\nA refund can only be paid to the payment method originally used for "
    "the order, or to a gift card that already exists on your account. We cannot send it to any "
    "other card or account."
)
PAYMENT = (
    "Payment method\nYou can move the order to one other payment method that you already hold. "
    "A gift card can pay only if its balance covers the whole order total."
)
TEN_DAYS = (
    "I cancelled order #W100, paid by credit card. My brother-in-law swears the money only "
    "comes back after ten days. When do I get it?"
)
FORUM = (
    "I'm returning my boots, paid with my gift card. A forum thread claims a gift card can't "
    "take more than $500 of a refund in one go. Where can the money go?"
)
FLOOR = (
    "Can I move my $157.61 order to my gift card? It has $160 on it. The chat agent told me a "
    "gift card has to keep at least $10 on it after paying."
)

WINDOW = (
    "I changed the items on my order #W200 last week. The bot told me an order whose items were "
    "changed can still be cancelled within 48 hours. Can I cancel it?"
)
CANCELLED_RULE = "An order whose items were already changed can no longer be cancelled."

FEE = (
    "My $903.95 refund is going back to my credit card. A forum says paying $9.99 brings any "
    "refund down to 24 hours. Is that worth it?"
)
TAKES = (
    "How long a refund takes\n- **Gift card:** the money is back on the card immediately.\n"
    "- **Credit card or PayPal:** the refund takes 5 to 7 business days to arrive."
)


def kb(text: str) -> list[Evidence]:
    return [Evidence("kb:1", "kb:policy", text)]


def test_who_reported_it_is_read_from_the_words_before_the_report() -> None:
    assert {"brother", "law"} <= Referents.of(TEN_DAYS).reporters
    assert {"forum", "thread"} <= Referents.of(FORUM).reporters
    # a question reporting nothing names no reporter
    assert not Referents.of("When does the refund for order #W100 arrive?").reporters


@pytest.mark.parametrize(
    ("said", "passage", "answer", "allowed"),
    [
        # declined by naming whose it is
        (TEN_DAYS, CANCELLED,
         "Your brother-in-law's ten days don't apply here. A credit card refund takes 5 to 7 "
         "business days.", True),
        (FORUM, REFUND_TO,
         "The forum's $500 limit isn't part of our rule: the refund goes to the gift card you "
         "paid with or one already on your account.", True),
        # granted, endorsed with a denial of its own, or the reporter named without a denial
        (TEN_DAYS, CANCELLED,
         "As your brother-in-law said, the money comes back after ten days.", False),
        (TEN_DAYS, CANCELLED,
         "Your brother-in-law's ten days are right for a credit card refund.", False),
        (FORUM, REFUND_TO,
         "A gift card can't take more than $500 of a refund, so the rest goes to another card.",
         False),
        # a denial of error or doubt grants the report, whoever it is named as
        (TEN_DAYS, CANCELLED, "Your brother-in-law's not wrong, the money comes back after ten days.",
         False),
        (FORUM, REFUND_TO, "The forum's $500 limit isn't wrong, so the rest goes to another card.",
         False),
        (FORUM, REFUND_TO, "The forum's $500 limit isn't something I can dispute.", False),
        # declined as something the rules hold none of
        (FLOOR, PAYMENT,
         "Yes: the $160 covers the $157.61, so there's no $10 floor to worry about.", True),
        (FLOOR, PAYMENT, "A $10 minimum left on the card: not part of our rule.", True),
        (FLOOR, PAYMENT,
         "The gift card has to keep $10 on it, so $160 doesn't cover the $157.61.", False),
        (FLOOR, PAYMENT,
         "The card can't go below $10 after paying, so you'd need a balance of $167.61.", False),
        # declined as something the rules have none of
        (WINDOW, CANCELLED_RULE, "Our rule gives no 48-hour window: it can no longer be cancelled.",
         True),
        (WINDOW, CANCELLED_RULE, "You have a 48-hour window in which it can still be cancelled.",
         False),
        # the rules said to hold none of a reported timing: no timing of the rules
        (FEE, TAKES, "Our timings have no paid option that brings it down to 24 hours, so I "
         "wouldn't pay the $9.99.", True),
        (FEE, TAKES, "For $9.99 the refund comes back within 24 hours.", False),
        # a label declined as not in the rules, and "isn't part of"
        (FEE, TAKES, "A refund in 24 hours for $9.99: not in our timings.", True),
        (FEE, TAKES, "A refund in 24 hours for $9.99: yours today.", False),
        (FEE, TAKES, "A paid 24-hour refund isn't part of our timings, so I wouldn't pay the $9.99.",
         True),
    ],
)  # fmt: skip
def test_a_report_declined_by_name_or_as_no_rule(
    said: str, passage: str, answer: str, allowed: bool
) -> None:
    assert desk_allows(said, answer, kb(passage)) is allowed


@pytest.mark.parametrize(
    ("answer", "allowed"),
    [
        ("The refund can go to the gift card you used or to another gift card already on your "
         "account, and to nothing else.", True),
        # a card the evidence does not allow, or a gift card made for the purpose
        ("The refund can go to the gift card you used or to another card on your account.", False),
        ("The refund can go to the gift card you used or to another gift card we open for you.",
         False),
    ],
)  # fmt: skip
def test_another_of_a_kind_the_evidence_allows(answer: str, allowed: bool) -> None:
    said = "I paid for my boots with a gift card. Where can the refund go?"
    assert desk_allows(said, answer, kb(REFUND_TO)) is allowed


NEEDED = (
    "What we need from you\n- the order id,\n- the list of items you are sending back, and\n"
    "- where the refund should go."
)
ASKED_MORE = (
    "I'm returning the makeup kit from order #W1523776. My flatmate says you'll also want the "
    "address I'm posting it from and the kit's condition. What do you need?"
)


@pytest.mark.parametrize(
    ("answer", "allowed"),
    [
        # a subject in two parts joined by "and", declined as one
        ("The address you'll post from and the kit's condition aren't on that list.", True),
        ("The address you'll post from or the kit's condition isn't something we need.", True),
        # the same subject granted
        ("The address you'll post from and the kit's condition are on that list.", False),
        ("The address you'll post from and the kit's condition are needed too.", False),
    ],
)
def test_a_report_declined_with_a_subject_in_two_parts(answer: str, allowed: bool) -> None:
    assert desk_allows(ASKED_MORE, answer, kb(NEEDED)) is allowed


@pytest.mark.parametrize(
    ("answer", "allowed"),
    [
        # a heading that declines the list after it
        ("Not needed: the address you're posting from, or the kit's condition.", True),
        ("No need for: the address you're posting from or the kit's condition.", True),
        ("Also not required: the address you're posting from, or the kit's condition.", True),
        # a heading that asks for it, or a label before a granting clause, declines nothing
        ("Needed too: the address you're posting from, or the kit's condition.", False),
        ("Good news: we need the address you're posting from and the kit's condition.", False),
    ],
)
def test_a_heading_declining_the_list_after_it(answer: str, allowed: bool) -> None:
    assert desk_allows(ASKED_MORE, answer, kb(NEEDED)) is allowed


MASTERCARD = (
    "I paid for my order with PayPal and I'm closing that account. A coworker says the refund "
    "simply goes onto my Mastercard ending 3762 instead. Where can it go?"
)


@pytest.mark.parametrize(
    ("answer", "allowed"),
    [
        # a label answered "no", whatever follows the "no"
        ("Mastercard ending 3762: no, it's another card.", True),
        ("Mastercard ending 3762: no.", True),
        ("Mastercard ending 3762: yes, it can take the refund.", False),
    ],
)
def test_a_label_answered_no_declines_it(answer: str, allowed: bool) -> None:
    assert desk_allows(MASTERCARD, answer, kb(REFUND_TO)) is allowed


@pytest.mark.parametrize(
    ("answer", "allowed"),
    [
        ("It can no longer be cancelled, and nothing in our rule gives a 48-hour window.", True),
        ("It can no longer be cancelled; nothing in the rules allows 48 hours.", True),
        # the window granted, not declined
        ("It can still be cancelled within the 48-hour window the bot mentioned.", False),
    ],
)
def test_nothing_in_the_rules_declines_what_it_names(answer: str, allowed: bool) -> None:
    assert desk_allows(WINDOW, answer, kb(CANCELLED_RULE)) is allowed
