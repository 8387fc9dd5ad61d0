"""A tool's own error, whatever characters its message holds, goes back to the model with the
tool's code: the run is not ended as an INTERNAL failure because of the message's text."""

from __future__ import annotations

import json

from tests.envelope.conftest import ask as play
from tests.envelope.conftest import make_runtime as build
from tether import RiskClass
from tether.core.types import DecisionKind, StepKind
from tether.store import RunStore
from tether.tools import ToolError, make_tool

# what an upstream's bytes become when decoded with errors="surrogateescape" (file names, say)
LONE = "\udcff"


def test_not_found_with_odd_message_reaches_the_model(either_store: RunStore) -> None:
    def find_file(name: str) -> dict[str, str]:
        # an upstream's message echoed as it came: a file name decoded with surrogateescape
        raise ToolError("NOT_FOUND", f"no file named {name}{LONE}")

    store = either_store
    runtime = build(store, [make_tool(find_file)])
    run = play(
        runtime,
        [{"tool": "find_file", "args": {"name": "report"}}, {"answer": "There is no such file."}],
    )

    assert run.decision is not None
    assert run.decision.kind is DecisionKind.ANSWER, run.decision.reason
    steps = store.get_run(run.id).steps
    tool_step = next(s for s in steps if s.kind is StepKind.TOOL)
    seen = json.loads(tool_step.data["messages"][0]["content"])
    assert seen["error"]["code"] == "NOT_FOUND"
    assert seen["error"]["message"] == "no file named report?"  # the rest of it kept


def test_refused_write_with_odd_message_reaches_the_model(either_store: RunStore) -> None:
    def charge(order_id: str, cents: int) -> dict[str, int]:
        raise ToolError("PRECONDITION_FAILED", f"order {order_id} is locked{LONE}")

    store = either_store
    runtime = build(store, [make_tool(charge, risk=RiskClass.WRITE)])
    run = play(
        runtime,
        [
            {"tool": "charge", "args": {"order_id": "o1", "cents": 500}},
            {"answer": "The order is locked."},
        ],
    )

    assert run.decision is not None
    assert run.decision.kind is DecisionKind.ANSWER, run.decision.reason
    tool_step = next(s for s in store.get_run(run.id).steps if s.kind is StepKind.TOOL)
    seen = json.loads(tool_step.data["messages"][0]["content"])
    assert seen["error"]["code"] == "PRECONDITION_FAILED"
