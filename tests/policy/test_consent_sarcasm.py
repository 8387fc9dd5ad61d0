"""The sarcastic "yeah right" is any bare agreement word next to a bare "right", in either
order and with any punctuation between ("Sure, right.", "Right, sure."), and in French
"ouais, c'est ça": none confirms the pending write. A "right" inside "all right", "that's
right" or "right away" is no such pairing, so those replies still confirm."""

from __future__ import annotations

import pytest

from tether.policy.consent import action_targets, action_verb, classify_reply

TOOL = "cancel_pending_order"
TARGETS = action_targets(TOOL, {"order_id": "order"})


@pytest.mark.parametrize(
    "reply", ["Sure, right.", "Right, sure.", "Ouais, c'est ça.", "OK, right.", "Right, yes."]
)
def test_yeah_right_in_other_words_is_not_consent(reply: str) -> None:
    assert classify_reply("yeah right", action="cancel", targets=TARGETS).reason == "sarcasm"
    reading = classify_reply(reply, action=action_verb(TOOL), targets=TARGETS)
    assert not reading.confirmed, reading
    assert reading.reason == "sarcasm", reading


@pytest.mark.parametrize(
    "reply",
    [
        "Right, go ahead.",
        "All right, sure.",
        "Yes, that's right.",
        "That's right, sure.",
        "Sure, right away.",
        "Oui, c'est ça.",
    ],
)
def test_right_in_a_phrase_of_its_own_still_confirms(reply: str) -> None:
    reading = classify_reply(reply, action=action_verb(TOOL), targets=TARGETS)
    assert reading.confirmed, reading
