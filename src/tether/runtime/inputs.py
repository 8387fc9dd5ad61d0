"""Checks on what a caller sends, before a run exists (so bad input leaves nothing behind)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tether.core.errors import ErrorCode, TetherError
from tether.core.shapes import MAX_NESTING, nesting
from tether.core.types import Message, ModelTurn
from tether.store.run_rows import step_json

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
        if not isinstance(m.content, str) or not _clean(m.content):
            raise TetherError(
                ErrorCode.BAD_REQUEST,
                f"message {i + 1} holds a NUL or a lone surrogate character",
            )
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
    """A model's proposal must be recordable before anything is recorded about it: tool
    arguments nest at most MAX_NESTING deep and hold only what canonical JSON (and every store)
    carries. Arguments that do not are INVALID_ARGUMENTS; anything else MODEL_BAD_OUTPUT. The
    messages name where the value is, never the value."""
    output = turn.to_dict()
    text = _plain_text(output)
    clean = text is not None  # then so are every call's name and arguments
    # each list or object opens with a bracket, so a value nests no deeper than the brackets
    # its text holds (inside strings too, which only overstates the depth)
    shallow = text is not None and text.count("{") + text.count("[") <= MAX_NESTING
    for i, call in enumerate(turn.tool_calls, start=1):
        if str(call.id).startswith(RESERVED_CALL_PREFIX):  # only the runtime's confirmed call
            raise TetherError(
                ErrorCode.MODEL_BAD_OUTPUT,
                f"tool call {i} has an id the runtime reserves ({RESERVED_CALL_PREFIX}...)",
            )
        if len(str(call.id)) > MAX_CALL_ID_CHARS:
            raise TetherError(
                ErrorCode.MODEL_BAD_OUTPUT,
                f"tool call {i} has an id longer than {MAX_CALL_ID_CHARS} characters",
            )
        if not clean and unrecordable(call.name) is not None:
            raise TetherError(
                ErrorCode.MODEL_BAD_OUTPUT, f"tool call {i} has a name that cannot be recorded"
            )
        if not shallow and nesting(dict(call.arguments), MAX_NESTING) > MAX_NESTING:
            raise TetherError(
                ErrorCode.MODEL_BAD_OUTPUT,
                f"the arguments of {call.name} nest deeper than {MAX_NESTING} levels",
            )
        found = None if clean else unrecordable(dict(call.arguments), "arguments")
        if found is not None:
            raise TetherError(ErrorCode.INVALID_ARGUMENTS, f"tool call {i} ({call.name}): {found}")
    found = None if clean else unrecordable(output, "output")
    if found is not None:
        raise TetherError(ErrorCode.MODEL_BAD_OUTPUT, f"the model's turn: {found}")
    return turn


def check_recordable(name: str, data: Mapping[str, Any]) -> str:
    """A step about to be recorded holds only what canonical JSON carries (INTERNAL naming
    where not); returns the data as the store keeps it (`step_json`), so it is written once."""
    try:
        text = step_json(data)
        text.encode("utf-8")
        recordable = _clean(name)
    except (ValueError, TypeError, RecursionError):
        # a number JSON cannot carry, a lone surrogate, a non-JSON type, a value holding itself
        recordable = False
    if not recordable:
        found = unrecordable(name, "name") or unrecordable(dict(data), "data")
        raise TetherError(ErrorCode.INTERNAL, f"a step cannot be recorded: {found}")
    return text


# the id prefix of the call a confirmed pending action runs under: its idempotency key is the
# action's, shared by whatever run executes it, so a model may never propose such an id
RESERVED_CALL_PREFIX = "confirmed-"
# the width of the columns a call's id is kept in (an approval, a single-use token's use): a
# longer id would be kept by SQLite and refused by PostgreSQL
MAX_CALL_ID_CHARS = 128
MAX_INT_BITS = 1024  # far past any amount or id; far short of what JSON encoders refuse
# an integer of MAX_INT_BITS bits or fewer has at most this many digits (2**1024 has 309)
_MAX_INT_DIGITS = len(str(2**MAX_INT_BITS - 1))
_LONG_DIGITS = re.compile(rf"[0-9]{{{_MAX_INT_DIGITS},}}")
_ESCAPED_NUL = "\\u0000"  # how the encoder writes a NUL character inside a string
# a value holding itself is a RecursionError here, like one nested too deep: both are walked
_ENCODER = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, separators=(",", ":"), check_circular=False
)
_DECODER = json.JSONDecoder()


def plainly_recordable(value: Any) -> bool:
    """True only when `value` is certainly recordable, decided by the JSON encoder instead of
    a walk in Python; False means "walk it" (`unrecordable` then says what, if anything, is
    wrong). The text must read back as an equal value, so a key the encoder would have turned
    into a string (1, True, None) or a tuple falls to the walk; a run of digits as long as a
    too large number, or what may be an escaped NUL, falls to it too."""
    return _plain_text(value) is not None


def _plain_text(value: Any) -> str | None:
    """`value` as compact JSON when it is plainly recordable (see `plainly_recordable`)."""
    try:
        text = _ENCODER.encode(value)
        text.encode("utf-8")  # a lone surrogate
    except (TypeError, ValueError, RecursionError):
        return None
    if _ESCAPED_NUL in text or _LONG_DIGITS.search(text) is not None:
        return None
    return text if _DECODER.decode(text) == value else None


def unrecordable(value: Any, path: str = "value") -> str | None:
    """Where `value` holds what canonical JSON cannot carry (a number that is not finite, such
    as NaN or a float that overflowed to infinity; a lone surrogate; a non-JSON type) or a
    store refuses (a NUL character); None if it is recordable."""
    if isinstance(value, dict | list) and plainly_recordable(value):
        return None
    try:
        return _walk(value, path)
    except RecursionError:
        return f"{path} nests too deep, or holds itself"


def _walk(value: Any, path: str) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):  # Python cannot even print one of many thousand digits
        return None if value.bit_length() <= MAX_INT_BITS else f"{path} is too large a number"
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{path} is a number JSON cannot carry"
    if isinstance(value, str):
        return None if _clean(value) else f"{path} holds a NUL or a lone surrogate character"
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str) or not _clean(key):
                return f"{path} has a key that cannot be recorded"
            found = _walk(item, f"{path}.{key}")
            if found is not None:
                return found
        return None
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _walk(item, f"{path}[{index}]")
            if found is not None:
                return found
        return None
    return f"{path} is a {type(value).__name__}, not a JSON value"


def _clean(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True
