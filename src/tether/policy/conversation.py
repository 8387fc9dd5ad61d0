"""Validators over the conversation: which tool calls happened and how they ended, whether the
customer explicitly confirmed an action after its details were shown, how many changes a run
has made, and where each argument value was first seen.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tether.core.types import REFERENCE_ROLE, UNTRUSTED_NOTICE, Message, ToolCall
from tether.policy.validators import strings_in


@dataclass(frozen=True)
class ToolExchange:
    """A tool call the conversation holds, and its observed result (None while unanswered)."""

    index: int  # position of the message that proposed the call
    call: ToolCall
    ok: bool | None
    output: Any = None


@functools.lru_cache(maxsize=4096)
def _observation(content: str) -> tuple[bool, Any]:
    """A tool result message's outcome and output. Cached by content: every check of every
    later turn reads the same results again (callers treat the output as read-only)."""
    try:
        data = json.loads(content)
    except ValueError:
        return False, None
    if isinstance(data, dict) and isinstance(data.get("ok"), bool):
        return data["ok"], data.get("output")
    return False, None


def tool_exchanges(
    messages: Sequence[Message], tools: Collection[str] | None = None
) -> list[ToolExchange]:
    """Every tool call in the conversation (of `tools`, when given), paired with its result
    message by call id. Only the results of the calls returned are parsed."""
    wanted = {
        c.id: c.name
        for m in messages
        if m.role == "assistant"
        for c in m.tool_calls
        if tools is None or c.name in tools
    }
    results: dict[str, tuple[bool, Any]] = {}
    for m in messages:
        if m.role == "tool" and m.tool_call_id in wanted:
            results[m.tool_call_id] = _observation(m.content)
    found: list[ToolExchange] = []
    for index, m in enumerate(messages):
        if m.role != "assistant":
            continue
        for call in m.tool_calls:
            if call.id in wanted:
                ok, output = results.get(call.id, (None, None))
                found.append(ToolExchange(index, call, ok, output))
    return found


# -- counters --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counters:
    """Successful changes earlier in this run: in all, and to one order."""

    run_writes: int = 0
    order_writes: int = 0
    order_item_modifications: int = 0

    def to_context(self) -> dict[str, int]:
        return {
            "runWrites": self.run_writes,
            "orderWrites": self.order_writes,
            "orderItemModifications": self.order_item_modifications,
        }


def action_counters(
    exchanges: Sequence[ToolExchange],
    writes: Collection[str],
    order_id: str | None,
    item_modification: str,
) -> Counters:
    """Count the successful writes before this call, those to `order_id`, and its item
    modifications (tool `item_modification`)."""
    run = order = items = 0
    for ex in exchanges:
        if not ex.ok or ex.call.name not in writes:
            continue
        run += 1
        if order_id is not None and ex.call.arguments.get("order_id") == order_id:
            order += 1
            items += ex.call.name == item_modification
    return Counters(run, order, items)


# -- provenance ------------------------------------------------------------------------------

USER, TRUSTED, UNTRUSTED, UNSEEN = "user", "trusted_record", "untrusted", "unseen"
MIN_TRACKED_CHARS = 4  # shorter values ("A4", "2") occur everywhere and prove nothing


def argument_provenance(
    messages: Sequence[Message],
    arguments: Mapping[str, Any],
    trusted_tool: Callable[[str], bool],
    closed: Mapping[str, Collection[str]] | None = None,
) -> dict[str, str]:
    """Where each argument's values come from: the customer's messages, trusted records (tool
    output the tool spec marks trusted and the runtime did not mark untrusted), or only untrusted
    content (untrusted tool output, retrieved passages in the reference message, and system
    text). A value found in no source is `unseen`. Values from a closed set (`closed[arg]`, e.g.
    a schema enum) are not tracked.
    """
    names = {c.id: c.name for m in messages for c in m.tool_calls}
    user: list[str] = []
    trusted: list[str] = []
    untrusted: list[str] = []
    for m in messages:
        if m.role == "user":
            user.append(m.content)
        elif m.role == "tool":
            # the notice marks output an untrusted alternate gave in a trusted tool's place
            believed = trusted_tool(names.get(m.tool_call_id or "", ""))
            source = trusted if believed and UNTRUSTED_NOTICE not in m.content else untrusted
            source.append(m.content)
        elif m.role in ("system", REFERENCE_ROLE):
            untrusted.append(m.content)
    user_text, trusted_text = "\n".join(user), "\n".join(trusted)
    untrusted_text = "\n".join(untrusted)
    out: dict[str, str] = {}
    for name, value in arguments.items():
        allowed = (closed or {}).get(name, ())
        values = [v for v in strings_in(value) if len(v.strip()) >= MIN_TRACKED_CHARS]
        values = [v for v in values if v not in allowed]
        if not values:
            continue
        sources = []
        for v in values:
            if v in user_text:
                sources.append(USER)
            elif v in trusted_text:
                sources.append(TRUSTED)
            elif v in untrusted_text:
                sources.append(UNTRUSTED)
            else:
                sources.append(UNSEEN)
        # the weakest source decides: one untrusted element taints the whole argument
        for label in (UNTRUSTED, UNSEEN, TRUSTED, USER):
            if label in sources:
                out[name] = label
                break
    return out
