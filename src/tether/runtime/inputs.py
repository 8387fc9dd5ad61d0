"""Checks on what a caller sends, before a run exists (so bad input leaves nothing behind)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tether.core.errors import ErrorCode, TetherError
from tether.core.shapes import MAX_NESTING, nesting
from tether.core.types import Message, ModelTurn

CALLER_ROLES = ("user",)  # clients author only user messages; the server holds the rest


@dataclass(frozen=True)
class InputLimits:
    max_messages: int = 64
    max_message_chars: int = 8_000
    max_total_chars: int = 64_000


def check_messages(
    messages: Sequence[Message], limits: InputLimits, allow_empty: bool = False
) -> list[Message]:
    """The user's message(s) of one turn, within the limits. An assistant, tool or system
    message is INPUT_ROLE_FORBIDDEN: earlier turns come from the conversation the server
    holds, never from what a client says the agent said."""
    if not messages:
        if allow_empty:  # a confirm or decline button carries no message
            return []
        raise TetherError(ErrorCode.BAD_REQUEST, "a run needs at least one user message")
    if len(messages) > limits.max_messages:
        raise TetherError(
            ErrorCode.INPUT_TOO_LARGE,
            f"{len(messages)} messages exceed the limit of {limits.max_messages}",
        )
    total = 0
    for i, m in enumerate(messages):
        if m.role not in CALLER_ROLES:
            raise TetherError(
                ErrorCode.INPUT_ROLE_FORBIDDEN,
                f"message {i + 1}: role {str(m.role)[:32]!r} is not input; clients send only "
                "user messages (a conversation keeps the agent's side on the server)",
            )
        if m.tool_calls or m.tool_call_id:
            raise TetherError(ErrorCode.BAD_REQUEST, f"message {i + 1}: tool calls are not input")
        if len(m.content) > limits.max_message_chars:
            raise TetherError(
                ErrorCode.INPUT_TOO_LARGE,
                f"message {i + 1} has {len(m.content)} characters; the limit is "
                f"{limits.max_message_chars}",
            )
        total += len(m.content)
    if total > limits.max_total_chars:
        raise TetherError(
            ErrorCode.INPUT_TOO_LARGE,
            f"the conversation has {total} characters; the limit is {limits.max_total_chars}",
        )
    if messages[-1].role != "user" or not messages[-1].content.strip():
        raise TetherError(
            ErrorCode.BAD_REQUEST, "the last message must be a non-empty user message"
        )
    return list(messages)


def check_turn(turn: ModelTurn) -> ModelTurn:
    """A model's proposal must be recordable: tool arguments nest at most MAX_NESTING deep."""
    for call in turn.tool_calls:
        if nesting(dict(call.arguments)) > MAX_NESTING:
            raise TetherError(
                ErrorCode.MODEL_BAD_OUTPUT,
                f"the arguments of {call.name} nest deeper than {MAX_NESTING} levels",
            )
    return turn
