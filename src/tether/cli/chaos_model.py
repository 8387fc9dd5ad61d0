"""The model `tether chaos` plays scenarios with: the scenario's script, except that a write
that failed is proposed again, the same call, on the next turn (as an eager model would); when
the retry needs the user's yes, the user gives it at once.

It keeps no state between turns, so a run resumed after an approval continues it correctly:
which turns were retries is read back from the call ids in the run's messages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from tether.conversations import Conversations, ConversationStore, TurnOutcome
from tether.core.errors import ErrorCode, Handler, TetherError
from tether.core.types import (
    Message,
    ModelTurn,
    RiskClass,
    Run,
    RunStatus,
    StepKind,
    ToolCall,
    TurnKind,
)
from tether.models.base import ModelRequest
from tether.models.scripted import ScriptedModel, ScriptTurn, parse_script
from tether.sdk.desk import Desk
from tether.sdk.scenarios import Scenario, ScenarioClock, script_data, send_turn

RETRY_PREFIX = "retry_"
MAX_RETRIES = 2  # the same failed write, at most this many more times in a row
_CALL_ID = re.compile(r"^(call|retry)_(\d+)_\d+$")


class RetryingModel:
    """A scripted model that proposes a failed write again before it goes on with its script."""

    def __init__(self, turns: Sequence[ScriptTurn], max_retries: int = MAX_RETRIES) -> None:
        self._script = ScriptedModel(turns, name="scripted-retrying")
        self._max_retries = max_retries

    @property
    def name(self) -> str:
        return self._script.name

    def propose(self, request: ModelRequest) -> ModelTurn:
        turns = _this_run(request.messages, request.turn)
        failed = _failed_writes(request)
        streak = _streak(turns)
        if failed and streak < self._max_retries:
            calls = tuple(
                ToolCall(f"{RETRY_PREFIX}{request.turn}_{i}", c.name, dict(c.arguments))
                for i, c in enumerate(failed)
            )
            return ModelTurn(TurnKind.TOOL_CALLS, tool_calls=calls, model=self.name)
        retried = sum(1 for m in turns if _is_retry(m))
        shifted = ModelRequest(
            request.agent, request.messages, request.tools, request.turn - retried
        )
        return self._script.propose(shifted)


def retries_in(run: Run) -> int:
    """How many tool calls of a run were the model trying a failed write again."""
    return sum(
        1
        for step in run.steps
        if step.kind is StepKind.MODEL_TURN
        for call in step.data.get("output", {}).get("tool_calls", ())
        if str(call.get("id", "")).startswith(RETRY_PREFIX)
    )


def _turn_of(message: Message) -> int | None:
    for call in message.tool_calls:
        found = _CALL_ID.match(call.id)
        if found:
            return int(found.group(2))
    return None


def _this_run(messages: Sequence[Message], turns: int) -> list[Message]:
    """This run's model turns with tool calls, oldest first: walking back, their turn numbers
    fall below `turns`, and rise again where an earlier run of the conversation begins."""
    found: list[Message] = []
    below = turns
    for message in reversed(messages):
        if message.role != "assistant" or not message.tool_calls:
            continue
        number = _turn_of(message)
        if number is None:
            continue  # not a model turn (a confirmed action the runtime runs)
        if number >= below:
            break
        found.append(message)
        below = number
    found.reverse()
    return found


def _is_retry(message: Message) -> bool:
    return any(c.id.startswith(RETRY_PREFIX) for c in message.tool_calls)


def _streak(turns: Sequence[Message]) -> int:
    count = 0
    for message in reversed(turns):
        if not _is_retry(message):
            break
        count += 1
    return count


def _failed_writes(request: ModelRequest) -> list[ToolCall]:
    """The writes of the latest assistant message (a model turn, or a confirmed action the
    runtime ran) whose results, which follow it, say they failed."""
    messages = request.messages
    last = next(
        (i for i in range(len(messages) - 1, -1, -1) if messages[i].role == "assistant"), -1
    )
    if last < 0 or not messages[last].tool_calls:
        return []
    writes = {s.name for s in request.tools if s.risk is not RiskClass.READ}
    failed = {m.tool_call_id for m in messages[last + 1 :] if m.role == "tool" and _failed(m)}
    return [c for c in messages[last].tool_calls if c.name in writes and c.id in failed]


def _failed(message: Message) -> bool:
    """The result says the call failed for a reason outside the domain (a timeout, an outage,
    an unknown outcome), not because the domain said no: that is what an eager model retries."""
    try:
        seen: Any = json.loads(message.content)
    except (ValueError, TypeError):
        return False
    if not isinstance(seen, Mapping) or seen.get("ok") is not False:
        return False
    error = seen.get("error")
    code = error.get("code") if isinstance(error, Mapping) else None
    try:
        known = ErrorCode(str(code))
    except ValueError:
        return False
    return known.handler is Handler.ENVELOPE or known in _NOT_THE_DOMAIN


_NOT_THE_DOMAIN = frozenset({ErrorCode.TOOL_ERROR, ErrorCode.BAD_OUTPUT, ErrorCode.OUTCOME_UNKNOWN})


def play_retrying(desk: Desk, scenario: Scenario) -> list[Run]:
    """The scenario's conversation with the retrying model, then the approval it gives; every
    run it made, as stored, in order."""
    conversations = Conversations(desk.runtime, ConversationStore(desk.store.engine))
    conversation = conversations.start(scenario.principal, scenario.agent)
    runs: list[Run] = []
    last: TurnOutcome | None = None
    for turn in scenario.turns:
        clock = desk.runtime.clock
        if turn.wait_s and isinstance(clock, ScenarioClock):
            clock.offset += turn.wait_s
        meta = {"scenario": scenario.name, "script": script_data(turn.model)}
        try:
            last = send_turn(conversation, turn, RetryingModel(turn.model), meta, last)
        except TetherError:
            continue  # a refused input: no run
        runs.append(last.run)
        retried = last.pending_action
        if retried is not None and retried.call_id.startswith(RETRY_PREFIX):
            # the model's retry waits for a yes, and an eager user gives it
            again = RetryingModel(parse_script([{"answer": "I tried that again."}]))
            last = conversation.confirm(retried.nonce, again, meta)
            runs.append(last.run)
    if runs:
        runs[-1] = _approve(desk, scenario, runs[-1])
    return [desk.store.get_run(r.id) for r in runs]


def _approve(desk: Desk, scenario: Scenario, run: Run) -> Run:
    """Decide the approval a suspended run waits for, as the scenario says."""
    step = scenario.approval
    if step is None or desk.approvals is None or run.status is not RunStatus.SUSPENDED:
        return run
    pending = desk.approvals.list(run_id=run.id)
    if not pending:
        return run
    model = RetryingModel(scenario.turns[-1].model)
    decided = desk.approvals.decide(
        pending[0].id, step.decision == "approve", step.approver(), step.note, model=model
    )
    return decided.run
