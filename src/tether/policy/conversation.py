"""Validators over the conversation: which tool calls happened and how they ended, whether the
customer explicitly confirmed an action after its details were shown, how many changes a run
has made, and where each argument value was first seen.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tether.core.types import Message, ToolCall
from tether.policy.validators import strings_in


@dataclass(frozen=True)
class ToolExchange:
    """A tool call the conversation holds, and its observed result (None while unanswered)."""

    index: int  # position of the message that proposed the call
    call: ToolCall
    ok: bool | None
    output: Any = None


def _observation(content: str) -> tuple[bool, Any]:
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


# -- confirmation ----------------------------------------------------------------------------

_AFFIRMATIVE = re.compile(
    r"^(yes|yeah|yep|yup|sure|ok|okay|correct|confirm(ed)?|i confirm|absolutely|definitely"
    r"|go ahead|please go ahead|proceed|please proceed|please do|do it|that'?s (right|correct))\b"
)
_NEGATION = re.compile(
    r"\b(don'?t|do not|not yet|wait|hold on|stop|never ?mind|no,|no\.|no!|changed my mind)\b"
)


def is_affirmative(text: str) -> bool:
    """An explicit yes: the message opens with an affirmative and holds no negation."""
    normal = " ".join(text.lower().replace("\u2019", "'").split()).lstrip(" \"'\u201c(")
    if not _AFFIRMATIVE.match(normal):
        return False
    return _NEGATION.search(normal) is None


@dataclass(frozen=True)
class Confirmation:
    """Whether the latest customer message confirms this exact action, and why (not)."""

    confirmed: bool
    explanation: str
    shown_at: int | None = None  # index of the message that showed the details
    answered_at: int | None = None  # index of the customer's yes

    def to_dict(self) -> dict[str, Any]:
        return {
            "confirmed": self.confirmed,
            "explanation": self.explanation,
            "shown_at": self.shown_at,
            "answered_at": self.answered_at,
        }


def confirmation(
    messages: Sequence[Message],
    call: ToolCall,
    details: Sequence[tuple[str, Collection[str]]],
    exchanges: Sequence[ToolExchange] | None = None,
) -> Confirmation:
    """Did the customer explicitly confirm THIS action after its details were shown?

    `details` names each detail the customer must have seen, with the spellings that count as
    showing it (an id, or e.g. a card's last four digits). Confirmed when the customer's latest
    message is an explicit yes, the agent's message before it showed every detail, and no
    identical action has already succeeded since that yes (a yes is good for one change).
    """
    user_at = next(
        (i for i in range(len(messages) - 1, -1, -1) if messages[i].role == "user"), None
    )
    if user_at is None:
        return Confirmation(False, "the customer has said nothing yet")
    if not is_affirmative(messages[user_at].content):
        return Confirmation(False, "the customer's latest message is not an explicit yes")
    shown_at = next(
        (
            i
            for i in range(user_at - 1, -1, -1)
            if messages[i].role == "assistant"
            and not messages[i].tool_calls
            and messages[i].content.strip()
        ),
        None,
    )
    if shown_at is None:
        return Confirmation(False, "no details were shown before the customer's yes")
    shown = messages[shown_at].content.lower()
    missing = [
        name for name, spellings in details if not any(s.lower() in shown for s in spellings)
    ]
    if missing:
        return Confirmation(
            False, f"the details shown did not include: {', '.join(missing)}", shown_at, user_at
        )
    for ex in exchanges if exchanges is not None else tool_exchanges(messages):
        same = ex.call.name == call.name and dict(ex.call.arguments) == dict(call.arguments)
        if ex.index > user_at and ex.ok and same:
            return Confirmation(
                False, "that yes was already used for this change", shown_at, user_at
            )
    return Confirmation(True, "confirmed after the details were shown", shown_at, user_at)


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
    output the tool spec marks trusted), or only untrusted content (untrusted tool output and
    retrieved passages, which reach the model as system text). A value found in no source is
    `unseen`. Values from a closed set (`closed[arg]`, e.g. a schema enum) are not tracked.
    """
    names = {c.id: c.name for m in messages for c in m.tool_calls}
    user: list[str] = []
    trusted: list[str] = []
    untrusted: list[str] = []
    for m in messages:
        if m.role == "user":
            user.append(m.content)
        elif m.role == "tool":
            source = trusted if trusted_tool(names.get(m.tool_call_id or "", "")) else untrusted
            source.append(m.content)
        elif m.role == "system":
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
