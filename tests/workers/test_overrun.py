"""A worker stuck past its run's time limit, in a step nothing can pull it out of (an inline
tool that hangs, here), does not keep the run RUNNING: its lease is no longer renewed, another
worker takes the run over and ends it in a TIME_LIMIT escalation without finishing the stuck
call (naming the calls its record shows unfinished), and the stuck thread writes nothing when
it returns. A step that outlasts its lease
within the limit keeps its lease (test_recovery.py); time spent waiting for a person's decision
never counts against the limit.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

import pytest
from sqlalchemy import update

from tests.workers.test_recovery import EMAIL, SCRIPT, USER, crashed_run, ended_once, vars_of
from tether.core.errors import ErrorCode
from tether.core.types import DecisionKind, Limits, Message, Run, RunStatus, Step, StepKind
from tether.models.scripted import ScriptedModel, parse_script
from tether.runtime import RunRequest, Runtime
from tether.runtime.endings import overran
from tether.runtime.state import suspended_seconds
from tether.sdk import Desk
from tether.store.schema import runs, steps
from tether.workers.recovery import Recovery

HANG_S = 20.0  # how long the stuck tool waits to be let go: a bound, not a figure


def limited(desk: Desk, seconds: float) -> Runtime:
    """A second worker on the desk's store whose agents may each run `seconds`."""
    agents = {
        name: dataclasses.replace(agent, limits=Limits(agent.limits.max_steps, seconds))
        for name, agent in desk.runtime.agents.items()
    }
    return Runtime(**{**vars_of(desk.runtime), "agents": agents, "leases": None})


def request() -> RunRequest:
    text = f"I am {EMAIL}; status of #W4566809?"
    return RunRequest(USER, [Message("user", text)], metadata={"script": SCRIPT})


