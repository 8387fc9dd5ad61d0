"""One turn at a time: a turn's 5-minute claim lapses only once its run is no longer queued or
running (the same rule `close` applies). A run waiting on a long queue keeps the conversation
busy, so no second turn is claimed on the same state; a claim whose run ended, or was never
stored (its process died first), still lapses so the conversation is not blocked for good."""

from __future__ import annotations

from pathlib import Path

import pytest

from tether.conversations import Conversations, ConversationStore
from tether.core.clock import ManualClock
from tether.core.errors import ErrorCode, TetherError
from tether.domains.retail.pack import RETAIL
from tether.models.scripted import ScriptedModel, parse_script
from tether.runtime.seams import Reply
from tether.sdk import build_desk
from tether.store import RunStore

PRINCIPAL = "raj_sanchez_2970"
SCRIPT = [
    {"tool": "find_user_id_by_email", "args": {"email": "raj.sanchez2046@example.com"}},
    {"tool": "get_order_details", "args": {"order_id": "#W4566809"}},
    {
        "tool": "cancel_pending_order",
        "args": {"order_id": "#W4566809", "reason": "no longer needed"},
    },
]


def test_second_turn_is_busy_while_first_run_is_queued(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TETHER_HOME", str(tmp_path / "home"))
    clock = ManualClock(1_800_000_000.0)
    store = RunStore.open(f"sqlite:///{tmp_path / 'tether.db'}")
    try:
        desk = build_desk(RETAIL, store, fresh=True, clock=clock)
        conversations = Conversations(desk.runtime, ConversationStore(store.engine))
        conversation = conversations.start(PRINCIPAL)
        first = conversation.send(
            "Please cancel order #W4566809, I no longer need it. raj.sanchez2046@example.com",
            ScriptedModel(parse_script(SCRIPT)),
        )
        nonce = first.pending_action.nonce
        # the confirm turn is queued for a worker (as the HTTP API does), and waits there
        claim = conversations.begin_turn(
            conversation.id, PRINCIPAL, reply=Reply.CONFIRM, nonce=nonce
        )
        queued = conversations.submit_claimed(claim, {"script": [{"answer": "Done [tool:3]."}]})
        clock.advance(301)  # past the 5-minute claim; the run is still on the queue
        assert desk.runtime.store.get_run(queued.id, with_steps=False).status.value == "queued"
        with pytest.raises(TetherError) as refused:  # close already refuses here
            conversations.close(conversation.id, PRINCIPAL)
        assert refused.value.code is ErrorCode.CONVERSATION_BUSY
        with pytest.raises(TetherError) as busy:
            conversations.begin_turn(conversation.id, PRINCIPAL, text="Hello? Any news?")
        assert busy.value.code is ErrorCode.CONVERSATION_BUSY
    finally:
        store.close()


def test_a_claim_lapses_once_its_run_has_ended_or_was_never_stored(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("TETHER_HOME", str(tmp_path / "home"))
    clock = ManualClock(1_800_000_000.0)
    store = RunStore.open(f"sqlite:///{tmp_path / 'tether.db'}")
    try:
        desk = build_desk(RETAIL, store, fresh=True, clock=clock)
        conversations = Conversations(desk.runtime, ConversationStore(store.engine))
        conversation = conversations.start(PRINCIPAL)
        # a turn whose process died before its run was stored
        conversations.begin_turn(conversation.id, PRINCIPAL, text="Hi", run_id="run_died")
        with pytest.raises(TetherError) as busy:
            conversations.begin_turn(conversation.id, PRINCIPAL, text="Hello?")
        assert busy.value.code is ErrorCode.CONVERSATION_BUSY
        clock.advance(301)
        claim = conversations.begin_turn(conversation.id, PRINCIPAL, text="Hello?")
        assert claim.claimant != "run_died"
    finally:
        store.close()
