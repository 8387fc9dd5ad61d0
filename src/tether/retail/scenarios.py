"""Demo scenarios: a conversation, the model's scripted turns, and the Decision expected."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tether.approvals.requests import Approver
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import DecisionKind, Message, Run, RunStatus
from tether.models.scripted import ScriptedModel, ScriptTurn
from tether.retail.db import RetailDB
from tether.retail.desk import RETAIL_AGENT, RetailDesk
from tether.runtime import RunRequest
from tether.store.runs import RunStore


class Expectation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: DecisionKind
    code: ErrorCode | None = None


class ApprovalStep(BaseModel):
    """What a person decides when the run waits for approval, and who they are."""

    model_config = ConfigDict(extra="forbid")
    decision: Literal["approve", "reject"]
    by: str = Field(min_length=1, max_length=128)  # an operator (not the requester)
    note: str = ""

    def approver(self) -> Approver:
        actor = self.by if ":" in self.by else f"operator:{self.by}"
        return Approver(actor=actor, role="approver", name=self.by)


class Scenario(BaseModel):
    """One demo scenario, as written in a YAML file."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str = ""
    principal: str = Field(min_length=1)
    messages: list[dict[str, str]] = Field(min_length=1)
    script: list[ScriptTurn] = Field(min_length=1)
    expect: Expectation
    max_steps: int | None = Field(default=None, ge=3, le=200)
    approval: ApprovalStep | None = None  # the run must wait for approval; the runner decides

    @field_validator("messages")
    @classmethod
    def _one_role_each(cls, value: list[dict[str, str]]) -> list[dict[str, str]]:
        for i, m in enumerate(value):
            if len(m) != 1 or next(iter(m)) not in ("user", "assistant"):
                raise ValueError(f"message {i + 1} must be {{user: TEXT}} or {{assistant: TEXT}}")
        return value

    def conversation(self) -> list[Message]:
        return [Message(role, text) for m in self.messages for role, text in m.items()]


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    expected: DecisionKind
    expected_code: ErrorCode | None
    run: Run
    expects_approval: bool = False
    approval: Mapping[str, Any] | None = None  # the request the runner decided, if any

    @property
    def actual(self) -> DecisionKind:
        assert self.run.decision is not None
        return self.run.decision.kind

    @property
    def actual_code(self) -> ErrorCode | None:
        decision = self.run.decision
        return decision.reason.code if decision and decision.reason else None

    @property
    def ok(self) -> bool:
        code_ok = self.expected_code is None or self.expected_code == self.actual_code
        approval_ok = self.approval is not None or not self.expects_approval
        return self.expected == self.actual and code_ok and approval_ok

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "expected": self.expected.value,
            "actual": self.actual.value,
            "ok": self.ok,
            "expected_code": self.expected_code.value if self.expected_code else None,
            "actual_code": self.actual_code.value if self.actual_code else None,
            "run_id": self.run.id,
            "approval": dict(self.approval) if self.approval is not None else None,
        }


def parse_scenario(data: Any, origin: str) -> Scenario:
    if not isinstance(data, Mapping):
        raise TetherError(ErrorCode.SCENARIO_INVALID, f"{origin}: a scenario is a mapping")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top)"
        raise TetherError(
            ErrorCode.SCENARIO_INVALID, f"{origin}: {where}: {first['msg']}"
        ) from None


def _read_scenario(read: Callable[[], str], origin: str) -> Scenario:
    try:
        data = yaml.safe_load(read())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TetherError(ErrorCode.SCENARIO_INVALID, f"{origin}: cannot read: {exc}") from None
    return parse_scenario(data, origin)


def load_scenario_file(path: Path) -> Scenario:
    return _read_scenario(lambda: path.read_text(encoding="utf-8"), str(path))


def load_scenarios(directory: Path | None = None) -> list[Scenario]:
    """The scenarios in `directory` (default: the packaged ones), in file-name order."""
    if directory is not None:
        files = sorted(directory.glob("*.yaml"))
        if not files:
            raise TetherError(ErrorCode.SCENARIO_INVALID, f"{directory}: no *.yaml scenarios")
        return [load_scenario_file(f) for f in files]
    root = resources.files("tether.retail") / "scenarios"
    entries = sorted((e for e in root.iterdir() if e.name.endswith(".yaml")), key=lambda e: e.name)
    return [_read_scenario(partial(e.read_text, "utf-8"), e.name) for e in entries]


def run_scenario(store: RunStore, scenario: Scenario) -> ScenarioResult:
    """Run one scenario on a fresh copy of the retail data, recording the run in `store`."""
    agent = RETAIL_AGENT
    if scenario.max_steps is not None:
        limits = dataclasses.replace(agent.limits, max_steps=scenario.max_steps)
        agent = dataclasses.replace(agent, limits=limits)
    approvals = scenario.approval is not None
    desk = RetailDesk.open(store, db=RetailDB.fresh_copy(), agent=agent, approvals=approvals)
    request = RunRequest(
        principal_id=scenario.principal,
        messages=scenario.conversation(),
        metadata={"scenario": scenario.name, "script": script_data(scenario)},
    )
    run = desk.runtime.run(request, ScriptedModel(scenario.script))
    run, approval = perform_approval(desk, scenario, run)
    expect = scenario.expect
    return ScenarioResult(scenario.name, expect.decision, expect.code, run, approvals, approval)


def script_data(scenario: Scenario) -> list[dict[str, Any]]:
    """The scenario's script as a run keeps it, to continue the run after an approval."""
    return [turn.model_dump(exclude_none=True) for turn in scenario.script]


def perform_approval(
    desk: RetailDesk, scenario: Scenario, run: Run
) -> tuple[Run, Mapping[str, Any] | None]:
    """Decide the request a suspended run waits for, as the scenario's `approval` step says,
    and return the run as it then ends (with the decided request)."""
    step = scenario.approval
    if step is None or desk.approvals is None or run.status is not RunStatus.SUSPENDED:
        return run, None
    pending = desk.approvals.list(run_id=run.id)
    if not pending:
        return run, None
    model = ScriptedModel(scenario.script)
    decided = desk.approvals.decide(
        pending[0].id, step.decision == "approve", step.approver(), step.note, model=model
    )
    if decided.run.decision is None:
        raise TetherError(
            ErrorCode.SCENARIO_INVALID,
            f"{scenario.name}: after the approval the run waits for another one",
        )
    return decided.run, decided.approval.to_dict()


def run_scenarios(
    store: RunStore,
    scenarios: list[Scenario],
    progress: Callable[[ScenarioResult], None] | None = None,
) -> Iterator[ScenarioResult]:
    for scenario in scenarios:
        result = run_scenario(store, scenario)
        if progress is not None:
            progress(result)
        yield result
