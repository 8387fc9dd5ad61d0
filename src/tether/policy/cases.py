"""`tether policy test DIR`: policy unit cases written as YAML, request → expected verdict.

A case file names its policy files and schema (relative to itself) and lists cases. Each case
builds a conversation on a fresh copy of a domain's data (tool steps run for real, so later
steps see their effects), then asks the policy check about one call or one answer. The domain
supplies the tools, the binding and the principals through a `CaseWorld`:

    schema: ../retail.cedarschema
    policies: [../store.cedar]
    cases:
      - name: a cancellation needs an explicit yes
        principal: raj_sanchez_2970
        conversation:
          - user: "Cancel #W4566809 please. raj.sanchez2046@example.com"
          - tool: find_user_id_by_email
            args: {email: raj.sanchez2046@example.com}
        call: {tool: cancel_pending_order, args: {order_id: "#W4566809", reason: no longer needed}}
        expect: {effect: deny, rules: [confirm-before-write]}

`rules` (or `policies`, by full id) must equal the set of determining policies exactly.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tether.core.errors import ErrorCode, TetherError
from tether.core.guard import GuardContext
from tether.core.types import Agent, Message, ModelTurn, Principal, ToolCall, TurnKind, Verdict
from tether.policy.check import PolicyAnswerCheck, PolicyBinding, PolicyCheck, argument_hash
from tether.policy.engine import PolicyEngine
from tether.tools.execute import DirectExecutor
from tether.tools.registry import ToolRegistry


@dataclass(frozen=True)
class CaseWorld:
    """One case's world: tools over a fresh copy of the domain's data, the binding over the
    same data, who the principal is, and the agent; `close` discards the copy."""

    tools: ToolRegistry
    binding: PolicyBinding
    principal: Callable[[str], Principal]
    agent: Agent
    close: Callable[[], None] = lambda: None


WorldFactory = Callable[[], CaseWorld]


class CaseCall(BaseModel):
    """The proposed tool call of a case."""

    model_config = ConfigDict(extra="forbid")
    tool: str = Field(min_length=1)
    args: dict[str, Any] = Field(default_factory=dict)


class CaseStep(BaseModel):
    """One conversation entry: a customer or agent message, retrieved text the model was
    given (`system:`), or a tool call that runs."""

    model_config = ConfigDict(extra="forbid")
    user: str | None = None
    assistant: str | None = None
    system: str | None = None
    tool: str | None = None
    args: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _exactly_one(self) -> CaseStep:
        given = (self.user, self.assistant, self.system, self.tool)
        if sum(x is not None for x in given) != 1:
            raise ValueError("a step is exactly one of user:, assistant:, system: or tool:")
        return self


class Expect(BaseModel):
    """The verdict a case expects: its effect and, optionally, exactly which rules decide."""

    model_config = ConfigDict(extra="forbid")
    effect: Literal["allow", "deny", "escalate", "confirm"]
    rules: list[str] | None = None
    policies: list[str] | None = None


class PolicyCase(BaseModel):
    """One case: who, the conversation so far, one call or answer, the expected verdict."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    principal: str = Field(min_length=1)
    conversation: list[CaseStep] = Field(default_factory=list)
    # the user confirmed exactly this call (the runtime's pending action), this turn
    confirmed: bool = False
    call: CaseCall | None = None
    answer: str | None = None
    expect: Expect

    @model_validator(mode="after")
    def _one_proposal(self) -> PolicyCase:
        if (self.call is None) == (self.answer is None):
            raise ValueError("a case proposes exactly one of call: or answer:")
        return self


class CaseFile(BaseModel):
    """A case file: its schema, its policy files and its cases."""

    model_config = ConfigDict(extra="forbid")
    schema_file: str = Field(alias="schema", min_length=1)
    policies: list[str] = Field(min_length=1)
    cases: list[PolicyCase] = Field(min_length=1)


