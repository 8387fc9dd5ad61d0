"""The guard chain: an ordered list of same-shaped checks, each returning a Verdict.

A tool call passes schema → permission → validators → policy → premises; an answer passes
its own list (grounding). The first verdict that is not `allow` decides; the runtime acts on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import (
    Agent,
    Effect,
    Evidence,
    Message,
    ModelTurn,
    Principal,
    Reason,
    RiskClass,
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
    # the decision time: the instant the runtime checks this proposal at (its guard step's
    # start, from the runtime's clock); a check that depends on time reads this, so a replay
    # decides at the recorded instant. None outside a run: such a check reads its own clock.
    now: float | None = None

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

POLICY_STEP = "policy"  # the name of the chain's policy check (a pack's, or `WritesNeedPolicy`)


def run_checks(
    checks: Sequence[Callable[[GuardContext, P], Verdict]], ctx: GuardContext, proposal: P
) -> GuardResult:
    """Run checks in order until one does not allow; every verdict produced is kept.

    Fail closed: a check that raises denies with CHECK_FAILED (naming the check and the error),
    and an empty chain denies with NO_CHECKS."""
    verdicts: list[Verdict] = []
    for check in checks:
        verdict = _checked(check, ctx, proposal)
        if verdict.effect is Effect.CONFIRM and isinstance(proposal, ToolCall):
            verdict = _confirmed(verdict, ctx, proposal)
        verdicts.append(verdict)
        if verdict.effect is not Effect.ALLOW:
            break
    if not verdicts:
        verdicts.append(
            Verdict.deny("empty-chain", ErrorCode.NO_CHECKS, "no checks are configured")
        )
    return GuardResult(tuple(verdicts))


def _checked(
    check: Callable[[GuardContext, P], Verdict], ctx: GuardContext, proposal: P
) -> Verdict:
    """A check's verdict; one that raises (or returns no verdict) denies."""
    name = str(getattr(check, "name", type(check).__name__))
    try:
        verdict = check(ctx, proposal)
    except Exception as exc:  # a broken check must not let anything through, nor stop the run
        error = f"{type(exc).__name__}: {str(exc)[:300]}"
        return Verdict.deny(
            name, ErrorCode.CHECK_FAILED, f"check {name} failed ({error})", error=error
        )
    if not isinstance(verdict, Verdict):
        found = type(verdict).__name__
        return Verdict.deny(
            name, ErrorCode.CHECK_FAILED, f"check {name} returned {found}, not a Verdict"
        )
    return verdict


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


def as_received(tools: ToolLookup, call: ToolCall) -> ToolCall:
    """The call with the arguments its tool will receive (normalised by the tool's declared
    types: stripped, upper-cased, ...), so that every check judges the ids the tool acts on,
    not a spelling of them. A call whose arguments fail the schema, or names no tool, is kept
    as proposed, for the schema check to deny."""
    tool = tools.get(call.name)
    if tool is None:
        return call
    try:
        arguments = tool.validate(call.arguments)
    except TetherError:
        return call
    return call if arguments == call.arguments else replace(call, arguments=arguments)


def run_tool_checks(checks: Sequence[ToolCheck], ctx: GuardContext, call: ToolCall) -> GuardResult:
    """Run a tool call through `checks` in order (see `run_checks`). A write the chain allowed
    without a policy step is denied unless the agent allows writes without policy. The caller
    passes the call `as_received` (the runtime does, once per call)."""
    result = run_checks(checks, ctx, call)
    if not result.allowed:
        return result
    tool = ctx.tools.get(call.name)
    if tool is None:  # a chain without a schema check let an unknown tool through
        unknown = Verdict.deny("tool-known", ErrorCode.UNKNOWN_TOOL, "no tool by that name")
        return GuardResult((*result.verdicts, unknown))
    if tool.spec.risk is RiskClass.READ or ctx.agent.allow_writes_without_policy:
        return result
    if any(getattr(c, "name", "") == POLICY_STEP for c in checks):
        return result
    denied = Verdict.deny(
        "policy-required",
        ErrorCode.POLICY_DENIED,
        f"{call.name} changes data and no policy check is configured to permit it",
        policy="none",
    )
    return GuardResult((*result.verdicts, denied))


def run_answer_checks(
    checks: Sequence[AnswerCheck], ctx: GuardContext, turn: ModelTurn
) -> GuardResult:
    """Run an answer through `checks` in order (see `run_checks`). An agent whose answers need
    no grounding (`require_grounding=False`) may go without answer checks."""
    if not checks and not ctx.agent.require_grounding:
        return GuardResult((Verdict.allow("empty-chain", grounding="not required"),))
    return run_checks(checks, ctx, turn)
