"""A governed runtime over hand-made tools, to see what a run records and the model is shown."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from tether.core.types import Agent, Message, Principal, Run, StepKind
from tether.models.scripted import ScriptedModel, parse_script
from tether.runtime import RunRequest, Runtime
from tether.store import RunStore
from tether.tools.checks import SchemaCheck
from tether.tools.envelope import EnvelopeExecutor
from tether.tools.registry import Tool, ToolRegistry
from tether.tools.shared_state import InProcessState


class Anyone:
    """Every id is a principal (these tests are not about access)."""

    def resolve(self, principal_id: str) -> Principal:
        return Principal(principal_id)


@pytest.fixture
def store(sqlite_url: str) -> Iterator[RunStore]:
    s = RunStore.open(sqlite_url)
    yield s
    s.close()


def run_script(store: RunStore, tools: Sequence[Tool], turns: list[dict[str, Any]]) -> Run:
    """One run of a scripted model over `tools`, read back from the store."""
    agent = Agent("clerk", "Help.", tuple(t.name for t in tools), require_grounding=False)
    runtime = Runtime(
        store=store,
        agents={agent.name: agent},
        tools=ToolRegistry(tools),
        principals=Anyone(),
        tool_checks=(SchemaCheck(),),
        executor=EnvelopeExecutor(InProcessState(), sleep=lambda _: None),
        default_agent=agent.name,
    )
    run = runtime.run(RunRequest("alice", [Message("user", "please")]), _model(turns))
    return store.get_run(run.id)


def _model(turns: list[dict[str, Any]]) -> ScriptedModel:
    return ScriptedModel(parse_script(turns))


def tool_steps(run: Run) -> list[Mapping[str, Any]]:
    return [s.data for s in run.steps if s.kind is StepKind.TOOL]


def shown(step: Mapping[str, Any]) -> dict[str, Any]:
    """What the model was shown for a tool step."""
    return json.loads(step["messages"][0]["content"])  # type: ignore[no-any-return]
