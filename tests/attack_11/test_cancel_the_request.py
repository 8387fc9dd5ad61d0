"""With a cancellation pending, "cancel the request" / "cancel the action" / "cancel the
cancellation" call the proposed action off, yet the classifier reads the pending tool's verb
plus a generic object ("the request", "the action", "the cancellation") as a restated yes, and
the order is cancelled. ("cancel that" is already a negation cue; these near-misses are not.)"""

from __future__ import annotations

from pathlib import Path

import pytest

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


def test_cancel_the_request_does_not_cancel_the_order(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TETHER_HOME", str(tmp_path / "home"))
    store = RunStore.open(f"sqlite:///{tmp_path / 'tether.db'}")
    try:
        desk = build_desk(RETAIL, store, fresh=True)
        conversation = desk.runtime.converse("raj_sanchez_2970")
        turn = conversation.send(
            "Please cancel order #W4566809, I no longer need it. raj.sanchez2046@example.com",
            ScriptedModel(
                parse_script(
                    [
                        {
                            "tool": "find_user_id_by_email",
                            "args": {"email": "raj.sanchez2046@example.com"},
                        },
                        {"tool": "get_order_details", "args": {"order_id": "#W4566809"}},
                        {
                            "tool": TOOL,
                            "args": {"order_id": "#W4566809", "reason": "no longer needed"},
                        },
                    ]
                )
            ),
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
