"""Steps 4 and 5 of the run loop for a tool call: guard it, act on it, read its consequence.

A proposed call is checked by the guard chain; it runs, waits for the user's yes, waits for a
person's decision (an escalation), or is blocked. A call that runs is verified again at
execution and runs at most once; its outcome may hand the run off or escalate it. Kept apart
from the loop (`tether.runtime.loop`), which hands each proposed call to `_tool_call`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from tether.core.errors import ErrorCode, Handler
from tether.core.guard import as_received, run_tool_checks
from tether.core.reads import kept_reads, reading
from tether.core.types import (
    Decision,
    DecisionKind,
    Message,
    OutputTrust,
    Reason,
    RiskClass,
    RunStatus,
    StepKind,
)
from tether.runtime.control import cancelled
from tether.runtime.endings import blocked
from tether.runtime.once import action_scope, execute_once, has_started
from tether.runtime.prompt import marked_observation
from tether.runtime.recording import StepRecorderMixin
from tether.runtime.state import recorded_guard, take_step
from tether.tools.execute import CallContext

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from contextlib import AbstractContextManager

    from tether.core.guard import GuardContext, GuardResult, ToolCheck
    from tether.core.types import Step, ToolCall, ToolSpec
    from tether.runtime.seams import ApprovalGate
    from tether.runtime.state import RunState
    from tether.store.tool_results import ToolResultLedger
    from tether.tools.execute import ToolExecutor, ToolOutcome
    from tether.tools.registry import Tool, ToolRegistry


class ToolCallMixin(StepRecorderMixin):
    """The tool-call path, for `Runtime` (which provides what is declared)."""

    if TYPE_CHECKING:
        tools: ToolRegistry
        tool_checks: Sequence[ToolCheck]
        executor: ToolExecutor
        approvals: ApprovalGate | None
        observation: Callable[[Mapping[str, Any]], str]
        shared_reads: Callable[[], AbstractContextManager[object]]
        _ledger: ToolResultLedger

        def _context(self, state: RunState, now: float | None = None) -> GuardContext: ...

        def _needs_yes(self, state: RunState, call: ToolCall, result: GuardResult) -> bool: ...

        def _await_confirmation(
            self, state: RunState, call: ToolCall, result: GuardResult
        ) -> Decision: ...

    def _tool_call(
        self,
        state: RunState,
        call: ToolCall,
        recorded: GuardResult | None = None,
        approval: Mapping[str, Any] | None = None,
    ) -> Decision | None:
        # validated once: every guard, the recheck at execution and the ledger read the
        # arguments as the tool will receive them
        call = as_received(self.tools, call)
        result = recorded
        if result is None:
            started = self.clock.now()
            checks = self.tool_checks
            if approval is not None and self.approvals is not None:
                checks = self.approvals.checks(checks, approval)
            with self.shared_reads(), reading() as book:
                result = run_tool_checks(checks, self._context(state, started), call)
            suspends = self._suspends(result)
            data: dict[str, Any] = {"call": call.to_dict(), **result.to_dict(), **kept_reads(book)}
            if approval is not None:
                data["approval_id"] = approval.get("approval_id")
            if self._needs_yes(state, call, result):
                self._record(state, StepKind.GUARD, call.name, data, started, defer=True)
                return self._await_confirmation(state, call, result)
            if not result.allowed and not suspends:
                observation = self._verdict_observation(result)
                data["messages"] = [Message("tool", observation, tool_call_id=call.id).to_dict()]
            # a verdict that suspends the run commits with the suspension step; one that lets
            # a read-only call go commits with the call's result (a read acts on nothing)
            reads = result.allowed and self._reads_only(call)
            self._record(state, StepKind.GUARD, call.name, data, started, defer=suspends or reads)
        if self._suspends(result):
            self._suspend(state, call, result)
            return None
        if self._needs_yes(state, call, result):
            return self._await_confirmation(state, call, result)
        if not result.allowed:
            return self._on_blocked(result)
        if state.confirmed is not None and state.confirmed.matches(call):
            state.confirmed = None  # a yes is good for one call
        return self._act(state, call, approval)

    def _reads_only(self, call: ToolCall) -> bool:
        tool = self.tools.get(call.name)
        return tool is not None and tool.spec.risk is RiskClass.READ

    # -- approvals ------------------------------------------------------------------------

    def _suspends(self, result: GuardResult) -> bool:
        return (
            self.approvals is not None
            and not result.allowed
            and self.approvals.suspends(result.final)
        )

    def _suspend(self, state: RunState, call: ToolCall, result: GuardResult) -> None:
        """Wait for a person: the request opens in the transaction that suspends the run."""
        assert self.approvals is not None and state.header is not None
        data, hook = self.approvals.open(state.header, call, result.final, state.seq + 1)
        self._record(
            state, StepKind.APPROVAL, "requested", data, status=RunStatus.SUSPENDED, also=hook
        )
        state.suspended = True

    def _decided(
        self, state: RunState, call: ToolCall, approval: Mapping[str, Any], later: list[Step]
    ) -> Decision | None:
        """Act on a person's decision about an escalated call: run it, or refuse."""
        status = approval.get("status")
        if status == "pending":
            state.suspended = True
            return None
        if status != "approved":  # rejected, or nobody decided in time
            reason = Reason(ErrorCode(approval["code"]), str(approval.get("message", "")))
            return Decision(DecisionKind.REFUSAL, str(approval.get("reply", "")), reason=reason)
        recheck = recorded_guard(take_step(later, StepKind.GUARD, call.id))
        return self._tool_call(state, call, recheck, approval)

    def _act(
        self, state: RunState, call: ToolCall, approval: Mapping[str, Any] | None = None
    ) -> Decision | None:
        tool = self.tools.get(call.name)
        assert tool is not None  # the schema check allowed it
        started = self.clock.now()
        context = CallContext(
            state.run_id,
            state.turn_seq,
            state.principal.id,
            action=action_scope(state.run_id, call.id),  # the key follows the action, not the turn
            resolve=self._granted(state),
        )
        if (
            state.cancel is not None
            and tool.spec.risk is not RiskClass.READ
            and not has_started(self._ledger, tool, call.arguments, context)
        ):  # a cancel already accepted stops a write not yet started (one started is settled)
            return cancelled(state.cancel, state.writes)
        if self.access is not None:  # the token is verified again at the moment of execution
            with self.shared_reads(), reading() as book:
                recheck = self.access.recheck(self._context(state, started), call)
            if not recheck.allowed:
                blocked = {
                    "call": call.to_dict(),
                    "stage": "execute",
                    **recheck.to_dict(),
                    **kept_reads(book),
                }
                self._record(state, StepKind.GUARD, call.name, blocked, started)
                return self._on_blocked(recheck)
        spend = None  # an approved call spends its single-use token as it starts
        if approval is not None and self.approvals is not None:
            spend = self.approvals.spend(self._context(state, started), call, approval)
        outcome = execute_once(self.executor, self._ledger, tool, call.arguments, context, spend)
        observation = outcome.observation()
        data: dict[str, Any] = {
            "call_id": call.id,
            "tool": call.name,
            "risk": tool.spec.risk.value,
            "arguments": dict(call.arguments),
            "ok": outcome.ok,
            "latency_ms": round(outcome.latency_ms, 3),
            "attempts": [dict(a) for a in outcome.attempts],
            **outcome.facts(),
        }
        if outcome.ok:
            data["evidence_id"] = observation["evidence_id"] = f"tool:{state.tool_results + 1}"
            data["output"] = outcome.output
        else:
            data["error"] = observation["error"]
        content = self.observation(marked_observation(self._producer(tool, outcome), observation))
        data["messages"] = [Message("tool", content, tool_call_id=call.id).to_dict()]
        # a read acted on nothing: its result commits with later steps (a resume reads again);
        # an approved call's single-use token was spent, so its result commits now
        reads = approval is None and tool.spec.risk is RiskClass.READ
        self._record(state, StepKind.TOOL, call.name, data, started, defer=reads)
        return self._consequence(tool, call, outcome)

    def _producer(self, tool: Tool, outcome: ToolOutcome) -> ToolSpec:
        """The spec of the tool that produced the outcome (an alternate's, when one answered),
        whose trust the model is shown; one no longer registered is untrusted."""
        producer = self.tools.get(outcome.producer(tool.name))
        if producer is None:
            return replace(tool.spec, output_trust=OutputTrust.UNTRUSTED)
        return producer.spec

    def _granted(self, state: RunState) -> Callable[[str], Tool | None]:
        """Fallback alternates are looked up among the tools this run's agent is granted."""
        granted = state.grant.tools if state.grant else state.agent.tools
        return lambda name: self.tools.get(name) if name in granted else None

    @staticmethod
    def _consequence(tool: Tool, call: ToolCall, outcome: ToolOutcome) -> Decision | None:
        """What a tool outcome means for the run: hand-off, escalation, or carry on."""
        if outcome.ok and tool.spec.handoff:
            summary = str(call.arguments.get("summary", ""))
            reason = Reason(ErrorCode.HANDOFF_REQUESTED, summary or "transferred to a human")
            text = "I've transferred you to a human agent who will pick this up."
            return Decision(DecisionKind.ESCALATION, text, reason=reason)
        human = outcome.code is not None and outcome.code.handler is Handler.HUMAN
        if not outcome.ok and outcome.code and (outcome.escalate or human):
            reason = Reason(outcome.code, outcome.message)
            return Decision(
                DecisionKind.ESCALATION, "I'm handing this to a colleague.", reason=reason
            )
        return None

    def _verdict_observation(self, result: GuardResult) -> str:
        reason = result.final.reasons[0]
        error = {"code": reason.code.value, "message": reason.message, "retryable": False}
        return self.observation({"ok": False, "error": error})

    _on_blocked = staticmethod(blocked)
