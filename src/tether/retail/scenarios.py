"""Demo scenarios: a conversation, the model's scripted turns, and the Decision expected."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import DecisionKind, Message, Run
from tether.models.scripted import ScriptedModel, ScriptTurn
from tether.retail.db import RetailDB
from tether.retail.desk import RETAIL_AGENT, RetailDesk
from tether.runtime.loop import RunRequest
from tether.store.runs import RunStore


class Expectation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: DecisionKind
    code: ErrorCode | None = None


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
        return self.expected == self.actual and code_ok

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "expected": self.expected.value,
            "actual": self.actual.value,
            "ok": self.ok,
            "expected_code": self.expected_code.value if self.expected_code else None,
            "actual_code": self.actual_code.value if self.actual_code else None,
            "run_id": self.run.id,
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
    desk = RetailDesk.open(store, db=RetailDB.fresh_copy(), agent=agent)
    request = RunRequest(
        principal_id=scenario.principal,
        messages=scenario.conversation(),
        metadata={"scenario": scenario.name},
    )
    run = desk.runtime.run(request, ScriptedModel(scenario.script))
    return ScenarioResult(scenario.name, scenario.expect.decision, scenario.expect.code, run)


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
