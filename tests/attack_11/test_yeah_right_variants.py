""" "Yeah right" / "yes right" are sarcasm to the consent classifier, but the same dismissal
worded "Sure, right." / "Right, sure." or in French "Ouais, c'est ça" (the French "yeah, right")
reads as unambiguous consent, and the pending write would run."""

from __future__ import annotations

import pytest

from tether.policy.consent import action_targets, action_verb, classify_reply

TOOL = "cancel_pending_order"


@pytest.mark.parametrize("reply", ["Sure, right.", "Right, sure.", "Ouais, c'est ça."])
def test_yeah_right_in_other_words_is_not_consent(reply: str) -> None:
    targets = action_targets(TOOL, {"order_id": "order"})
    assert classify_reply("yeah right", action="cancel", targets=targets).reason == "sarcasm"
    reading = classify_reply(reply, action=action_verb(TOOL), targets=targets)
    assert not reading.confirmed, reading
