"""`tether chaos`: the retail pack's scenarios with faults injected into every tool. Every run ends
in a Decision, no side effect happens twice, and the report comes from the record."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text

from tether.cli.chaos import FAULTS, duplicate_effects, run_chaos
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Run, RunStatus, Step, StepKind
from tether.domains.retail.db import RetailDB
from tether.domains.retail.effects import RetailEffectLog
from tether.domains.retail.pack import RETAIL
from tether.sdk.scenarios import load_scenarios, run_scenario
from tether.store import RunStore

TETHER = str(Path(sys.executable).parent / "tether")
KEYS = {
    "runs",
    "completed",
    "escalated",
    "refused",
    "failed",
    "duplicate_side_effects",
    "lost_runs",
    "retries",
    "breaker_opens",
    "fallbacks",
    "undecided",
    "model_retries",
    "faults",
}


def _chaos(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    env["TETHER_HOME"] = str(home)
    return subprocess.run(
        [TETHER, "chaos", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_the_acceptance_run(tmp_path: Path) -> None:
    proc = _chaos(tmp_path, "--runs", "200", "--fault-rate", "0.3", "--seed", "7", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert set(report) == KEYS
    assert report["runs"] == 200
    assert report["failed"] == 0 and report["lost_runs"] == 0
    assert report["duplicate_side_effects"] == 0 and report["undecided"] == 0
    assert report["completed"] + report["escalated"] + report["refused"] == 200
    assert set(report["faults"]) == set(FAULTS) and all(report["faults"].values())
    # the faults were real: the envelope retried and fell back (breakers: see below)
    assert report["retries"] > 0 and report["fallbacks"] > 0
    # and every run of every turn is in the store with its Decision (a scenario is a
    # conversation: 200 of them make more runs than that)
    store = RunStore.open(f"sqlite:///{tmp_path / 'tether.db'}")
    stored = store.count_runs()
    assert stored > 200
    assert all(r.status is RunStatus.COMPLETED for r in store.list_runs(limit=stored))
    store.close()


def test_without_faults_chaos_ends_every_scenario_as_the_demo_does(store_url: str) -> None:
    store = RunStore.open(store_url)
    scenarios = load_scenarios(None, RETAIL)
    # a generous timeout: on a loaded machine a slow read must not count as a fault here
    report = run_chaos(
        RETAIL, store, len(scenarios), fault_rate=0.0, seed=1, timeout_s=5.0
    ).to_dict()
    demo = Counter(run_scenario(RETAIL, store, s).actual.value for s in scenarios)
    # a turn that waits on the user completes it: clarifications and confirmations count
    completed = ("answer", "action", "clarification", "confirmation")
    assert report["completed"] == sum(demo[k] for k in completed)
    assert report["escalated"] == demo["escalation"] and report["refused"] == demo["refusal"]
    assert report["retries"] == report["fallbacks"] == report["breaker_opens"] == 0
    store.close()


def test_when_every_call_fails_every_run_still_ends_in_a_decision(sqlite_url: str) -> None:
    store = RunStore.open(sqlite_url)
    report = run_chaos(RETAIL, store, 26, fault_rate=1.0, seed=3)
    data = report.to_dict()
    assert data["failed"] == 0 and data["lost_runs"] == 0 and report.healthy
    assert data["duplicate_side_effects"] == 0
    assert data["completed"] + data["escalated"] + data["refused"] == 26
    assert data["breaker_opens"] > 0
    store.close()


def test_the_duplicate_count_sees_a_record_changed_twice() -> None:
    db = RetailDB.fresh_copy()
    log = RetailEffectLog()
    log.install(db)
    for status in ("cancelled", "cancelled again"):
        with db.transaction() as uow:
            order = uow.order("#W4566809")
            assert order is not None
            order["status"] = status
            uow.put_order(order)
    with db.transaction() as uow:  # writing the same document again is not a change
        same = uow.order("#W4566809")
        assert same is not None
        uow.put_order(same)
    write = Step("run_1", 5, StepKind.TOOL, "cancel_pending_order", 0.0, 0.0, {"risk": "write"})
    run = Run("run_1", "desk", "raj", RunStatus.COMPLETED, 0.0, 0.0, {}, steps=(write,))
    assert duplicate_effects(log.changes(db), [run]) == 1
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM chaos_effects")).scalar_one() == 2
    db.engine.dispose()


@pytest.mark.parametrize("args", [["--fault-rate", "1.5"], ["--runs", "0"]])
def test_bad_options_exit_2(tmp_path: Path, args: list[str]) -> None:
    proc = _chaos(tmp_path, *args)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_effects_that_commit_then_fail_are_never_repeated_by_a_retrying_model(
    sqlite_url: str,
) -> None:
    """Writes commit and then time out or lose their connection, other calls fail outright,
    and the model proposes every failed write again: the runtime reconciles the first kind
    through the retail hook and replays recorded failures, so no effect happens twice."""
    store = RunStore.open(sqlite_url)
    kinds = ("commit_then_timeout", "commit_then_disconnect", "upstream", "exception")
    # two rounds of the scenarios; every write misbehaves, reads never do, so all runs reach
    # their writes
    report = run_chaos(
        RETAIL, store, 52, fault_rate=1.0, seed=5, kinds=kinds, writes_only=True
    ).to_dict()
    assert report["failed"] == report["lost_runs"] == report["undecided"] == 0
    assert report["duplicate_side_effects"] == 0
    assert report["model_retries"] > 0  # the model really did try failed writes again
    assert report["faults"]["commit_then_timeout"] > 0
    assert report["faults"]["commit_then_disconnect"] > 0
    assert {k for k, n in report["faults"].items() if n} <= set(kinds)
    reconciled = sum(
        bool(step.data.get("reconciled"))
        for run in store.list_runs(limit=store.count_runs())
        for step in store.get_run(run.id).steps
        if step.kind is StepKind.TOOL
    )
    assert reconciled > 0  # commits whose answer was lost were found, not run again
    store.close()


def test_unknown_fault_kinds_are_rejected(sqlite_url: str) -> None:
    store = RunStore.open(sqlite_url)
    with pytest.raises(TetherError) as caught:
        run_chaos(RETAIL, store, 1, fault_rate=0.5, seed=1, kinds=("gremlins",))
    assert caught.value.code is ErrorCode.CONFIG_INVALID
    store.close()
