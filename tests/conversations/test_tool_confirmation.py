"""A tool registered with `requires_confirmation=True` never runs before the user confirms
exactly that call, whatever the rest of the chain allows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tether import Agent, Principal, RiskClass, Runtime, SchemaCheck, ToolRegistry, make_tool
from tether.core.types import DecisionKind, StepKind
from tether.models.scripted import ScriptedModel, parse_script
from tether.store.runs import RunStore


class Anyone:
    def resolve(self, principal_id: str) -> Principal:
        return Principal(principal_id)


@pytest.fixture
def journal(sqlite_url: str) -> Iterator[tuple[Runtime, list[str]]]:
    lines: list[str] = []

    def append_line(text: str) -> dict[str, str]:
        """Add a line to the journal."""
        lines.append(text)
        return {"appended": text}

    tool = make_tool(append_line, risk=RiskClass.WRITE, requires_confirmation=True)
    agent = Agent(  # no policy step in this chain: its writes are allowed explicitly
        "clerk",
        "Keep the journal.",
        (tool.name,),
        require_grounding=False,
        allow_writes_without_policy=True,
    )
    store = RunStore.open(sqlite_url)
    runtime = Runtime(
        store=store,
        agents={agent.name: agent},
        tools=ToolRegistry([tool]),
        principals=Anyone(),
        tool_checks=(SchemaCheck(),),
        default_agent=agent.name,
    )
    yield runtime, lines
    store.close()


CALL = [{"tool": "append_line", "args": {"text": "refund 100"}}]


def test_the_call_waits_and_runs_once_when_confirmed(journal: tuple[Runtime, list[str]]) -> None:
    runtime, lines = journal
    conversation = runtime.converse("clerk_1")
    asked = conversation.send("Log the refund.", ScriptedModel(parse_script(CALL)))
    assert asked.run.decision is not None
    assert asked.run.decision.kind is DecisionKind.CONFIRMATION
    assert lines == [] and asked.pending_action is not None
    assert asked.pending_action.arguments == {"text": "refund 100"}
    done = conversation.confirm(
        asked.pending_action.nonce, ScriptedModel(parse_script([{"answer": "Logged."}]))
    )
    assert done.run.decision is not None and done.run.decision.kind is DecisionKind.ACTION
    assert lines == ["refund 100"]
    # a second, identical call in a later turn needs its own confirmation
    again = conversation.send("Log it again.", ScriptedModel(parse_script(CALL)))
    assert again.run.decision is not None
    assert again.run.decision.kind is DecisionKind.CONFIRMATION
    assert lines == ["refund 100"]


def test_a_decline_leaves_the_journal_alone(journal: tuple[Runtime, list[str]]) -> None:
    runtime, lines = journal
    conversation = runtime.converse("clerk_1")
    asked = conversation.send("Log the refund.", ScriptedModel(parse_script(CALL)))
    assert asked.pending_action is not None
    declined = conversation.decline(
        asked.pending_action.nonce, ScriptedModel(parse_script([{"answer": "Not logged."}]))
    )
    assert lines == []
    events = [s.name for s in declined.run.steps if s.kind is StepKind.CONFIRMATION]
    assert events == ["declined"]
