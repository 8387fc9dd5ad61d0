"""A conversation turn's history, held by reference.

A turn's run does not copy the conversation's earlier messages into its scope step: the
conversation keeps its messages append-only, so the step records how many of them the turn
saw (`conversation.history`) and the run's state is seeded with them. Live, they come from
the turn's context; when a stored run is rebuilt (resumed after a crash or a person's
decision), from the conversation's record, whose first `history` messages are the same ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Evidence, Message
from tether.runtime.state import RunState, evidence_from_dict


class _Held(Protocol):
    @property
    def state(self) -> Mapping[str, Any]: ...


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
