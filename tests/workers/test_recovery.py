"""Leases and recovery, attacked in one process on both stores: a run whose lease lapsed is
resumed and ends once; a live lease is left alone; a stalled holder cannot write over the
worker that took its run over; a run without a lease waits out its grace; a held run's lease
is renewed while a step outlasts its lifetime. (Real processes killed: test_kill_workers.py.)
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import update

from tether.core.errors import ErrorCode
from tether.core.types import DecisionKind, Message, Run, RunStatus, StepKind
from tether.models.base import ModelRequest
from tether.models.scripted import ScriptedModel, parse_script
from tether.runtime import RunRequest
from tether.sdk import Desk
from tether.store.leases import Lease
from tether.store.schema import runs
from tether.workers.recovery import Recovery

USER = "raj_sanchez_2970"
EMAIL = "raj.sanchez2046@example.com"
SCRIPT: list[dict[str, Any]] = [
    {"tool": "find_user_id_by_email", "args": {"email": EMAIL}},
    {"tool": "get_order_details", "args": {"order_id": "#W4566809"}},
    {"answer": "Order #W4566809 is pending [tool:2]."},
]


class Crash(BaseException):
    """Stands in for the process dying: nothing in the run may catch it."""


class Scripted(ScriptedModel):
    """The run's script, with a hook before a given model turn (to crash, stall or race)."""

    def __init__(self, at_turn: int, hook: Any) -> None:
        super().__init__(parse_script(SCRIPT))
        self.at_turn, self.hook = at_turn, hook

    def propose(self, request: ModelRequest) -> Any:
        if request.turn == self.at_turn:
            self.hook()
        return super().propose(request)


def start(desk: Desk, model: Any) -> Run:
    request = RunRequest(
        USER, [Message("user", f"I am {EMAIL}; status of #W4566809?")], metadata={"script": SCRIPT}
    )
    return desk.runtime.run(request, model)


def crashed_run(desk: Desk, lease: Lease | None) -> str:
    """A run stopped after its first tool call, its lease as a dead process would leave it."""

    def die() -> None:
        raise Crash

    with pytest.raises(Crash):
        start(desk, Scripted(1, die))
    (left,) = desk.store.list_runs()
    assert left.status is RunStatus.RUNNING
    set_lease(desk, left.id, lease)
    return left.id


def set_lease(desk: Desk, run_id: str, lease: Lease | None) -> None:
    values: dict[str, Any] = {"lease_owner": lease.owner if lease else None}
    values["lease_expires_at"] = lease.expires_at if lease else None
    with desk.store.engine.begin() as conn:
        conn.execute(update(runs).where(runs.c.id == run_id).values(values))


def ended_once(desk: Desk, run_id: str) -> Run:
    run = desk.store.get_run(run_id)
    assert run.status is RunStatus.COMPLETED and run.decision is not None
    assert [s.kind for s in run.steps].count(StepKind.DECISION) == 1
    assert [s.seq for s in run.steps] == list(range(1, len(run.steps) + 1))
    assert desk.store.leases.holder(run_id) is None  # an ended run holds no lease
    assert desk.access is not None and desk.access.verify_audit().ok
    return run


def test_a_run_whose_lease_lapsed_is_resumed_and_ends_once(desk: Desk) -> None:
    run_id = crashed_run(desk, Lease("dead-host:1:aa", time.time() - 1))
    (recovered,) = Recovery(desk.runtime, models=None).sweep()
    assert recovered.id == run_id and recovered.status is RunStatus.COMPLETED
    run = ended_once(desk, run_id)
    assert run.decision is not None and run.decision.kind is DecisionKind.ANSWER
    tools = [s.name for s in run.steps if s.kind is StepKind.TOOL]
    assert tools == ["find_user_id_by_email", "get_order_details"]  # nothing ran twice
    assert Recovery(desk.runtime, models=None).sweep() == []  # and nothing is left


def test_a_live_lease_is_left_alone_by_sweeps_and_resumes(desk: Desk) -> None:
    run_id = crashed_run(desk, Lease("other-host:7:bb", time.time() + 60))
    assert Recovery(desk.runtime, models=None).sweep() == []
    resumed = desk.runtime.resume(run_id, ScriptedModel(parse_script(SCRIPT)))
    assert resumed.status is RunStatus.RUNNING and resumed.decision is None
    assert desk.store.get_run(run_id).step_count == resumed.step_count  # nothing written
    set_lease(desk, run_id, Lease("other-host:7:bb", time.time() - 0.01))  # it lapses
    (recovered,) = Recovery(desk.runtime, models=None).sweep()
    assert recovered.status is RunStatus.COMPLETED
    ended_once(desk, run_id)


def test_a_stalled_holder_cannot_write_after_its_run_was_taken_over(desk: Desk) -> None:
    """Worker A stalls inside a model turn past its lease; B takes the run over and ends it;
    when A wakes, its next write is fenced out and it ends nothing."""
    taken: list[Run] = []

    def stall_and_be_taken_over() -> None:
        (run,) = desk.store.list_runs()
        holder = desk.store.leases.holder(run.id)
        assert holder is not None
        set_lease(desk, run.id, Lease(holder.owner, time.time() - 1))  # A's lease lapsed
        runtime_b = desk.runtime.__class__(**{**vars_of(desk.runtime), "leases": None})
        taken.extend(Recovery(runtime_b, models=None).sweep())

    a = start(desk, Scripted(1, stall_and_be_taken_over))
    assert [r.status for r in taken] == [RunStatus.COMPLETED]  # B ended it
    assert a.status is RunStatus.COMPLETED and a.decision == taken[0].decision  # A: as stored
    run = ended_once(desk, a.id)
    tools = [s.name for s in run.steps if s.kind is StepKind.TOOL]
    assert tools == ["find_user_id_by_email", "get_order_details"]


