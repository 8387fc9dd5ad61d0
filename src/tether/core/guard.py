"""The guard chain: an ordered list of same-shaped checks, each returning a Verdict.

A tool call passes schema → permission → validators → policy → premises; an answer passes
its own list (grounding). The first verdict that is not `allow` decides; the runtime acts on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from tether.core.types import (
    Agent,
    Effect,
    Evidence,
    Message,
    ModelTurn,
    Principal,
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


class ToolCheck(Protocol):
    name: str

    def __call__(self, ctx: GuardContext, call: ToolCall) -> Verdict: ...


class AnswerCheck(Protocol):
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
        verdicts.append(verdict)
        if verdict.effect is not Effect.ALLOW:
            break
    if not verdicts:
        verdicts.append(Verdict.allow("empty-chain"))
    return GuardResult(tuple(verdicts))


def run_tool_checks(checks: Sequence[ToolCheck], ctx: GuardContext, call: ToolCall) -> GuardResult:
    return run_checks(checks, ctx, call)


def run_answer_checks(
    checks: Sequence[AnswerCheck], ctx: GuardContext, turn: ModelTurn
) -> GuardResult:
    return run_checks(checks, ctx, turn)
