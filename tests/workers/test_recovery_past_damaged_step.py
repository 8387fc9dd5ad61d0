"""Runs left RUNNING by killed processes are resumed by the recovery sweep; one of them with a
damaged step row must not keep the others from being recovered (or itself from ending)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.processes import env_for
from tether.core.types import RunStatus
from tether.domains.retail.desk import open_retail_desk
from tether.store import RunStore
from tether.workers.recovery import Recovery

HERE = Path(__file__).resolve().parent
USER = "yusuf_rossi_9620"


def _killed_run(url: str, home: Path, words: str) -> None:
    done = subprocess.run(
        [sys.executable, str(HERE / "dying_run.py"), url, USER, words],
        env=env_for(url, home),
        cwd=home.parent,
        timeout=60,
    )
    assert done.returncode == -9


@pytest.fixture
def two_killed(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[RunStore, list[str]]]:
    """Two runs left RUNNING by killed processes, oldest first, with their leases lapsed long
    ago; the store they are in."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("TETHER_HOME", str(home))
    _killed_run(store_url, home, "first")
    _killed_run(store_url, home, "second")
    store = RunStore.open(store_url)
    try:
        with store.engine.begin() as conn:
            ids = [r[0] for r in conn.execute(text("SELECT id FROM runs ORDER BY created_at"))]
            conn.execute(text("UPDATE runs SET lease_expires_at = 1.0, updated_at = 1.0"))
        assert len(ids) == 2
        yield store, ids
    finally:
        store.close()


def _status(store: RunStore) -> dict[str, str]:
    with store.engine.connect() as conn:
        return dict(conn.execute(text("SELECT id, status FROM runs")).all())


def test_one_damaged_step_row_does_not_block_recovery_of_other_runs(
    two_killed: tuple[RunStore, list[str]],
) -> None:
    store, ids = two_killed
    desk = open_retail_desk(store)
    with store.engine.begin() as conn:  # the older run's first step row cut short
        conn.execute(
            text("UPDATE steps SET data = substr(data, 1, 20) WHERE run_id = :id AND seq = 1"),
            {"id": ids[0]},
        )
    recovery = Recovery(desk.runtime, models=None)
    for _ in range(3):  # a sweep every half lease: three of them
        with contextlib.suppress(Exception):
            recovery.sweep()
    damaged, healthy = (store.listed_decision(i) for i in ids)
    status = _status(store)
    # before: the sweep raised JSONDecodeError on the older run each time, so the younger run
    # was never resumed: both stayed RUNNING for ever, whatever other workers sweep
    assert status[ids[1]] == RunStatus.COMPLETED.value and healthy is not None, status
    assert status[ids[0]] == RunStatus.COMPLETED.value and damaged is not None, status
    # it ends in an escalation naming the step it cannot read, rather than going on from it
    assert damaged == "escalation RUN_UNREADABLE", damaged


def test_runs_that_cannot_be_recovered_do_not_hold_the_front_of_the_sweep(
    two_killed: tuple[RunStore, list[str]],
) -> None:
    # a run whose input cannot be read is listed UNKNOWN, so it is never resumed; it stays
    # RUNNING in the store, oldest first: with a sweep of one run at a time it used to be the
    # only run any sweep looked at, and the younger run was never recovered
    store, ids = two_killed
    desk = open_retail_desk(store)
    with store.engine.begin() as conn:
        conn.execute(
            text("UPDATE runs SET input = substr(input, 1, 9) WHERE id = :id"), {"id": ids[0]}
        )
    recovery = Recovery(desk.runtime, models=None, batch=1)
    for _ in range(3):
        recovery.sweep()
    status = _status(store)
    assert status[ids[1]] == RunStatus.COMPLETED.value, status
    assert status[ids[0]] == RunStatus.RUNNING.value, status  # left for a person to look at
