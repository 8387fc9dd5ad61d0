"""One turn at a time: a turn whose run waits on the run queue for more than the 5-minute claim
(a long queue, busy workers) loses its hold on the conversation, and a second turn is claimed
and queued on the same state while the first run is still queued. `close` refuses in exactly
this case ("its run queued or running, even once the turn's 5-minute claim has lapsed"), the
claim does not: the two runs then execute side by side from one state, and the first turn's
outcome is never folded into the conversation."""

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
