"""Queued runs: accepted now and executed by a worker later, once; cancelled while queued,
while running (by another process's request) and after their worker died, on both stores."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from typing import Any

import pytest
from sqlalchemy import update

from tests.workers.test_recovery import (
    EMAIL,
    SCRIPT,
    USER,
    Scripted,
    crashed_run,
    ended_once,
    vars_of,
)
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import DecisionKind, Message, Run, RunStatus, StepKind
from tether.models.scripted import ScriptedModel, parse_script
from tether.runtime import RunRequest
from tether.runtime.leases import LeaseKeeper
from tether.sdk import Desk
from tether.store.leases import CANCEL_POLL_S, Lease, cancels_asked
from tether.store.schema import runs


def request(**metadata: Any) -> RunRequest:
    text = f"I am {EMAIL}; status of #W4566809?"
    return RunRequest(USER, [Message("user", text)], metadata={"script": SCRIPT, **metadata})


def model() -> ScriptedModel:
    return ScriptedModel(parse_script(SCRIPT))


def test_a_submitted_run_waits_queued_and_a_worker_executes_it_once(desk: Desk) -> None:
    queued = desk.runtime.submit(request())
    assert queued.status is RunStatus.QUEUED and queued.step_count == 0
    stored = desk.store.get_run(queued.id)
    assert stored.status is RunStatus.QUEUED and stored.steps == ()
    assert desk.store.leases.holder(queued.id) is None
    run = desk.runtime.execute(queued.id, model())
    assert run.id == queued.id and run.status is RunStatus.COMPLETED
    ended = ended_once(desk, run.id)
    assert ended.steps[0].kind is StepKind.SCOPE
    assert ended.decision is not None and ended.decision.kind is DecisionKind.ANSWER
    again = desk.runtime.execute(queued.id, model())  # a duplicate delivery changes nothing
    assert again.step_count == ended.step_count
    assert desk.store.get_run(run.id).steps == ended.steps


def test_a_run_that_cannot_start_is_refused_before_anything_is_stored(desk: Desk) -> None:
    with pytest.raises(TetherError) as caught:
        desk.runtime.submit(RunRequest("nobody-at-all", [Message("user", "hi")]))
    assert caught.value.code is ErrorCode.UNKNOWN_PRINCIPAL
    assert desk.store.list_runs() == []


def test_a_queued_run_cancelled_ends_at_once_and_never_executes(desk: Desk) -> None:
    queued = desk.runtime.submit(request())
    run = desk.runtime.cancel(queued.id, "operator:sam")
    assert_cancelled(desk, run, "operator:sam")
    assert [s.kind for s in desk.store.get_run(run.id).steps] == [StepKind.DECISION]
    after = desk.runtime.execute(queued.id, model())  # the queue delivers it anyway
    assert after.status is RunStatus.COMPLETED and after.step_count == 1
    with pytest.raises(TetherError) as caught:
        desk.runtime.cancel(queued.id, "operator:kim")
    assert caught.value.code is ErrorCode.RUN_ENDED


def test_a_running_run_cancelled_by_another_process_ends_before_its_next_turn(
    desk: Desk,
) -> None:
    # the holder's lease outlives any stall of this machine (the file's one-second lease may
    # lapse under load before the holder first renews it, and the other process then takes
    # the run, as it should of a dead holder's)
    holder = desk.runtime.__class__(
        **{**vars_of(desk.runtime), "leases": LeaseKeeper(desk.store.leases, ttl_s=30)}
    )
    other = desk.runtime.__class__(**{**vars_of(desk.runtime), "leases": None})
    answers: list[Run] = []

    def cancel_from_elsewhere() -> None:
        (run,) = desk.store.list_runs()
        answers.append(other.cancel(run.id, "operator:sam"))

    run = holder.run(request(), Scripted(1, cancel_from_elsewhere))
    assert [a.status for a in answers] == [RunStatus.RUNNING]  # its holder ends it
    assert_cancelled(desk, run, "operator:sam")
    tools = [s.name for s in desk.store.get_run(run.id).steps if s.kind is StepKind.TOOL]
    assert tools == ["find_user_id_by_email", "get_order_details"]  # the turn in hand finished
    turns = [s for s in desk.store.get_run(run.id).steps if s.kind is StepKind.MODEL_TURN]
    assert len(turns) == 2  # and no third turn was asked for


def test_a_cancellation_asked_by_a_real_other_process_ends_the_run_before_its_next_turn(
    desk: Desk, store_url: str
) -> None:
    """Nothing in this process counts that cancellation: the run finds it in its row, read
    before its next turn (the other process takes longer to start than CANCEL_POLL_S, and than
    the batch window, so the run's commit reads it)."""

    def cancel_from_another_process() -> None:
        (run,) = desk.store.list_runs()
        code = (
            "import sys; from tether.store.runs import RunStore; "
            "store = RunStore.open(sys.argv[1]); "
            "assert store.leases.request_cancel(sys.argv[2], 'operator:elsewhere')"
        )
        done = subprocess.run(
            [sys.executable, "-c", code, store_url, run.id], capture_output=True, timeout=120
        )
        assert done.returncode == 0, done.stderr.decode()[-2000:]

    asked = cancels_asked()
    run = desk.runtime.run(request(), Scripted(1, cancel_from_another_process))
    assert cancels_asked() == asked  # this process heard nothing of it
    assert_cancelled(desk, run, "operator:elsewhere")
    turns = [s for s in desk.store.get_run(run.id).steps if s.kind is StepKind.MODEL_TURN]
    assert len(turns) == 2


def test_a_cancellation_written_unheard_is_read_once_the_poll_interval_has_passed(
    desk: Desk,
) -> None:
    """A cancellation this process did not ask (as one from another process) is read at the
    run's first model turn CANCEL_POLL_S after its last look, even when its model is fast."""

    def mark_unheard_then_wait() -> None:
        (run,) = desk.store.list_runs()
        with desk.store.engine.begin() as conn:
            conn.execute(
                update(runs).where(runs.c.id == run.id).values(cancel_requested="operator:far")
            )
        time.sleep(CANCEL_POLL_S * 1.5)  # the turn in hand takes longer than the interval

    asked = cancels_asked()
    run = desk.runtime.run(request(), Scripted(1, mark_unheard_then_wait))
    assert cancels_asked() == asked
    assert_cancelled(desk, run, "operator:far")
    turns = [s for s in desk.store.get_run(run.id).steps if s.kind is StepKind.MODEL_TURN]
    assert len(turns) == 2


def test_a_run_whose_worker_died_is_cancelled_at_once(desk: Desk) -> None:
    run_id = crashed_run(desk, Lease("dead-host:1:ee", time.time() - 1))
    run = desk.runtime.cancel(run_id, "operator:sam")
    assert_cancelled(desk, run, "operator:sam")


def test_a_run_held_by_a_live_worker_is_only_marked(desk: Desk) -> None:
    run_id = crashed_run(desk, Lease("live-host:1:ff", time.time() + 60))
    run = desk.runtime.cancel(run_id, "operator:sam")
    assert run.status is RunStatus.RUNNING
    assert desk.store.leases.cancel_requested(run_id) == "operator:sam"


def assert_cancelled(desk: Desk, run: Run, actor: str) -> None:
    assert run.status is RunStatus.COMPLETED and run.decision is not None
    assert run.decision.kind is DecisionKind.REFUSAL and run.decision.reason is not None
    assert run.decision.reason.code is ErrorCode.RUN_CANCELLED
    assert actor in run.decision.reason.message
    ended_once(desk, run.id)


@pytest.mark.parametrize("queued", [False, True], ids=["run", "queued"])
def test_a_run_whose_agent_is_broken_still_ends_in_a_decision(desk: Desk, queued: bool) -> None:
    """An agent whose limits are no limits (as a release built by a looser version may hold)
    fails as its run is bounded: the run ends in an escalation, never left running."""
    runtime = desk.runtime
    broken = {
        name: dataclasses.replace(agent, limits="forty steps")  # type: ignore[arg-type]
        for name, agent in runtime.agents.items()
    }
    other = runtime.__class__(**{**vars_of(runtime), "agents": broken})
    if queued:
        run = other.execute(runtime.submit(request()).id, model())
    else:
        run = other.run(request(), model())
    assert run.status is RunStatus.COMPLETED and run.decision is not None
    assert run.decision.kind is DecisionKind.ESCALATION
    assert run.decision.reason is not None and run.decision.reason.code is ErrorCode.INTERNAL
    ended_once(desk, run.id)
    assert [r.status for r in desk.store.list_runs()] == [RunStatus.COMPLETED]