def test_a_holder_whose_lease_was_claimed_writes_nothing_more(desk: Desk) -> None:
    """B has claimed A's lapsed lease but not yet written: A's next step is fenced out, so
    A neither records its tool call nor ends the run; B's resume later ends it once."""
    seen: dict[str, Any] = {}

    def lapse_and_be_claimed() -> None:
        (run,) = desk.store.list_runs()
        seen["steps"] = desk.store.get_run(run.id).step_count
        set_lease(desk, run.id, Lease("worker-b:2:dd", time.time() + 60))

    a = start(desk, Scripted(1, lapse_and_be_claimed))
    assert a.status is RunStatus.RUNNING and a.decision is None  # A stopped, as stored
    assert desk.store.get_run(a.id).step_count == seen["steps"]  # and wrote nothing more
    set_lease(desk, a.id, Lease("worker-b:2:dd", time.time() - 1))  # B died too
    (recovered,) = Recovery(desk.runtime, models=None).sweep()
    run = ended_once(desk, recovered.id)
    tools = [s.name for s in run.steps if s.kind is StepKind.TOOL]
    assert tools == ["find_user_id_by_email", "get_order_details"]


def vars_of(runtime: Any) -> dict[str, Any]:
    """The constructor arguments of a runtime (a second worker with the same configuration)."""
    import dataclasses

    return {f.name: getattr(runtime, f.name) for f in dataclasses.fields(runtime) if f.init}


def test_a_run_without_a_lease_waits_out_its_grace(desk: Desk) -> None:
    """An approval's decision leaves a run RUNNING without a lease until its resume claims
    it: a sweep in that moment must not take it; one a lease's lifetime later does."""
    run_id = crashed_run(desk, None)  # Crash let the lease go, as a stopping worker does
    assert desk.store.leases.holder(run_id) is None
    with desk.store.engine.begin() as conn:  # it moved just now
        conn.execute(update(runs).where(runs.c.id == run_id).values(updated_at=time.time()))
    assert Recovery(desk.runtime, models=None).sweep() == []
    time.sleep(1.1)
    (recovered,) = Recovery(desk.runtime, models=None).sweep()
    assert recovered.id == run_id
    ended_once(desk, run_id)


def test_a_held_lease_is_renewed_while_a_step_outlasts_it(desk: Desk) -> None:
    """A model turn that takes 2.5 lease lifetimes: sweeps meanwhile find nothing to take."""
    swept: list[Run] = []
    sweeping = threading.Event()

    def sweep_while_stalled() -> None:
        sweeping.set()
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            swept.extend(Recovery(desk.runtime, models=None).sweep())
            time.sleep(0.2)

    run = start(desk, Scripted(1, sweep_while_stalled))
    assert sweeping.is_set() and swept == []
    assert ended_once(desk, run.id).decision is not None


def test_a_recovered_run_whose_model_cannot_be_built_ends_in_an_escalation(desk: Desk) -> None:
    run_id = crashed_run(desk, Lease("dead-host:1:cc", time.time() - 1))
    with desk.store.engine.begin() as conn:  # no script kept, and no model configured
        conn.execute(update(runs).where(runs.c.id == run_id).values(input='{"tenant":"default"}'))
    (recovered,) = Recovery(desk.runtime, models=None).sweep()
    assert recovered.decision is not None and recovered.decision.reason is not None
    assert recovered.decision.kind is DecisionKind.ESCALATION
    assert recovered.decision.reason.code is ErrorCode.MODEL_NOT_CONFIGURED
    ended_once(desk, run_id)


def test_renewal_reports_a_lease_taken_over_but_not_a_run_that_ended(desk: Desk) -> None:
    """The renewing thread warns of a lost lease only when the run still runs under another
    holder: a run that ended between the thread's look at what it holds and the renewal let
    its lease go with its Decision, which is no loss."""
    leases = desk.store.leases
    run_id = crashed_run(desk, Lease("me:1:aa", time.time() + 60))
    later = time.time() + 120
    assert leases.renew({"me:1:aa": run_id}, later) == set()  # still mine: extended
    holder = leases.holder(run_id)
    assert holder is not None and holder.expires_at == pytest.approx(later)
    set_lease(desk, run_id, Lease("other:2:bb", time.time() + 60))  # taken over
    assert leases.renew({"me:1:aa": run_id}, later) == {"me:1:aa"}
    holder = leases.holder(run_id)
    assert holder is not None and holder.owner == "other:2:bb"  # the new holder's, untouched
    set_lease(desk, run_id, None)  # let go (a stopping worker): running, nobody holds it
    assert leases.renew({"me:1:aa": run_id}, later) == {"me:1:aa"}
    set_lease(desk, run_id, Lease("dead:3:cc", time.time() - 1))  # its holder died
    (recovered,) = Recovery(desk.runtime, models=None).sweep()  # the run ends
    ended_once(desk, recovered.id)
    assert leases.renew({"me:1:aa": run_id}, later) == set()  # ended: its lease went with it
    assert leases.renew({}, later) == set()
