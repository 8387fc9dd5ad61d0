"""When a run's steps commit: steps that acted on nothing outside the run wait for a later
commit (the batch window bounds how long), a write's verdict commits before the write, and what
the store holds after each proposal is what a resume rebuilds from."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from tests.envelope.conftest import make_runtime
from tether.core.types import DecisionKind, Message, RiskClass, StepKind
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import Desk, open_retail_desk
from tether.models.base import ModelRequest
from tether.models.scripted import ScriptedModel, parse_script
from tether.runtime import RunRequest, Runtime
from tether.store import RunStore
from tether.tools import make_tool

USER = "raj_sanchez_2970"
READS = [
    {"tool": "find_user_id_by_email", "args": {"email": "raj.sanchez2046@example.com"}},
    {"tool": "get_user_details", "args": {"user_id": USER}},
    {"tool": "get_order_details", "args": {"order_id": "#W4566809"}},
]
ANSWER = {"answer": "Order #W4566809 is pending [tool:3]."}
MESSAGE = [Message("user", "Status of #W4566809? I am raj.sanchez2046@example.com")]


@pytest.fixture
def store(sqlite_url: str) -> Iterator[RunStore]:
    s = RunStore.open(sqlite_url)
    yield s
    s.close()


@pytest.fixture
def desk(store: RunStore) -> Desk:
    return open_retail_desk(store, db=RetailDB.fresh_copy())


class Watching:
    """A scripted model that notes, at each proposal, the step kinds the store holds."""

    def __init__(self, store: RunStore, turns: list[dict[str, Any]]) -> None:
        self.store, self.inner = store, ScriptedModel(parse_script(turns))
        self.seen: list[list[StepKind]] = []

    @property
    def name(self) -> str:
        return self.inner.name

    def propose(self, request: ModelRequest) -> Any:
        run = self.store.list_runs(limit=1)[0]  # the newest
        self.seen.append([s.kind for s in self.store.get_run(run.id).steps])
        return self.inner.propose(request)


def commits_of(runtime: Runtime, model: Any) -> tuple[Any, int]:
    """The run, and how many transactions its store committed while it ran (after a first
    run, which also registers the desk's release and builds its index)."""
    runtime.run(RunRequest(USER, MESSAGE), ScriptedModel(parse_script([ANSWER])))
    counted = [0]

    def commit(_conn: Any) -> None:
        counted[0] += 1

    event.listen(runtime.store.engine, "commit", commit)
    try:
        run = runtime.run(RunRequest(USER, MESSAGE), model)
    finally:
        event.remove(runtime.store.engine, "commit", commit)
    return run, counted[0]


def test_a_fast_read_only_run_commits_its_turns_with_its_decision(desk: Desk) -> None:
    model = Watching(desk.store, [*READS, ANSWER])
    # a run is fast next to its window however loaded the machine: a stall of half a second
    # between turns would commit the waiting ones, as it should
    runtime = dataclasses.replace(desk.runtime, batch_window_s=3600.0)
    run, commits = commits_of(runtime, model)
    assert run.decision is not None and run.decision.kind is DecisionKind.ANSWER
    # the run with its scope (the capability is on record before any use), then the rest
    assert commits == 2
    assert all(seen == [StepKind.SCOPE] for seen in model.seen)
    stored = desk.store.get_run(run.id)
    assert [(s.seq, s.kind, s.name) for s in stored.steps] == [
        (s.seq, s.kind, s.name) for s in run.steps
    ]
    assert [s.seq for s in stored.steps] == list(range(1, len(run.steps) + 1))
    assert desk.access is not None and desk.access.verify_audit().ok


def test_with_no_window_each_turn_commits_before_the_next_proposal(desk: Desk) -> None:
    runtime = dataclasses.replace(desk.runtime, batch_window_s=0.0)
    model = Watching(desk.store, [*READS, ANSWER])
    run, commits = commits_of(runtime, model)
    assert run.decision is not None and run.decision.kind is DecisionKind.ANSWER
    assert commits == 2 + 1 + len(READS)  # one more before each proposal: the retrieval's,
    assert model.seen[0] == [StepKind.SCOPE, StepKind.RETRIEVAL]  # then each finished turn's
    tools = [seen.count(StepKind.TOOL) for seen in model.seen]
    assert tools == [0, 1, 2, 3]  # every read is durable before the model is asked again
    assert desk.access is not None and desk.access.verify_audit().ok


def test_a_writes_verdict_commits_before_the_write_runs(store: RunStore) -> None:
    """Whatever waits goes with the write's verdict: the write never runs on steps a crash
    could lose, and its own step commits at once."""
    held: list[list[StepKind]] = []

    def look() -> dict[str, Any]:
        """Read."""
        return {"ok": True}

    def put(n: int) -> dict[str, Any]:
        """Write."""
        (run,) = store.list_runs(limit=1)
        held.append([s.kind for s in store.get_run(run.id).steps])
        return {"put": n}

    runtime = make_runtime(
        store, [make_tool(look, risk=RiskClass.READ), make_tool(put, risk=RiskClass.WRITE)]
    )
    turns = [{"tool": "look", "args": {}}, {"tool": "put", "args": {"n": 1}}, {"answer": "ok"}]
    run = runtime.run(
        RunRequest("alice", [Message("user", "go")]), ScriptedModel(parse_script(turns))
    )
    assert run.decision is not None and run.decision.kind is DecisionKind.ACTION
    assert held == [
        [
            StepKind.SCOPE,
            StepKind.RETRIEVAL,
            StepKind.MODEL_TURN,
            StepKind.GUARD,
            StepKind.TOOL,  # the read, which waited until now
            StepKind.MODEL_TURN,
            StepKind.GUARD,  # the write's verdict
        ]
    ]
    stored = [s.kind for s in store.get_run(run.id).steps if s.name == "put"]
    assert stored == [StepKind.GUARD, StepKind.TOOL]
