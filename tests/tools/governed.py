"""A governed runtime over tools made in a test (use it with the `either_store` fixture): what
the model is shown and what a run records, for tests of tool registration and the envelope."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tether.core.types import Agent, Message, Principal, Run
from tether.models.scripted import ScriptedModel, parse_script
from tether.runtime import RunRequest, Runtime
from tether.store import RunStore
from tether.tools.checks import SchemaCheck
from tether.tools.envelope import EnvelopeExecutor
from tether.tools.registry import Tool, ToolRegistry
from tether.tools.shared_state import InProcessState


class Everyone:
    """Any id names a principal."""

    def resolve(self, principal_id: str) -> Principal:
        return Principal(principal_id)


def build(
    store: RunStore, tools: Sequence[Tool], executor: EnvelopeExecutor | None = None
) -> Runtime:
    agent = Agent(
        "desk",
        "Help the user.",
        tuple(t.name for t in tools),
        require_grounding=False,
        allow_writes_without_policy=True,
    )
    return Runtime(
        store=store,
        agents={agent.name: agent},
        tools=ToolRegistry(tools),
        principals=Everyone(),
        tool_checks=(SchemaCheck(),),
        executor=executor or EnvelopeExecutor(InProcessState(), sleep=lambda _: None),
        default_agent=agent.name,
    )


def play(runtime: Runtime, turns: list[dict[str, Any]], user: str = "alice") -> Run:
    model = ScriptedModel(parse_script(turns))
    return runtime.run(RunRequest(user, [Message("user", "hello")]), model)
