"""A runtime process killed with SIGKILL at each boundary of a side-effecting call, then
resumed by a fresh process: every side effect happens at most once, and no run is lost.

The retail cancellation honours its idempotency key, so it happens exactly once. The journal
tool does not, so after a crash its outcome is unknown and the run escalates to a person
instead of risking a second entry.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select, text

from tether.core.types import DecisionKind, RunStatus
from tether.domains.retail.db import RetailDB, idempotency_table
from tether.store import RunStore

CHILD = Path(__file__).with_name("kill_child.py")
ORDER = "#W4566809"


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a killed process's run lease lapses within a second, not the default thirty
        env={**os.environ, "PYTHONUNBUFFERED": "1", "TETHER_RUN_LEASE_SECONDS": "1"},
    )


def _kill_at(url: str, kind: str, boundary: str, tmp_path: Path) -> None:
    marker = tmp_path / f"{boundary}.reached"
    child = _spawn("run", url, kind, boundary, str(marker))
    deadline = time.monotonic() + 60
    while not marker.exists():
        if child.poll() is not None or time.monotonic() > deadline:
            child.kill()
            _, err = child.communicate()
            pytest.fail(f"the child never reached {boundary}: rc={child.returncode}\n{err}")
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    child.communicate()
    assert child.returncode == -signal.SIGKILL


def _resume(url: str, kind: str, run_id: str) -> dict[str, object]:
    time.sleep(1.2)  # the killed process held the run's lease until it lapses
    child = _spawn("resume", url, kind, run_id)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return result


def _stopped_run(url: str) -> str:
    """The one run the killed process left running (a conversation's earlier turns ended)."""
    store = RunStore.open(url)
    (run,) = [r for r in store.list_runs() if r.status is RunStatus.RUNNING]
    store.close()
    assert run.decision is None
    return run.id


@pytest.mark.parametrize("boundary", ["before_call", "during_call", "after_call"])
def test_a_killed_retail_write_happens_exactly_once_after_resume(
    tmp_path: Path, boundary: str
) -> None:
    url = f"sqlite:///{tmp_path / 'tether.db'}"
    store = RunStore.open(url)
    db = RetailDB(store.engine)
    db.create_tables()
    db.load_packaged()
    with store.engine.begin() as conn:  # every committed change to an order is logged
        conn.execute(text("CREATE TABLE effects (record TEXT)"))
        conn.execute(
            text(
                "CREATE TRIGGER log_orders AFTER UPDATE ON retail_orders "
                "WHEN OLD.data <> NEW.data BEGIN INSERT INTO effects VALUES (NEW.id); END"
            )
        )
    store.close()

    _kill_at(url, "retail", boundary, tmp_path)
    run_id = _stopped_run(url)
    store = RunStore.open(url)
    killed = RetailDB(store.engine).order(ORDER)
    store.close()
    # only a kill after the call finds the change committed (and the result unrecorded)
    expected = "cancelled" if boundary == "after_call" else "pending"
    assert killed is not None and killed["status"] == expected
    result = _resume(url, "retail", run_id)

    assert result["run"] == run_id
    assert result["decision"]["kind"] == DecisionKind.ACTION.value  # type: ignore[index]
    store = RunStore.open(url)
    db = RetailDB(store.engine)
    order = db.order(ORDER)
    assert order is not None and order["status"] == "cancelled"
    refunds = [p for p in order["payment_history"] if p["transaction_type"] == "refund"]
    assert len(refunds) == 1
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT record FROM effects")).scalars().all() == [ORDER]
        assert len(conn.execute(select(idempotency_table.c.key)).all()) == 1
    stored = store.get_run(run_id)
    assert stored.status is RunStatus.COMPLETED and stored.decision is not None
    store.close()


@pytest.mark.parametrize(
    ("boundary", "entries"), [("before_call", 0), ("during_call", 1), ("after_call", 1)]
)
def test_a_killed_write_that_ignores_keys_is_never_repeated(
    tmp_path: Path, boundary: str, entries: int
) -> None:
    url = f"sqlite:///{tmp_path / 'tether.db'}"
    RunStore.open(url).close()
    _kill_at(url, "journal", boundary, tmp_path)
    run_id = _stopped_run(url)
    journal = tmp_path / "tether.journal"
    before = journal.read_text().splitlines() if journal.exists() else []
    assert len(before) == entries
    result = _resume(url, "journal", run_id)

    decision = result["decision"]
    assert decision["kind"] == DecisionKind.ESCALATION.value  # type: ignore[index]
    assert decision["reason"]["code"] == "OUTCOME_UNKNOWN"  # type: ignore[index]
    lines = journal.read_text().splitlines() if journal.exists() else []
    assert len(lines) == entries
    store = RunStore.open(url)
    assert store.get_run(run_id).status is RunStatus.COMPLETED
    store.close()


def test_an_undisturbed_run_needs_no_resume(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tether.db'}"
    RunStore.open(url).close()
    child = _spawn("run", url, "journal", "nowhere", str(tmp_path / "never"))
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["decision"]["kind"] == DecisionKind.ACTION.value
    assert (tmp_path / "tether.journal").read_text().splitlines() == ["refund 5.00 to A1"]
