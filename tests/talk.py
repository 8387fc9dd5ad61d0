"""Conversations for tests: a request that proposes a write, then the user's confirmation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tether.conversations import Conversation, Conversations, ConversationStore, TurnOutcome
from tether.core.types import DecisionKind, RiskClass
from tether.models.scripted import ScriptedModel, parse_script
from tether.sdk import Desk


def first_write(desk: Desk, script: Sequence[Mapping[str, Any]]) -> int:
    """The index of the script's first call of a tool with side effects (-1 if none)."""
    for i, turn in enumerate(script):
        names = (
            [turn["tool"]] if "tool" in turn else [c["tool"] for c in turn.get("tool_calls", ())]
        )
        for name in names:
            tool = desk.runtime.tools.get(name)
            if tool is not None and tool.spec.risk is not RiskClass.READ:
                return i
    return -1


def start(desk: Desk, user: str) -> Conversation:
    conversations = Conversations(desk.runtime, ConversationStore(desk.store.engine))
    return conversations.start(user)


def confirm_write(
    desk: Desk,
    user: str,
    text: str,
    script: Sequence[Mapping[str, Any]],
    metadata: Mapping[str, Any] | None = None,
    keep_script: bool = True,
) -> tuple[TurnOutcome, TurnOutcome | None]:
    """Turn 1: `text`, answered by the script up to its first write, which becomes a pending
    action; turn 2: the user confirms it, and the rest of the script answers. A turn 1 that
    ends otherwise (a refusal, say) is returned with None."""
    split = first_write(desk, script)
    head = list(script if split < 0 else script[: split + 1])
    rest = [] if split < 0 else list(script[split + 1 :])
    conversation = start(desk, user)
    meta = dict(metadata or {})
    first = conversation.send(
        text,
        ScriptedModel(parse_script(head)),
        {**meta, **({"script": head} if keep_script else {})},
    )
    if first.run.decision is None or first.run.decision.kind is not DecisionKind.CONFIRMATION:
        return first, None
    assert first.pending_action is not None
    kept = {"script": rest} if keep_script else {}
    second = conversation.confirm(
        first.pending_action.nonce, ScriptedModel(parse_script(rest)), {**meta, **kept}
    )
    return first, second
