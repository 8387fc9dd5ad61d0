"""Conversations held by the server: a thread bound to one principal and one agent, a run per
user turn, confirmations bound to the pending action, clarifying turns."""

from tether.conversations.admission import ConversationLimits
from tether.conversations.handle import Conversation, TurnOutcome
from tether.conversations.service import Conversations
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
