"""A handle on one conversation, and what one of its turns came to.

`Conversations.start` and `Conversations.open` hand out a `Conversation`; each of its turns
answers with a `TurnOutcome` (see `tether.conversations.service`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tether.conversations.store import ConversationRecord
from tether.core.types import Run
from tether.models.base import ModelAdapter
from tether.runtime.pending import PendingAction
from tether.runtime.seams import Reply

if TYPE_CHECKING:
    from tether.conversations.service import Conversations


@dataclass(frozen=True)
class TurnOutcome:
    """What one turn came to: its run, its status, its Decision and the pending action."""

    conversation_id: str
    turn: int
    run: Run
    pending_action: PendingAction | None

    def to_dict(self) -> dict[str, Any]:
        """The turn JSON of the API."""
        decision = self.run.decision
        return {
            "conversation_id": self.conversation_id,
            "turn": self.turn,
            "run_id": self.run.id,
            "status": self.run.status.value,
            "decision": (
                {
                    "kind": decision.kind.value,
                    "text": decision.text,
                    "citations": list(decision.citations),
                    "reason": decision.reason.to_dict() if decision.reason else None,
                }
                if decision is not None
                else None
            ),
            "pending_action": self.pending_action.public() if self.pending_action else None,
        }


@dataclass
class Conversation:
    """A handle on one conversation: send the user's turns, confirm or decline, close."""

    conversations: Conversations
    id: str
    principal_id: str
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def send(
        self,
        text: str,
        model: ModelAdapter,
        metadata: Mapping[str, Any] | None = None,
    ) -> TurnOutcome:
        """One user message; the turn's outcome (a Decision, or a run waiting for a person)."""
        return self.conversations.turn(
            self.id, self.principal_id, model, text=text, metadata=metadata
        )

    def confirm(
        self, nonce: str, model: ModelAdapter, metadata: Mapping[str, Any] | None = None
    ) -> TurnOutcome:
        """Confirm the pending action `nonce` names (what a UI's button sends)."""
        return self.conversations.turn(
            self.id, self.principal_id, model, reply=Reply.CONFIRM, nonce=nonce, metadata=metadata
        )

    def decline(
        self, nonce: str, model: ModelAdapter, metadata: Mapping[str, Any] | None = None
    ) -> TurnOutcome:
        """Decline the pending action `nonce` names; the agent carries on."""
        return self.conversations.turn(
            self.id, self.principal_id, model, reply=Reply.DECLINE, nonce=nonce, metadata=metadata
        )

    def record(self) -> ConversationRecord:
        return self.conversations.store.get(self.id)

    def close(self) -> None:
        self.conversations.close(self.id, self.principal_id)
