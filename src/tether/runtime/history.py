"""A conversation turn's history, held by reference.

A turn's run does not copy the conversation's earlier messages into its scope step: the
conversation keeps its messages append-only, so the step records how many of them the turn
saw (`conversation.history`) and the run's state is seeded with them. Live, they come from
the turn's context; when a stored run is rebuilt (resumed after a crash or a person's
decision), from the conversation's record, whose first `history` messages are the same ones.
A turn whose run stopped before it recorded its scope, or its answer to the pending action,
is rebuilt from the conversation, which its unfinished turn still holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Evidence, Message, Run, StepKind
from tether.runtime.pending import PendingAction
from tether.runtime.seams import Reply, TurnContext
from tether.runtime.state import RunState, evidence_from_dict


class _Held(Protocol):
    @property
    def state(self) -> Mapping[str, Any]: ...

    @property
    def turns(self) -> int: ...

    @property
    def pending(self) -> PendingAction | None: ...


class ConversationSource(Protocol):
    """Where a turn's conversation is read from (the conversation store)."""

    def get(self, conversation_id: str) -> _Held: ...


def seed_history(
    state: RunState, history: Iterable[Message], evidence: Mapping[str, Evidence]
) -> None:
    """Start a run's messages and evidence from what the conversation held before the turn
    (the scope step then adds the turn's own messages after them)."""
    state.messages.extend(history)
    state.evidence.update(evidence)


def held_history(
    source: ConversationSource, held: Mapping[str, Any]
) -> tuple[list[Message], dict[str, Evidence]]:
    """The messages and evidence a recorded turn saw, read back from its conversation."""
    record = source.get(str(held.get("id")))
    messages = list(record.state.get("messages", ()))
    count = int(held["history"])
    if count > len(messages):  # the conversation lost messages it had: never guess them
        raise TetherError(
            ErrorCode.CONVERSATION_LIMIT,
            f"conversation {held.get('id')} holds {len(messages)} messages; this turn saw "
            f"{count}, so its run cannot be rebuilt",
        )
    evidence = {k: evidence_from_dict(v) for k, v in record.state.get("evidence", {}).items()}
    return [Message.from_dict(m) for m in messages[:count]], evidence


def unanswered_turn(source: ConversationSource, run: Run) -> TurnContext | None:
    """What a conversation's turn still owes, when its run stopped before it started on it:
    the pending action its user answered (no confirmation event nor model turn recorded),
    and, if it stopped before its scope committed, the history it continues from. Rebuilt
    from the scope step or, lacking one, from the conversation, which still holds the turn.
    None: not a turn, or one that got past that point."""
    if any(s.kind in (StepKind.CONFIRMATION, StepKind.MODEL_TURN) for s in run.steps):
        return None
    scope = next((s for s in run.steps if s.kind is StepKind.SCOPE), None)
    if scope is not None:  # its history is put back from the scope step (`held_history`)
        held = scope.data.get("conversation")
        if not isinstance(held, Mapping) or not held.get("pending"):
            return None
        pending = source.get(str(held["id"])).pending
        if pending is None or pending.nonce != held["pending"]:
            return None  # replaced since: there is nothing to run as the user answered
        reply = Reply(held.get("reply", Reply.TEXT.value))
        prior = int(scope.data.get("prior_tool_results", 0))
        return TurnContext(str(held["id"]), int(held["turn"]), (), {}, prior, pending, reply)
    metadata = run.input.get("metadata", {})
    conversation, number = metadata.get("conversation"), metadata.get("turn")
    if not isinstance(conversation, str) or not isinstance(number, int):
        return None
    record = source.get(conversation)
    if record.turns + 1 != number:  # a later turn ended: what this one saw is gone
        raise TetherError(
            ErrorCode.CONVERSATION_LIMIT,
            f"conversation {conversation} moved past turn {number}, so its run cannot be rebuilt",
        )
    seen = {"id": conversation, "history": len(record.state.get("messages", ()))}
    history, evidence = held_history(source, seen)
    reply = Reply(metadata.get("reply", Reply.TEXT.value))
    prior = int(record.state.get("tool_results", 0))
    return TurnContext(conversation, number, tuple(history), evidence, prior, record.pending, reply)
