"""What a conversation carries from turn to turn, as the model sees it and the store keeps it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tether.conversations import Conversations, ConversationStore
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import DecisionKind, ModelTurn
from tether.domains.retail.pack import RETAIL
from tether.models.base import ModelRequest
from tether.models.scripted import ScriptedModel, parse_script
from tether.sdk import Desk, build_desk
from tether.sdk.scenarios import load_scenarios, run_scenario, scenario_desk
from tether.store.runs import RunStore

USER = "raj_sanchez_2970"
EMAIL = "raj.sanchez2046@example.com"


@dataclass
class Recording:
    """A scripted model that keeps what it was shown."""

    script: list[dict[str, Any]]
    requests: list[ModelRequest] = field(default_factory=list)
    name: str = "recording"

    def propose(self, request: ModelRequest) -> ModelTurn:
        self.requests.append(request)
        return ScriptedModel(parse_script(self.script)).propose(request)


@pytest.fixture
def desk(store_url: str) -> Iterator[Desk]:
    store = RunStore.open(store_url)
    yield build_desk(RETAIL, store, fresh=True)
    store.close()


def test_the_next_turn_sees_earlier_turns_and_may_cite_their_tool_results(desk: Desk) -> None:
    conversation = desk.runtime.converse(USER)
    first = conversation.send(
        f"Where is order #W4566809? I am {EMAIL}",
        ScriptedModel(
            parse_script(
                [
                    {"tool": "find_user_id_by_email", "args": {"email": EMAIL}},
                    {"tool": "get_order_details", "args": {"order_id": "#W4566809"}},
                    {"answer": "Order #W4566809 is pending [tool:2]."},
                ]
            )
        ),
    )
    assert first.run.decision is not None and first.run.decision.kind is DecisionKind.ANSWER
    model = Recording([{"answer": "Yes, order #W4566809 is still pending [tool:2]."}])
    second = conversation.send("Is it still pending?", model)
    # the earlier tool result is still evidence `tool:2`, and the answer citing it passes
    assert second.run.decision is not None, second.to_dict()
    assert second.run.decision.kind is DecisionKind.ANSWER, second.to_dict()
    seen = [(m.role, m.content) for m in model.requests[0].messages]
    assert ("user", f"Where is order #W4566809? I am {EMAIL}") in seen
    assert ("assistant", "Order #W4566809 is pending [tool:2].") in seen  # its own reply
    assert seen[-1] == ("user", "Is it still pending?")
    # the next tool result is numbered after the earlier ones
    third = conversation.send(
        "And the details again?",
        ScriptedModel(
            parse_script(
                [
                    {"tool": "get_order_details", "args": {"order_id": "#W4566809"}},
                    {"answer": "It is pending [tool:3]."},
                ]
            )
        ),
    )
    assert third.run.decision is not None and third.run.decision.citations == ("tool:3",)


def test_a_run_a_person_decided_is_folded_into_the_conversation(store_url: str) -> None:
    store = RunStore.open(store_url)
    scenario = next(s for s in load_scenarios(None, RETAIL) if s.name == "large-return-approved")
    desk = scenario_desk(RETAIL, store, scenario)
    result = run_scenario(RETAIL, store, scenario, desk=desk)
    assert result.ok and result.actual is DecisionKind.ACTION
    conversations = Conversations(desk.runtime, ConversationStore(store.engine))
    conversation = conversations.open(result.conversation_id, scenario.principal)
    model = Recording([{"answer": "The return of the grill is requested [tool:3]."}])
    after = conversation.send("What did you do?", model)
    assert after.run.decision is not None and after.run.decision.kind is DecisionKind.ANSWER
    seen = [m.role for m in model.requests[0].messages]
    tool_results = [m for m in model.requests[0].messages if m.role == "tool"]
    # the approved return's result and the answer after it are part of the history
    assert any(
        "return_delivered_order_items" in m.content or "#W1067251" in m.content
        for m in tool_results
    )
    # two lookups, the proposed return held for confirmation, and the approved return's result
    assert seen.count("tool") == 4
    store.close()


def test_a_turn_for_another_principal_and_a_closed_conversation_are_refused(desk: Desk) -> None:
    conversation = desk.runtime.converse(USER)
    conversations = conversation.conversations
    with pytest.raises(TetherError) as caught:
        conversations.open(conversation.id, "yusuf_rossi_9620")
    assert caught.value.code is ErrorCode.CONVERSATION_FORBIDDEN
    conversation.close()
    with pytest.raises(TetherError) as caught:
        conversation.send("hello", ScriptedModel(parse_script([{"answer": "hi"}])))
    assert caught.value.code is ErrorCode.CONVERSATION_CLOSED
    assert desk.store.count_runs() == 0  # nothing ran, nothing was written


def test_a_turn_refers_to_the_history_it_saw_instead_of_copying_it(desk: Desk) -> None:
    conversation = desk.runtime.converse(USER)
    conversation.send(
        f"Where is order #W4566809? I am {EMAIL}",
        ScriptedModel(
            parse_script(
                [
                    {"tool": "find_user_id_by_email", "args": {"email": EMAIL}},
                    {"tool": "get_order_details", "args": {"order_id": "#W4566809"}},
                    {"answer": "Order #W4566809 is pending [tool:2]."},
                ]
            )
        ),
    )
    model = Recording([{"answer": "It is pending [tool:2]."}])
    second = conversation.send("Is it still pending?", model)
    scope = next(s for s in second.run.steps if s.kind.value == "scope")
    # the step carries the turn's own message and how much of the conversation it saw
    assert scope.data["messages"] == [{"role": "user", "content": "Is it still pending?"}]
    held = scope.data["conversation"]["history"]
    # what the conversation held: not the run's own system and reference messages
    shown = [m for m in model.requests[0].messages if m.role not in ("system", "context")]
    assert held == len(shown) - 1 > 0
    # rebuilt from the store, the run sees exactly what the model was shown
    stored = desk.runtime.store.get_run(second.run.id)
    rebuilt = desk.runtime._restore(stored, model)
    desk.runtime._held_history(rebuilt, stored.steps)
    kept = [m for m in rebuilt.messages if m.role not in ("system", "context")]
    assert kept[: len(shown)] == shown
    assert "tool:2" in rebuilt.evidence


def test_a_lost_history_fails_the_rebuild_instead_of_guessing(desk: Desk) -> None:
    from tether.runtime.history import held_history

    @dataclass
    class Held:
        state: dict[str, Any]

    class Source:
        def get(self, conversation_id: str) -> Held:
            return Held({"messages": [{"role": "user", "content": "hi"}], "evidence": {}})

    with pytest.raises(TetherError) as err:
        held_history(Source(), {"id": "conv_1", "history": 3})
    assert err.value.code is ErrorCode.CONVERSATION_LIMIT
    messages, _ = held_history(Source(), {"id": "conv_1", "history": 1})
    assert [m.content for m in messages] == ["hi"]


def test_a_claim_is_taken_again_only_by_the_run_id_that_holds_it(desk: Desk) -> None:
    """A keyed retry names the same run: when the attempt that claimed the conversation died
    before storing its run, the retry takes the claim over; any other turn is still busy."""
    service = Conversations(desk.runtime, ConversationStore(desk.store.engine))
    record = service.start(USER)
    first = service.begin_turn(record.id, USER, text="Where is my order?", run_id="run_keyed1")
    assert first.claimant == "run_keyed1"
    with pytest.raises(TetherError) as busy:
        service.begin_turn(record.id, USER, text="Where is my order?")
    assert busy.value.code is ErrorCode.CONVERSATION_BUSY
    with pytest.raises(TetherError) as other:
        service.begin_turn(record.id, USER, text="Where is my order?", run_id="run_keyed2")
    assert other.value.code is ErrorCode.CONVERSATION_BUSY
    again = service.begin_turn(record.id, USER, text="Where is my order?", run_id="run_keyed1")
    assert again.claimant == "run_keyed1" and again.turn == first.turn
    service.release(again)
    assert service.begin_turn(record.id, USER, text="Hello").claimant != "run_keyed1"
