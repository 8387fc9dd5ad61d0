"""Conversations held by the server: a thread bound to one principal and one agent, a run per
user turn, confirmations bound to the pending action, clarifying turns."""

from tether.conversations.service import (
    Conversation,
    ConversationLimits,
    Conversations,
    TurnOutcome,
)
from tether.conversations.store import ConversationRecord, ConversationStore, TurnRecord

__all__ = [
    "Conversation",
    "ConversationLimits",
    "ConversationRecord",
    "ConversationStore",
    "Conversations",
    "TurnOutcome",
    "TurnRecord",
]
