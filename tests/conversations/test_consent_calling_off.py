"""The action's own verb applied to the proposal calls it off: with a cancellation pending,
"cancel the request" / "cancel the action" / "cancel the cancellation" are no consent, and the
order is not cancelled; the verb on what the action acts on ("yes, cancel the order") or a
pronoun ("cancel it"), and "proceed with the request", still confirm."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conversations.proposed_write import proposing
from tether.domains.retail.pack import RETAIL
from tether.models.scripted import ScriptedModel, parse_script
from tether.policy.consent import action_targets, action_verb, classify_reply
from tether.sdk import build_desk
from tether.store import RunStore

TOOL = "cancel_pending_order"
CALLING_OFF = [
    "Cancel the request.",
    "Please cancel my request",
    "cancel the action",
    "Cancel the cancellation, please",
    "Please cancel the cancellation",
]


@pytest.mark.parametrize("reply", CALLING_OFF)
def test_calling_off_is_not_consent(reply: str) -> None:
    assert not classify_reply("cancel that", action="cancel").confirmed  # the known idiom
    reading = classify_reply(
        reply, action=action_verb(TOOL), targets=action_targets(TOOL, {"order_id": "order"})
    )
    assert not reading.confirmed, reading


@pytest.mark.parametrize(
    "reply",
    [
        "Yes, cancel the order",
        "Yes, cancel it.",
        "Please proceed with the request.",
        "Go ahead with the cancellation.",
        "OK, go ahead with the change",
    ],
)
def test_restating_the_action_still_confirms(reply: str) -> None:
    reading = classify_reply(
        reply, action=action_verb(TOOL), targets=action_targets(TOOL, {"order_id": "order"})
    )
    assert reading.confirmed, reading


def test_the_verb_on_the_proposal_is_no_consent_for_other_actions() -> None:
    targets = action_targets("modify_user_address", {"user_id": "user"})
    assert not classify_reply("Yes, modify the change.", action="modify", targets=targets).confirmed
    assert not classify_reply("Update the request", action="update", targets=targets).confirmed
    assert classify_reply("Yes, modify the address.", action="modify", targets=targets).confirmed


def test_cancel_the_request_does_not_cancel_the_order(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TETHER_HOME", str(tmp_path / "home"))
    store = RunStore.open(f"sqlite:///{tmp_path / 'tether.db'}")
    try:
        desk = build_desk(RETAIL, store, fresh=True)
        conversation = desk.runtime.converse("raj_sanchez_2970")
        turn = conversation.send(
            "Please cancel order #W4566809, I no longer need it. raj.sanchez2046@example.com",
            proposing(TOOL, {"order_id": "#W4566809", "reason": "no longer needed"}),
        )
        assert turn.run.decision.kind.value == "confirmation"
        done = conversation.send(
            "Cancel the request.",
            ScriptedModel(parse_script([{"answer": "Understood, I have not cancelled it."}])),
        )
        executed = [
            s for s in done.run.steps if s.data.get("tool") == TOOL and "evidence_id" in s.data
        ]
        assert executed == [], "'Cancel the request.' confirmed and ran the cancellation"
        assert done.run.decision.kind.value != "action"
    finally:
        store.close()
