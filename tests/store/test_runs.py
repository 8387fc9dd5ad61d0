"""The run store on SQLite and PostgreSQL: migrations, atomic steps, reads and filters."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Decision, DecisionKind, Reason, Run, RunStatus, Step, StepKind
from tether.store import RunFilter, RunStore
from tether.store.db import table_names
from tether.store.leases import Lease
from tether.store.run_rows import NewRun


def _run(run_id: str, created: float, principal: str = "u1") -> Run:
    return Run(
        id=run_id,
        agent="a",
        principal_id=principal,
        status=RunStatus.RUNNING,
        created_at=created,
        updated_at=created,
        input={"messages": [{"role": "user", "content": "hi"}]},
        trace_id=f"trace-{run_id}",
    )


def _step(run_id: str, seq: int, **data: object) -> Step:
    return Step(run_id, seq, StepKind.TOOL, "t", 10.0 + seq, 10.5 + seq, data)


def test_migrations_create_schema_and_are_idempotent(store_url: str) -> None:
    store = RunStore.open(store_url)
    RunStore.open(store_url).close()  # a second open migrates nothing and fails nothing
    assert {"alembic_version", "runs", "steps"} <= set(table_names(store.engine))
    store.close()


def test_steps_and_decision_round_trip(store_url: str) -> None:
    store = RunStore.open(store_url)
    store.create_run(_run("r1", 100.0), {"seq": 0})
    store.append_step(_step("r1", 1, output={"é": [1, 2.5, None]}), {"seq": 1})
    decision = Decision(
        DecisionKind.REFUSAL, "no", reason=Reason(ErrorCode.PERMISSION_DENIED, "not yours")
    )
    store.append_step(_step("r1", 2), {"seq": 2}, decision=decision)
    got = store.get_run("r1")
    assert got.status is RunStatus.COMPLETED
    assert got.decision == decision
    assert [s.seq for s in got.steps] == [1, 2]
    assert got.steps[0].data == {"output": {"é": [1, 2.5, None]}}
    assert got.step_count == 2
    assert store.checkpoint("r1") == {"seq": 2}
    store.close()


def test_duplicate_step_is_rejected_and_leaves_checkpoint_unchanged(store_url: str) -> None:
    store = RunStore.open(store_url)
    store.create_run(_run("r1", 100.0), {"seq": 0})
    store.append_step(_step("r1", 1), {"seq": 1})
    with pytest.raises(Exception):  # noqa: B017 - the backend's integrity error
        store.append_step(_step("r1", 1), {"seq": 99})
    # The step insert and the checkpoint update are one transaction: neither landed.
    assert store.checkpoint("r1") == {"seq": 1}
    assert len(store.get_run("r1").steps) == 1
    store.close()


def test_a_run_inserted_with_its_first_steps_reads_as_one_inserted_then_advanced(
    store_url: str,
) -> None:
    # a new run's row is inserted as its first steps leave it (no update after the insert),
    # and reads exactly as a row created first and advanced by the same steps
    store = RunStore.open(store_url)
    lease = Lease("worker-a", 1e12)
    store.create_run(_run("old", 100.0), {"seq": 0}, lease)
    store.append_steps([_step("old", 1), _step("old", 2)], {"seq": 2}, lease="worker-a")
    store.append_steps(
        [_step("new", 1), _step("new", 2)],
        {"seq": 2},
        lease="worker-a",
        create=NewRun(_run("new", 100.0), lease),
    )
    old, new = store.get_run("old"), store.get_run("new")
    assert (new.step_count, new.updated_at, new.status) == (2, 12.5, RunStatus.RUNNING)
    assert (old.step_count, old.updated_at, old.status) == (2, 12.5, RunStatus.RUNNING)
    assert [s.data for s in new.steps] == [s.data for s in old.steps]
    assert store.checkpoint("new") == store.checkpoint("old") == {"seq": 2}
    # the lease it was inserted with fences it: another holder's steps are refused
    with pytest.raises(TetherError) as caught:
        store.append_steps([_step("new", 3)], {"seq": 3}, lease="worker-b")
    assert caught.value.code is ErrorCode.LEASE_LOST
    # a run inserted with a lease other than the writer's is refused whole
    with pytest.raises(TetherError) as refused:
        store.append_steps(
            [_step("other", 1)],
            {"seq": 1},
            lease="worker-b",
            create=NewRun(_run("other", 1.0), lease),
        )
    assert refused.value.code is ErrorCode.LEASE_LOST
    with pytest.raises(TetherError):
        store.get_run("other")  # nothing of it was kept
    store.close()


def test_list_filter_count_and_pagination(store_url: str) -> None:
    store = RunStore.open(store_url)
    for i in range(5):
        store.create_run(_run(f"r{i}", 100.0 + i, principal="u1" if i % 2 else "u2"), {})
    answer = Decision(DecisionKind.ANSWER, "ok")
    store.append_step(_step("r3", 1), {}, decision=answer)
    assert [r.id for r in store.list_runs(limit=2)] == ["r4", "r3"]
    assert [r.id for r in store.list_runs(limit=2, offset=2)] == ["r2", "r1"]
    assert store.count_runs(RunFilter(principal_id="u1")) == 2
    assert [r.id for r in store.list_runs(RunFilter(decision=DecisionKind.ANSWER))] == ["r3"]
    assert store.count_runs(RunFilter(status=RunStatus.RUNNING)) == 4
    assert [r.id for r in store.list_runs(RunFilter(since=102.0, until=104.0))] == ["r3", "r2"]
    store.close()


def test_unknown_run_has_a_code(store_url: str) -> None:
    store = RunStore.open(store_url)
    with pytest.raises(TetherError) as err:
        store.get_run("nope")
    assert err.value.code is ErrorCode.RUN_NOT_FOUND
    with pytest.raises(TetherError) as err:
        store.checkpoint("nope")
    assert err.value.code is ErrorCode.RUN_NOT_FOUND
    store.close()


def test_sqlite_runs_in_wal_mode(sqlite_url: str, tmp_path: Path) -> None:
    store = RunStore.open(sqlite_url)
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    store.close()
    # The file is a plain SQLite database any tool can open.
    with sqlite3.connect(tmp_path / "tether.db") as raw:
        assert raw.execute("SELECT count(*) FROM runs").fetchone() == (0,)


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("not a url", ErrorCode.CONFIG_INVALID),
        ("mysql://root@127.0.0.1/test", ErrorCode.CONFIG_INVALID),
        ("postgresql://postgres@127.0.0.1:1/test", ErrorCode.STORE_UNAVAILABLE),
    ],
)
def test_bad_database_urls_have_codes(url: str, code: ErrorCode) -> None:
    with pytest.raises(TetherError) as err:
        RunStore.open(url)
    assert err.value.code is code
    assert "Traceback" not in err.value.message


def test_default_url_honours_environment(tmp_path: Path) -> None:
    from tether.store.db import default_url

    assert default_url({"TETHER_DATABASE_URL": "sqlite:///x.db"}) == "sqlite:///x.db"
    assert default_url({"TETHER_HOME": str(tmp_path)}) == f"sqlite:///{tmp_path / 'tether.db'}"
    assert default_url({}) == "sqlite:///.tether/tether.db"
