"""More readings from a blind set, each beside the near miss still caught.

- A size the question names, in a report too ("… buy the size 10 separately"), is the thing
  the customer is after: an answer may name it. Another size is still a number the evidence
  and the question lack.
- "its status changes to cancelled" says it becomes cancelled (not that a change was made to
  the order, which a rule about changed orders would be read against).
- Numbered steps run into one line ("Here's what happens: 1. You confirm … 2. …") are steps:
  their numbers are markers, no quantities.
- "She's right." is a verdict on the one the question quotes.
- "The status is now return requested" says the state the record is in after the act, and is
  read against the states the evidence says a record becomes.
- "A gift card doesn't have to cover the whole order" denies the obligation "must have enough
  balance to pay the whole order total" states.
"""

from __future__ import annotations

import pytest

from tests.grounding.common import MOVE, kb_flagged
from tether.grounding.text_forms import steps_on_lines

EXCHANGES = (
    "Exchanging delivered items Items from an order whose status is **delivered** can be "
    "exchanged for another variant of the **same product**, such as a different size or colour, "
    "provided that variant is available."
)
SIZES = (
    "My trail running shoes in size 9 are too small. A coworker told me you can't swap shoes for "
    "a different size once delivered — you have to return them and buy the size 10 separately."
)


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("A size 10 exchange is possible if it's available.", False),
        ("A size 11 exchange is possible if it's available.", True),
    ],
)
def test_a_size_the_question_names(answer: str, wrong: bool) -> None:
    assert kb_flagged(answer, EXCHANGES, SIZES) is wrong


CANCELLING = (
    "What happens next After you confirm, the order's status becomes **cancelled** and the full "
    "amount goes back to the payment method you used. An order whose items were already changed "
    "can no longer be cancelled."
)


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (
            "Here's what happens: 1. You confirm the cancellation. 2. The status changes to cancelled.",
            False,
        ),
        ("Once you confirm, the order's status changes to cancelled.", False),
        (
            "Here's what happens: 1. You confirm the cancellation. 2. The status changes to pending.",
            True,
        ),
        ("An order whose items were already changed can still be cancelled.", True),
    ],
)
def test_steps_and_a_status_changing_to_a_state(answer: str, wrong: bool) -> None:
    assert kb_flagged(answer, CANCELLING) is wrong


@pytest.mark.parametrize(
    ("text", "laid"),
    [
        ("Steps: 1. Do A. 2. Do B.", "Steps:\n1. Do A.\n2. Do B."),
        ("Pay $1. Then 2. More", "Pay $1. Then 2. More"),  # not numbered from one, in order
        ("It costs 2. Then 1. X", "It costs 2. Then 1. X"),
        ("Version 2. Done", "Version 2. Done"),
    ],
)
def test_steps_run_into_a_line(text: str, laid: str) -> None:
    assert steps_on_lines(text) == laid
    assert len(steps_on_lines(text)) == len(text)


SISTER = "My sister says the money goes straight back onto the gift card. Is she right?"


def test_a_verdict_by_pronoun_on_the_one_quoted() -> None:
    passage = "Money paid with a gift card returns to that card straight away."
    assert not kb_flagged(
        "She's right: money paid with a gift card goes back to that card straight away.",
        passage,
        SISTER,
    )
    assert kb_flagged(
        "She's right: money paid with a gift card takes 5 to 7 business days to come back.",
        passage,
        SISTER,
    )


NEXT = (
    "What happens next After you confirm, the status becomes **exchange requested** and an "
    "e-mail tells you how to send the original items back. You do not need to place a new order."
)


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (
            "The order's status is now return requested, and an e-mail will explain how to ship it back.",
            True,
        ),
        (
            "The order's status is now exchange requested, and an e-mail will explain how to ship it back.",
            False,
        ),
        ("The order is now marked exchange requested.", False),
        ("The order is now marked return requested.", True),
    ],
)
def test_the_state_it_is_now_in(answer: str, wrong: bool) -> None:
    assert kb_flagged(answer, NEXT) is wrong


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        (
            "A gift card doesn't have to cover the whole order, so the $450 could go toward it.",
            True,
        ),
        ("A gift card has to cover the whole order total, so a smaller balance won't do.", False),
        ("A gift card must have enough balance for the whole order.", False),
    ],
)
def test_an_obligation_denied(answer: str, wrong: bool) -> None:
    rule = MOVE.replace(
        "You can move",
        "A gift card must have enough balance to pay the whole order total. You can move",
    )
    assert kb_flagged(answer, rule) is wrong
