"""An ASCII face reads as the emoji of the same face: a sad or winking one next to a yes
(":(" as 🙁, ";)" as 😉) is no consent and the pending cancellation does not run, while a
smile (":)" as 🙂) next to a clear yes still confirms."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conversations.proposed_write import proposing
from tether.domains.retail.pack import RETAIL
from tether.models.scripted import ScriptedModel, parse_script
from tether.policy.consent import classify_reply
from tether.sdk import build_desk
from tether.store import RunStore

REPLIES = [
    "Yes :(",
    "ok :-(",
    "go ahead :'(",
    "sure ;)",
    "yes ;-)",
    "yes :\u2019(",
    "Yes XD",
    ">:( ok",
]


@pytest.mark.parametrize("reply", REPLIES)
def test_ascii_emoticon_is_not_consent(reply: str) -> None:
    # the emoji of the same faces are not a yes
    assert not classify_reply("Yes 🙁", action="cancel").confirmed
    assert not classify_reply("sure 😉", action="cancel").confirmed
    reading = classify_reply(reply, action="cancel", targets=("order",))
    assert not reading.confirmed, reading


@pytest.mark.parametrize("reply", ["yes :)", "Yes, cancel it :-)", "yes:)", "Sure :D"])
def test_a_smile_next_to_a_clear_yes_still_confirms(reply: str) -> None:
    reading = classify_reply(reply, action="cancel", targets=("order",))
    assert reading.confirmed, reading


def test_a_face_needs_no_word_running_into_it() -> None:
    assert classify_reply("ok boxD", action="cancel").reason == "unclear"


def test_sad_emoticon_reply_does_not_cancel_order(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TETHER_HOME", str(tmp_path / "home"))
    store = RunStore.open(f"sqlite:///{tmp_path / 'tether.db'}")
    desk = build_desk(RETAIL, store, fresh=True)
    conversation = desk.runtime.converse("raj_sanchez_2970")
    turn = conversation.send(
        "Please cancel order #W4566809, I no longer need it. raj.sanchez2046@example.com",
        proposing("cancel_pending_order", {"order_id": "#W4566809", "reason": "no longer needed"}),
    )
    assert turn.run.decision.kind.value == "confirmation"
    done = conversation.send(
        "Yes :(",
        ScriptedModel(parse_script([{"answer": "Understood, I will not cancel it yet."}])),
    )
    executed = [
        s
        for s in done.run.steps
        if s.data.get("tool") == "cancel_pending_order" and "evidence_id" in s.data
    ]
    assert executed == [], "a sad-face reply confirmed and ran the cancellation"
    assert done.run.decision.kind.value != "action"
    store.close()
