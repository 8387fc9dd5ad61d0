"""Two domain packs share one PostgreSQL store (one process here; a retail worker and a clinic
worker in a deployment). Each desk hosts only the runs of its own agents: a clinic run whose
lease lapsed is recovered by the clinic desk, never ended by the retail desk's sweep (which
knows neither its agent nor its patient); a stale queued run goes back on its own pack's queue;
the PostgreSQL queue keeps each pack's runs apart; and an approval decided on the other desk
leaves the run for its own desk to continue."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from tether import Message
from tether.core.types import ErrorCode, ModelTurn, RunStatus
from tether.domains.clinic.pack import CLINIC
from tether.domains.retail.db import RetailDB
from tether.domains.retail.pack import RETAIL
from tether.models.base import ModelRequest
from tether.models.scripted import ScriptedModel, parse_script
from tether.runtime.seams import RunRequest
from tether.sdk import Desk, build_desk
from tether.store import RunStore
from tether.store.leases import ORPHANED_AFTER_S
from tether.workers.pg_queue import PostgresQueue
from tether.workers.queue import InlineQueue
from tether.workers.recovery import Recovery

from ..approvals.conftest import SAM, pending_for, start_return


class _Killed(BaseException):
    """Stands for the process dying in the middle of the run."""


class _DiesOnFirstTurn:
    name = "scripted"

    def propose(self, request: ModelRequest) -> ModelTurn:
        raise _Killed()


def _refusing() -> ScriptedModel:
    return ScriptedModel(parse_script([{"refuse": "I cannot help with that."}]))


@pytest.fixture
def shared(pg_url: str) -> Iterator[tuple[RunStore, Desk, Desk]]:
    store = RunStore.open(pg_url)
    retail = build_desk(RETAIL, store, fresh=True, approvals=True)
    clinic = build_desk(CLINIC, store, fresh=True, approvals=True)
    yield store, retail, clinic
    store.close()


def _dead_clinic_run(store: RunStore, clinic: Desk, idle_s: float = 120.0) -> str:
    """A clinic run whose process died mid-turn, `idle_s` ago (its lease long lapsed)."""
    with pytest.raises(_Killed):
        clinic.runtime.run(RunRequest("ana-silva", [Message("user", "hello")]), _DiesOnFirstTurn())
    with store.engine.begin() as conn:
        (run_id,) = conn.execute(text("SELECT id FROM runs WHERE status = 'running'")).one()
        conn.execute(
            text("UPDATE runs SET lease_owner = 'dead', lease_expires_at = 1, updated_at = :at"),
            {"at": time.time() - idle_s},
        )
    return str(run_id)


def test_another_packs_sweep_leaves_a_run_its_own_desk_recovers(
    shared: tuple[RunStore, Desk, Desk],
) -> None:
    store, retail, clinic = shared
    run_id = _dead_clinic_run(store, clinic)
    assert Recovery(retail.runtime, _refusing).sweep() == []  # the other pack sweeps first
    assert store.get_run(run_id).status is RunStatus.RUNNING
    (recovered,) = Recovery(clinic.runtime, _refusing).sweep()
    assert recovered.id == run_id
    run = store.get_run(run_id)
    assert run.status is RunStatus.COMPLETED
    assert run.decision is not None and run.decision.reason is not None
    assert run.decision.reason.code is ErrorCode.MODEL_REFUSED, run.decision.reason.message


def test_a_stale_queued_run_goes_back_on_its_own_packs_queue_only(
    shared: tuple[RunStore, Desk, Desk],
) -> None:
    store, retail, clinic = shared
    run_id = _dead_clinic_run(store, clinic)
    with store.engine.begin() as conn:  # accepted long ago; the queue that held it died
        conn.execute(
            text("UPDATE runs SET status = 'queued', lease_owner = NULL, created_at = :at"),
            {"at": time.time() - 120},
        )
    retail_queue, clinic_queue = InlineQueue(10), InlineQueue(10)
    Recovery(retail.runtime, _refusing, retail_queue).sweep()
    assert retail_queue.depth() == 0
    Recovery(clinic.runtime, _refusing, clinic_queue).sweep()
    assert clinic_queue.depth() == 1
    assert store.get_run(run_id).status is RunStatus.QUEUED


def test_the_postgres_queue_keeps_each_packs_runs_apart(pg_url: str) -> None:
    RunStore.open(pg_url).close()  # the queue's tables come with the store's migrations
    retail, clinic = (
        PostgresQueue(pg_url, 10, pack="retail"),
        PostgresQueue(pg_url, 10, pack="clinic"),
    )
    try:
        retail.enqueue("a-retail-run")
        assert (retail.depth(), clinic.depth()) == (1, 0)
        clinic.enqueue("a-retail-run")  # the same id on another pack's queue is its own job
        assert (retail.depth(), clinic.depth()) == (1, 1)
    finally:
        retail.stop(timeout_s=5)
        clinic.stop(timeout_s=5)


def test_an_approval_decided_on_another_desk_leaves_the_run_to_its_own(
    shared: tuple[RunStore, Desk, Desk],
) -> None:
    store, _, clinic = shared
    retail = build_desk(RETAIL, store, data=RetailDB.fresh_copy(), approvals=True)
    run = start_return(retail)
    approval = pending_for(retail.approvals, run)  # type: ignore[arg-type]
    assert clinic.approvals is not None
    decided = clinic.approvals.approve(approval.id, SAM)
    assert decided.run.status is RunStatus.RUNNING  # decided, not continued on the clinic desk
    with store.engine.begin() as conn:  # it has not moved for a lease's lifetime
        conn.execute(
            text("UPDATE runs SET updated_at = :at WHERE id = :id"),
            {"at": time.time() - 120, "id": run.id},
        )
    assert Recovery(clinic.runtime, _refusing).sweep() == []
    (resumed,) = Recovery(retail.runtime, None).sweep()  # the run's own script continues it
    assert resumed.id == run.id and resumed.status is RunStatus.COMPLETED
    assert resumed.decision is not None and resumed.decision.reason is None, resumed.decision
    order = retail.data.order("#W1067251")
    assert order is not None and order["status"] == "return requested"


def test_a_run_no_desk_has_touched_for_an_hour_is_ended_by_any_sweep(
    shared: tuple[RunStore, Desk, Desk],
) -> None:
    """Its pack left the store (or its agent left the pack): the run still ends in a Decision,
    by whichever desk sweeps, once it has not moved for ORPHANED_AFTER_S (two minutes idle, the
    same run is left to its own desk: the first test)."""
    store, retail, clinic = shared
    run_id = _dead_clinic_run(store, clinic, idle_s=ORPHANED_AFTER_S + 60)
    (ended,) = Recovery(retail.runtime, _refusing).sweep()
    assert ended.id == run_id
    run = store.get_run(run_id)
    assert run.status is RunStatus.COMPLETED
    assert run.decision is not None and run.decision.reason is not None
    assert run.decision.reason.code is ErrorCode.UNKNOWN_AGENT
