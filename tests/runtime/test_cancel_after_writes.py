"""A run cancelled after it made a write ends in the refusal coded RUN_CANCELLED that every
consumer reads as a cancellation (KPIs, rollout guards, listings), and lists the write in its
`results`: never an answer or action counted as a resolution, and never a refusal that hides
what was done. Replay takes the cancellation from the record and holds its writes to the
steps."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from tests.envelope.conftest import make_runtime
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import DecisionKind, Message, RiskClass
from tether.models.base import ModelRequest
from tether.models.scripted import ScriptedModel, parse_script
from tether.runtime import RunRequest, Runtime
from tether.runtime.replay import Replayer
from tether.store import RunStore
from tether.tools import make_tool

TURNS = [{"tool": "put", "args": {"n": 7}}, {"answer": "Done: 7 is stored."}]


class CancelledWhileAnswering:
    """A scripted model whose answering turn is the moment the caller's cancel is accepted;
    with `fails`, that turn then fails (a provider outage at the worst moment)."""

    def __init__(self, runtime: Runtime, fails: bool = False) -> None:
        self.runtime, self.inner = runtime, ScriptedModel(parse_script(TURNS))
        self.turns, self.fails = 0, fails

    @property
    def name(self) -> str:
        return self.inner.name

    def propose(self, request: ModelRequest) -> Any:
        self.turns += 1
        if self.turns == 2:
            (run,) = self.runtime.store.list_runs(limit=1)
            self.runtime.cancel(run.id, "api:caller")
            if self.fails:
                raise TetherError(ErrorCode.MODEL_UNAVAILABLE, "provider went away")
        return self.inner.propose(request)


@pytest.mark.parametrize("fails", [False, True], ids=["answer", "model-failure"])
def test_a_run_cancelled_after_a_write_is_a_cancellation_listing_the_write(
    sqlite_url: str, fails: bool
) -> None:
    store = RunStore.open(sqlite_url)
    done: list[int] = []

    def put(n: int) -> dict[str, Any]:
        """Write."""
        done.append(n)
        return {"put": n}

    runtime = make_runtime(store, [make_tool(put, risk=RiskClass.WRITE)])
    try:
        run = runtime.run(
            RunRequest("alice", [Message("user", "go")]), CancelledWhileAnswering(runtime, fails)
        )
        decision = run.decision
        assert decision is not None
        assert decision.kind is DecisionKind.REFUSAL, decision
        assert decision.reason is not None and decision.reason.code is ErrorCode.RUN_CANCELLED
        assert done == [7]  # the write ran once, before the cancel
        assert [r["tool"] for r in decision.results] == ["put"], decision.results
        assert "changes listed" in decision.text

        replayer = Replayer(runtime)
        stored = store.get_run(run.id)
        assert replayer.replay(stored).identical
        # the cancellation is the record's own account, but what it says was written is not
        last = stored.steps[-1]
        data = dict(last.data)
        data["decision"] = {**data["decision"], "results": []}
        forged = dataclasses.replace(
            stored, steps=(*stored.steps[:-1], dataclasses.replace(last, data=data))
        )
        assert not replayer.replay(forged).identical
    finally:
        store.close()
