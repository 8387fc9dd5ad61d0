"""Conversations held by the server: a thread bound to one principal and one agent, a run per
user turn, confirmations bound to the pending action, clarifying turns."""

from typing import TYPE_CHECKING

from tether.core.exports import lazy_exports

if TYPE_CHECKING:
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

# each name is imported from its module when first used (see `tether.core.exports`)
__getattr__ = lazy_exports(
    __name__,
    {
        "Conversation": "tether.conversations.handle",
        "ConversationLimits": "tether.conversations.admission",
        "ConversationRecord": "tether.conversations.store",
        "ConversationStore": "tether.conversations.store",
        "Conversations": "tether.conversations.service",
        "TurnOutcome": "tether.conversations.handle",
        "TurnRecord": "tether.conversations.store",
    },
)