def recovered_within(worker: Runtime, seconds: float) -> list[Run]:
    """Sweep as a worker does until a sweep resumes something, for at most `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = Recovery(worker, models=None).sweep()
        if found:
            return found
        time.sleep(0.1)
    return []


def test_a_run_stuck_in_an_inline_tool_past_its_limit_is_ended_by_another_worker(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool = desk.runtime.tools.get("get_order_details")
    assert tool is not None and tool.spec.envelope.inline  # on the calling thread: no timeout
    entered, release = threading.Event(), threading.Event()

    def hang(**arguments: Any) -> Any:
        entered.set()
        release.wait(HANG_S)
        return tool.fn(**arguments)

    stuck = dataclasses.replace(tool, fn=hang)
    monkeypatch.setitem(desk.runtime.tools._tools, "get_order_details", stuck)
    worker_a, worker_b = limited(desk, 1.0), limited(desk, 1.0)
    returned: list[Run] = []
    thread = threading.Thread(
        target=lambda: returned.append(worker_a.run(request(), ScriptedModel(parse_script(SCRIPT))))
    )
    thread.start()
    try:
        assert entered.wait(10)
        (taken,) = recovered_within(worker_b, 10.0)  # A's lease lapses about 2 s past the limit
        assert worker_a.keeper.past_bound() == [taken.id]  # still stuck, and counted
    finally:
        release.set()
        thread.join(HANG_S + 10)
    assert taken.decision is not None and taken.decision.reason is not None
    assert taken.decision.kind is DecisionKind.ESCALATION
    assert taken.decision.reason.code is ErrorCode.TIME_LIMIT
    run = ended_once(desk, taken.id)
    tools = [s.name for s in run.steps if s.kind is StepKind.TOOL]
    assert tools == []  # A's late steps were fenced out, and B ran no call of the turn
    assert [r.decision for r in returned] == [taken.decision]  # A: the run as stored
    assert worker_a.keeper.past_bound() == []  # A let go of it when it returned


def test_the_metrics_count_the_runs_held_past_their_bound(desk: Desk) -> None:
    keeper, metrics = desk.runtime.keeper, desk.observability.metrics
    gauge = "tether_runs_past_time_limit"
    assert metrics.registry.get_sample_value(gauge) == 0.0
    lease = keeper.new()
    with keeper.holding("run_held", lease):
        keeper.bound(lease, time.time() + 60)
        assert metrics.registry.get_sample_value(gauge) == 0.0  # within its bound
        keeper.bound(lease, time.time() - 1)
        assert metrics.registry.get_sample_value(gauge) == 1.0
    assert metrics.registry.get_sample_value(gauge) == 0.0


def crashed_ten_minutes_ago(desk: Desk) -> str:
    """A run that began ten minutes ago and stopped then, holding no lease: its row and its
    steps, whose first says when a worker began it, moved ten minutes back."""
    run_id = crashed_run(desk, None)
    ago = time.time() - 600
    with desk.store.engine.begin() as conn:
        conn.execute(update(runs).where(runs.c.id == run_id).values(created_at=ago, updated_at=ago))
        conn.execute(
            update(steps)
            .where(steps.c.run_id == run_id)
            .values(started_at=steps.c.started_at - 600, ended_at=steps.c.ended_at - 600)
        )
    return run_id


def test_time_on_the_queue_never_counts_against_the_limit() -> None:
    """A run queued at 0 that a worker began at 100 has used 20 s at 120, not 120: one found at
    120 under a 60 s limit is not over it; one no worker has begun has used nothing."""
    begun = [step(1, StepKind.SCOPE, 100.0), step(2, StepKind.MODEL_TURN, 101.0)]
    queued_at_zero = Run("r", "a", "p", RunStatus.RUNNING, 0.0, 101.0, {}, steps=tuple(begun))
    assert overran(queued_at_zero, 60.0, now=120.0) is None
    over = overran(queued_at_zero, 60.0, now=161.0)
    assert over is not None and over.reason is not None
    assert over.reason.code is ErrorCode.TIME_LIMIT
    never_begun = dataclasses.replace(queued_at_zero, steps=())
    assert overran(never_begun, 60.0, now=10_000.0) is None


def test_a_crashed_run_found_past_its_limit_ends_without_finishing_its_turn(desk: Desk) -> None:
    run_id = crashed_ten_minutes_ago(desk)
    (taken,) = Recovery(limited(desk, 60.0), models=None).sweep()
    assert taken.decision is not None and taken.decision.reason is not None
    assert taken.decision.reason.code is ErrorCode.TIME_LIMIT
    run = ended_once(desk, run_id)
    assert [s.name for s in run.steps if s.kind is StepKind.TOOL] == []  # nothing ran again


def test_a_cancelled_run_past_its_limit_still_ends_as_cancelled(desk: Desk) -> None:
    run_id = crashed_ten_minutes_ago(desk)
    ended = limited(desk, 60.0).cancel(run_id, "operator:ops")
    assert ended.decision is not None and ended.decision.reason is not None
    assert ended.decision.reason.code is ErrorCode.RUN_CANCELLED


def step(seq: int, kind: StepKind, at: float, **data: Any) -> Step:
    return Step("r", seq, kind, kind.value, at, at, data)


def test_waiting_for_a_decision_never_counts_against_the_limit() -> None:
    """A run created at 0 that waited for a person from 10 to 500 and has been at work again
    since 500 has used 10 s at 500 and 40 s at 530; an open wait counts as waiting up to now."""
    decided = [
        step(1, StepKind.MODEL_TURN, 5.0),
        step(2, StepKind.APPROVAL, 10.0, status="pending"),
        step(3, StepKind.APPROVAL, 500.0, status="approved"),
    ]
    assert suspended_seconds(decided) == pytest.approx(490.0)
    assert suspended_seconds(decided[:2]) == 0.0  # without `until`, an open wait is not known
    assert suspended_seconds(decided[:2], until=400.0) == pytest.approx(390.0)
    base = Run("r", "support", USER, RunStatus.RUNNING, 0.0, 500.0, {})
    assert overran(dataclasses.replace(base, steps=tuple(decided)), 45.0, 530.0) is None
    late = overran(dataclasses.replace(base, steps=tuple(decided)), 45.0, 560.0)
    assert late is not None and late.reason is not None
    assert late.reason.code is ErrorCode.TIME_LIMIT
    still_waiting = dataclasses.replace(base, steps=tuple(decided[:2]))
    assert overran(still_waiting, 45.0, 10_000.0) is None  # 10 s of work, then waiting


def test_the_calls_left_without_an_outcome_are_named() -> None:
    calls = [
        {"id": "c1", "name": "get_order_details", "arguments": {}},
        {"id": "c2", "name": "cancel_pending_order", "arguments": {}},
    ]
    turn = {"kind": "tool_calls", "tool_calls": calls}
    steps = (
        step(1, StepKind.MODEL_TURN, 1.0, output=turn),
        step(2, StepKind.TOOL, 2.0, call_id="c1", ok=True),
    )
    run = Run("r", "support", USER, RunStatus.RUNNING, 0.0, 2.0, {}, steps=steps)
    late = overran(run, 30.0, 100.0)
    assert late is not None and late.reason is not None
    assert late.reason.message.endswith("without a recorded outcome: cancel_pending_order")
