"""Pending actions: a consequential call the runtime holds until the user confirms it.

The runtime, not the model, renders what the user is asked to confirm: the tool's own words
and the exact arguments. The action is bound to those arguments by their hash; a nonce names
it; it expires. Confirming runs exactly the stored call, after the guard chain has checked it
again; a different call needs its own confirmation.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tether.core.types import ToolCall, ToolSpec
from tether.policy.check import argument_hash

DEFAULT_TTL_S = 15 * 60.0
QUESTION = "Shall I go ahead?"


@dataclass(frozen=True)
class PendingAction:
    """A call waiting for the user's yes: exact arguments and their hash, the summary the user
    sees, the nonce a confirmation must name, and when it stops being confirmable."""

    nonce: str
    tool: str
    arguments: Mapping[str, Any]
    argument_hash: str
    summary: str
    created_at: float
    expires_at: float
    run_id: str = ""
    call_id: str = ""
    reasons: tuple[str, ...] = field(default=())  # why the call needs a confirmation

    def matches(self, call: ToolCall) -> bool:
        """The same tool with exactly the same arguments."""
        return call.name == self.tool and argument_hash(call.name, call.arguments) == (
            self.argument_hash
        )

    def expired(self, now: float) -> bool:
        return now >= self.expires_at

    def call(self) -> ToolCall:
        """The stored call, as the runtime executes it on confirmation."""
        return ToolCall(f"confirmed-{self.nonce}", self.tool, dict(self.arguments))

    def public(self) -> dict[str, Any]:
        """What a client sees: `{nonce, tool, arguments, summary, expires_at}`."""
        return {
            "nonce": self.nonce,
            "tool": self.tool,
            "arguments": dict(self.arguments),
            "summary": self.summary,
            "expires_at": self.expires_at,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.public(),
            "argument_hash": self.argument_hash,
            "created_at": self.created_at,
            "run_id": self.run_id,
            "call_id": self.call_id,
            "reasons": list(self.reasons),
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> PendingAction:
        return PendingAction(
            nonce=str(data["nonce"]),
            tool=str(data["tool"]),
            arguments=dict(data["arguments"]),
            argument_hash=str(data["argument_hash"]),
            summary=str(data["summary"]),
            created_at=float(data["created_at"]),
            expires_at=float(data["expires_at"]),
            run_id=str(data.get("run_id", "")),
            call_id=str(data.get("call_id", "")),
            reasons=tuple(data.get("reasons", ())),
        )


MAX_VALUE_CHARS = 200  # a value longer than this is cut, saying how much is left out
_UNSEEN = ("Cc", "Cf", "Cs", "Co", "Zl", "Zp")  # controls, bidi/format marks, line breaks


def _escape_unseen(text: str) -> str:
    """Every character that would break a line or change how the text reads (a bidi override)
    as a visible \\uXXXX escape."""
    return "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) in _UNSEEN else c for c in text)


def _name(name: str) -> str:
    """An argument's name as words; escaped and bounded like a value, though a schema names it."""
    return _escape_unseen(name.replace("_", " "))[:MAX_VALUE_CHARS]


def _value(value: Any) -> str:
    """A value as one quoted, escaped, bounded token: argument text (the model's words) is
    shown as data, never as sentences or a question of the summary's own."""
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "), sort_keys=True)
    text = _escape_unseen(text)
    if len(text) > MAX_VALUE_CHARS:
        cut = len(text) - MAX_VALUE_CHARS
        text = f"{text[:MAX_VALUE_CHARS]}\u2026 [{cut} more characters]"
    return text


def render_summary(spec: ToolSpec, arguments: Mapping[str, Any]) -> str:
    """What the user is asked to confirm, in the runtime's words: the action and every
    argument, so nothing the call does is left out of the question. Values are quoted,
    escaped and bounded (`_value`), so argument text cannot speak for the runtime."""
    action = spec.name.replace("_", " ")
    parts = [f"{_name(name)}: {_value(v)}" for name, v in sorted(arguments.items())]
    detail = "; ".join(parts) if parts else "no details"
    return f"I am about to {action} ({detail}). {QUESTION}"


def propose(
    spec: ToolSpec,
    call: ToolCall,
    nonce: str,
    now: float,
    run_id: str,
    reasons: tuple[str, ...] = (),
    ttl_s: float = DEFAULT_TTL_S,
) -> PendingAction:
    """A pending action for `call`, rendered from the spec and its exact arguments."""
    return PendingAction(
        nonce=nonce,
        tool=call.name,
        arguments=dict(call.arguments),
        argument_hash=argument_hash(call.name, call.arguments),
        summary=render_summary(spec, call.arguments),
        created_at=now,
        expires_at=now + ttl_s,
        run_id=run_id,
        call_id=call.id,
        reasons=reasons,
    )