@dataclass(frozen=True)
class CaseResult:
    """A case and the verdict the policy check gave it."""

    file: str
    name: str
    expected: Expect
    verdict: Verdict

    @property
    def rules(self) -> list[str]:
        return [str(r) for r in self.verdict.facts.get("rules", ())]

    @property
    def policies(self) -> list[str]:
        return [str(p) for p in self.verdict.facts.get("policies", ())]

    @property
    def ok(self) -> bool:
        e = self.expected
        return (
            self.verdict.effect.value == e.effect
            and (e.rules is None or set(e.rules) == set(self.rules))
            and (e.policies is None or set(e.policies) == set(self.policies))
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "name": self.name,
            "ok": self.ok,
            "expected": self.expected.model_dump(exclude_none=True),
            "actual": {"effect": self.verdict.effect.value, "rules": self.rules},
            "reasons": [r.message for r in self.verdict.reasons],
        }


def load_case_file(path: Path) -> CaseFile:
    """Parse one case file (SCENARIO_INVALID when it is not a valid case file)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return CaseFile.model_validate(data)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TetherError(ErrorCode.SCENARIO_INVALID, f"{path}: cannot read: {exc}") from None
    except RecursionError:  # nested past what the YAML parser can descend
        raise TetherError(
            ErrorCode.SCENARIO_INVALID, f"{path}: cannot read: nested too deep to parse"
        ) from None
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top)"
        raise TetherError(ErrorCode.SCENARIO_INVALID, f"{path}: {where}: {first['msg']}") from None


def _conversation(case: PolicyCase, tools: ToolRegistry) -> list[Message]:
    messages: list[Message] = []
    for n, step in enumerate(case.conversation, start=1):
        if step.user is not None:
            messages.append(Message("user", step.user))
        elif step.assistant is not None:
            messages.append(Message("assistant", step.assistant))
        elif step.system is not None:
            messages.append(Message("system", step.system))
        else:
            assert step.tool is not None
            call = ToolCall(f"case-{n}", step.tool, step.args)
            tool = tools.get(step.tool)
            if tool is None:
                raise TetherError(ErrorCode.SCENARIO_INVALID, f"{case.name}: no tool {step.tool!r}")
            outcome = DirectExecutor().execute(tool, tool.validate(step.args))
            content = json.dumps(outcome.observation(), separators=(",", ":"), ensure_ascii=False)
            messages.append(Message("assistant", "", (call,)))
            messages.append(Message("tool", content, tool_call_id=call.id))
    return messages


@dataclass(frozen=True)
class _Confirmed:
    """The user's confirmation of exactly one call, as a case declares it."""

    call: ToolCall
    nonce: str = "case-confirmation"

    def matches(self, call: ToolCall) -> bool:
        return call.name == self.call.name and argument_hash(
            call.name, call.arguments
        ) == argument_hash(self.call.name, self.call.arguments)


def _confirmation(call: ToolCall) -> _Confirmed:
    return _Confirmed(call)


def run_case(
    engine: PolicyEngine, case: PolicyCase, origin: str, world: WorldFactory
) -> CaseResult:
    """Decide one case in a fresh world."""
    fresh = world()
    try:
        messages = _conversation(case, fresh.tools)
        principal = fresh.principal(case.principal)
        ctx = GuardContext("case", principal, fresh.agent, fresh.tools, {}, messages=messages)
        if case.call is not None:
            call = ToolCall("case-call", case.call.tool, case.call.args)
            messages.append(Message("assistant", "", (call,)))
            yes = _confirmation(call) if case.confirmed else None
            ctx = GuardContext(
                "case", principal, fresh.agent, fresh.tools, {}, messages=messages, confirmed=yes
            )
            verdict = PolicyCheck(engine, fresh.binding)(ctx, call)
        else:
            turn = ModelTurn(TurnKind.ANSWER, case.answer or "")
            verdict = PolicyAnswerCheck(engine, fresh.binding)(ctx, turn)
    finally:
        fresh.close()
    return CaseResult(origin, case.name, case.expect, verdict)


def run_case_dir(directory: Path, world: WorldFactory) -> Iterator[CaseResult]:
    """Every case of every `*.yaml` file in the folder, in file then case order."""
    files = sorted(directory.glob("*.yaml")) if directory.is_dir() else []
    if not files:
        raise TetherError(ErrorCode.SCENARIO_INVALID, f"{directory}: no *.yaml policy cases")
    for path in files:
        spec = load_case_file(path)
        base = path.parent
        engine = PolicyEngine.from_files(
            base / spec.schema_file,
            [base / p for p in spec.policies],
            validate_requests=True,  # cases also prove the binding's requests fit the schema
        )
        for case in spec.cases:
            yield run_case(engine, case, path.name, world)
