"""The runtime's side of confirmations and clarifying turns.

A call that needs the user's yes (the tool requires it, or a policy's `@confirm` rule says so)
becomes a pending action, and the turn ends in a `confirmation` Decision whose text the runtime
rendered. The next turn answers it: a structured confirm or decline, or a message the consent
classifier reads (only unambiguous consent to this action, now, is a yes). A confirmed action
runs exactly as stored, after the guard chain checks it again. Every agent may also ask the
user a question through the built-in `ask_user` tool, which ends the turn in a clarification.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tether.core.errors import ErrorCode
from tether.core.guard import GuardContext, GuardResult
from tether.core.types import (
    Decision,
    DecisionKind,
    Effect,
    Message,
    ModelTurn,
    Reason,
    StepKind,
    ToolCall,
    ToolSpec,
    TurnKind,
)
from tether.policy.consent import ConsentReading, action_targets, action_verb, classify_reply
from tether.runtime.pending import PendingAction, propose
from tether.runtime.seams import Reply, TurnContext

if TYPE_CHECKING:
    from collections.abc import Callable

    from tether.core.clock import Clock, IdSource
    from tether.runtime.state import RunState
    from tether.tools.registry import ToolRegistry

ASK_USER = ToolSpec(
    name="ask_user",
    description="Ask the user a question (to identify them, or to clarify what they need); "
    "the turn ends and their reply comes in the next one.",
    input_schema={
        "type": "object",
        "properties": {"question": {"type": "string", "minLength": 1, "maxLength": 2000}},
        "required": ["question"],
        "additionalProperties": False,
    },
    output_schema={},
)


def question_turn(call: ToolCall, turn: ModelTurn) -> ModelTurn:
    """An `ask_user` call as the reply it is, so it passes the answer checks like any text."""
    question = call.arguments.get("question")
    text = question if isinstance(question, str) and question.strip() else turn.text
    return ModelTurn(TurnKind.ANSWER, text, (), (), turn.model, turn.usage, turn.raw)


_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def compact_json(observation: Mapping[str, Any]) -> str:
    """A tool outcome as the model reads it by default: compact JSON."""
    return _COMPACT.encode(observation)


def read_reply(messages: Sequence[Message], tool: str, tools: ToolRegistry) -> ConsentReading:
    """The user's latest message read as an answer to a pending `tool` call (its verb and
    what it acts on, `action_targets`), as the runtime reads it when the turn answers by text
    and a replay reads it again."""
    user = next((m.content for m in reversed(messages) if m.role == "user"), "")
    found = tools.get(tool)
    targets = action_targets(tool, found.spec.resources if found else None)
    return classify_reply(user, action=action_verb(tool), targets=targets)


def _note(text: str) -> dict[str, Any]:
    return Message("system", text).to_dict()


class ConfirmationMixin:
    """Pending actions and their answers, for `Runtime` (which provides what is declared)."""

    if TYPE_CHECKING:
        tools: ToolRegistry
        clock: Clock
        ids: IdSource
        observation: Callable[[Mapping[str, Any]], str]

        def _record(
            self,
            state: RunState,
            kind: StepKind,
            name: str,
            data: Mapping[str, Any],
            started: float | None = None,
            decision: Decision | None = None,
            defer: bool = False,
        ) -> None: ...

        def _tool_call(self, state: RunState, call: ToolCall) -> Decision | None: ...

        def _context(self, state: RunState) -> GuardContext: ...

    def _needs_yes(self, state: RunState, call: ToolCall, result: GuardResult) -> bool:
        """The call waits for the user: a policy asks for a confirmation, or the tool always
        does and the user has not confirmed exactly this call in this turn."""
        if result.final.effect is Effect.CONFIRM:
            return True
        if not result.allowed:
            return False
        tool = self.tools.get(call.name)
        confirmed = state.confirmed is not None and state.confirmed.matches(call)
        return tool is not None and tool.spec.requires_confirmation and not confirmed

    def _await_confirmation(self, state: RunState, call: ToolCall, result: GuardResult) -> Decision:
        """Hold the call as a pending action; the turn ends asking the user to confirm."""
        tool = self.tools.get(call.name)
        assert tool is not None  # the schema check passed it
        verdict = result.final
        reasons = (
            tuple(r.message for r in verdict.reasons)
            if verdict.effect is Effect.CONFIRM
            else (f"{call.name} needs the user's confirmation before it runs",)
        )
        pending = propose(
            tool.spec, call, self.ids.new_id("pa"), self.clock.now(), state.run_id, reasons
        )
        error = {
            "code": ErrorCode.CONFIRMATION_REQUIRED.value,
            "message": "not run yet: the user was asked to confirm it",
            "retryable": False,
        }
        observation = self.observation({"ok": False, "error": error})
        data = {
            "event": "requested",
            "pending_action": pending.to_dict(),
            "messages": [
                Message("tool", observation, tool_call_id=call.id).to_dict(),
                Message("assistant", pending.summary).to_dict(),
            ],
        }
        self._record(state, StepKind.CONFIRMATION, "requested", data, defer=True)
        reason = Reason(ErrorCode.CONFIRMATION_REQUIRED, "; ".join(reasons))
        return Decision(
            DecisionKind.CONFIRMATION,
            pending.summary,
            reason=reason,
            pending_action=pending.to_dict(),
        )

    def _answer_pending(self, state: RunState, turn: TurnContext) -> Decision | None:
        """This turn's answer to the pending action: run it exactly as stored, or drop it and
        let the model carry on with what the user said."""
        pending = turn.pending
        assert pending is not None
        summary = pending.summary.rsplit(" Shall", 1)[0]
        if pending.expired(self.clock.now()):
            note = f"The proposed action expired before the user confirmed it: {summary}"
            self._event(state, "expired", pending, {}, note)
            return None
        if turn.reply is Reply.DECLINE:
            self._event(
                state, "declined", pending, {"by": "button"}, f"The user declined: {summary}"
            )
            return None
        if turn.reply is Reply.TEXT:
            reading = read_reply(state.messages, pending.tool, self.tools)
            facts = {"by": "text", "reading": reading.to_dict()}
            if not reading.confirmed:
                note = (
                    f"The user's reply is not a confirmation ({reading.reason}), so this was "
                    f"not done: {summary}. Continue the conversation from their reply."
                )
                self._event(state, "not_confirmed", pending, facts, note)
                return None
        else:
            facts = {"by": "button"}
        call = pending.call()
        assistant = Message("assistant", "", (call,)).to_dict()
        self._event(state, "confirmed", pending, facts, None, extra=[assistant])
        state.confirmed = pending
        return self._tool_call(state, call)

    def _event(
        self,
        state: RunState,
        event: str,
        pending: PendingAction,
        facts: Mapping[str, Any],
        note: str | None,
        extra: list[dict[str, Any]] | None = None,
    ) -> None:
        messages = list(extra or ())
        if note is not None:
            messages.append(_note(note))
        data = {"event": event, "nonce": pending.nonce, "tool": pending.tool, **facts}
        if event == "confirmed":  # what a resumed run needs to know it was confirmed
            data["pending_action"] = pending.to_dict()
        data["messages"] = messages
        self._record(state, StepKind.CONFIRMATION, event, data)
