"""A small governed runtime over hand-made tools, for envelope and exactly-once tests."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from tether.core.types import Agent, Message, Principal, Run
from tether.models.scripted import ScriptedModel, parse_script
from tether.runtime import RunRequest, Runtime
from tether.store import RunStore
from tether.tools.checks import SchemaCheck
from tether.tools.envelope import EnvelopeExecutor
from tether.tools.execute import ToolExecutor
from tether.tools.registry import Tool, ToolRegistry
from tether.tools.shared_state import InProcessState


class Anyone:
    """Every id is a principal (these tests are not about access)."""

    def resolve(self, principal_id: str) -> Principal:
        return Principal(principal_id)


def make_runtime(
    store: RunStore, tools: Sequence[Tool], executor: ToolExecutor | None = None
) -> Runtime:
    # no policy step in this chain: its writes are allowed explicitly
    agent = Agent(
        "clerk",
        "Help.",
        tuple(t.name for t in tools),
        require_grounding=False,
        allow_writes_without_policy=True,
    )
    return Runtime(
        store=store,
        agents={agent.name: agent},
        tools=ToolRegistry(tools),
        principals=Anyone(),
        tool_checks=(SchemaCheck(),),
        executor=executor or EnvelopeExecutor(InProcessState(), sleep=lambda _: None),
        default_agent=agent.name,
    )


def script(turns: list[dict[str, Any]]) -> ScriptedModel:
    return ScriptedModel(parse_script(turns))


def ask(runtime: Runtime, turns: list[dict[str, Any]], user: str = "alice") -> Run:
    return runtime.run(RunRequest(user, [Message("user", "please")]), script(turns))


@pytest.fixture
def store(sqlite_url: str) -> Iterator[RunStore]:
    s = RunStore.open(sqlite_url)
    yield s
    s.close()
