"""The guard chain: an ordered list of same-shaped checks, each returning a Verdict.

A tool call passes schema → permission → validators → policy → premises; an answer passes
its own list (grounding). The first verdict that is not `allow` decides; the runtime acts on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from tether.core.errors import ErrorCode
from tether.core.types import (
    Agent,
    Effect,
    Evidence,
    Message,
    ModelTurn,
    Principal,
    Reason,
    ToolCall,
    ToolSpec,
    Verdict,
)


class RegisteredTool(Protocol):
    """What a check needs of a tool: its spec and argument validation."""

    @property
    def spec(self) -> ToolSpec: ...

    def validate(self, arguments: Mapping[str, Any]) -> dict[str, Any]: ...


class ToolLookup(Protocol):
    def get(self, name: str) -> RegisteredTool | None: ...


class ConfirmedAction(Protocol):
    """A pending action the user confirmed: its nonce, and which call it covers."""

    @property
    def nonce(self) -> str: ...

    def matches(self, call: ToolCall) -> bool: ...


@dataclass(frozen=True)
class GuardContext:
    """What a check may read: who, which agent, which tools, the run's evidence and conversation."""

    run_id: str
    principal: Principal
    agent: Agent
    tools: ToolLookup
    evidence: Mapping[str, Evidence]
    messages: Sequence[Message] = ()  # the conversation so far, for checks that read it
    capability: str | None = None  # the run's signed capability token, when access is wired
    confirmed: ConfirmedAction | None = None  # the pending action the user confirmed, if any

    def is_confirmed(self, call: ToolCall) -> bool:
        """The user confirmed exactly this call (same tool, same arguments) in this turn."""
        return self.confirmed is not None and self.confirmed.matches(call)


class ToolCheck(Protocol):
    """A check of a proposed tool call; returns a Verdict and never raises."""

    name: str

    def __call__(self, ctx: GuardContext, call: ToolCall) -> Verdict: ...


class AnswerCheck(Protocol):
    """A check of a proposed answer; returns a Verdict and never raises."""

    name: str

    def __call__(self, ctx: GuardContext, turn: ModelTurn) -> Verdict: ...


@dataclass(frozen=True)
class GuardResult:
    """Every verdict the chain produced, and the one that decides."""

    verdicts: tuple[Verdict, ...]

    @property
    def final(self) -> Verdict:
        return self.verdicts[-1]

    @property
    def allowed(self) -> bool:
        return self.final.effect is Effect.ALLOW

    def to_dict(self) -> dict[str, object]:
        return {
            "effect": self.final.effect.value,
            "decided_by": self.final.check,
            "verdicts": [v.to_dict() for v in self.verdicts],
        }


P = TypeVar("P", ToolCall, ModelTurn)


def run_checks(
    checks: Sequence[Callable[[GuardContext, P], Verdict]], ctx: GuardContext, proposal: P
) -> GuardResult:
    """Run checks in order until one does not allow; every verdict produced is kept."""
    verdicts: list[Verdict] = []
    for check in checks:
        verdict = check(ctx, proposal)
        if verdict.effect is Effect.CONFIRM and isinstance(proposal, ToolCall):
            verdict = _confirmed(verdict, ctx, proposal)
        verdicts.append(verdict)
        if verdict.effect is not Effect.ALLOW:
            break
    if not verdicts:
        verdicts.append(Verdict.allow("empty-chain"))
    return GuardResult(tuple(verdicts))


def _confirmed(verdict: Verdict, ctx: GuardContext, call: ToolCall) -> Verdict:
    """A `confirm` verdict on the very call the user confirmed this turn allows it; the rest
    of the chain still runs."""
    if ctx.confirmed is None or not ctx.confirmed.matches(call):
        return verdict
    reasons = [r.message for r in verdict.reasons]
    facts = {**verdict.facts, "confirmed_by": ctx.confirmed.nonce, "confirmation_for": reasons}
    later = verdict.facts.get("escalations")
    if later:  # confirmed by the user; what also escalated now goes to a person
        escalated = tuple(Reason(ErrorCode.POLICY_ESCALATED, str(r)) for r in later)
        return Verdict(verdict.check, Effect.ESCALATE, escalated, facts)
    return Verdict(verdict.check, Effect.ALLOW, (), facts)


def run_tool_checks(checks: Sequence[ToolCheck], ctx: GuardContext, call: ToolCall) -> GuardResult:
    """Run a tool call through `checks` in order (see `run_checks`)."""
    return run_checks(checks, ctx, call)


def run_answer_checks(
    checks: Sequence[AnswerCheck], ctx: GuardContext, turn: ModelTurn
) -> GuardResult:
    """Run an answer through `checks` in order (see `run_checks`)."""
    return run_checks(checks, ctx, turn)
