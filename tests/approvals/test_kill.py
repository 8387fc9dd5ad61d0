"""The acceptance test of durable approvals: a process is killed with SIGKILL while its run
waits for approval; after the restart, another process approves, and the approved return
happens exactly once, as the retail data shows. Killing the approving process around the
approved call, then finishing the run elsewhere, does not repeat it either."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from tether.approvals import ApprovalStatus, Approver, EscalationConfig
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import DecisionKind, RunStatus, StepKind
from tether.domains.retail.db import RetailDB, idempotency_table
from tether.domains.retail.desk import open_retail_desk
from tether.store import RunStore

CHILD = Path(__file__).with_name("kill_child.py")
ORDER = "#W1067251"
TOOL = "return_delivered_order_items"


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a killed process's run lease lapses within a second, not the default thirty
        env={**os.environ, "PYTHONUNBUFFERED": "1", "TETHER_RUN_LEASE_SECONDS": "1"},
    )


def _kill_when_reached(child: subprocess.Popen[str], marker: Path) -> str:
    deadline = time.monotonic() + 60
    while not marker.exists() or not marker.read_text():
        if child.poll() is not None or time.monotonic() > deadline:
            child.kill()
            _, err = child.communicate()
            pytest.fail(f"the child never reached {marker.name}: rc={child.returncode}\n{err}")
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    child.communicate()
    assert child.returncode == -signal.SIGKILL
    return marker.read_text()


def _finish(*args: str) -> dict[str, Any]:
    child = _spawn(*args)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def _prepare(url: str) -> None:
    """The retail data in the run store's database, and a log of every committed order change."""
    store = RunStore.open(url)
    db = RetailDB(store.engine)
    db.create_tables()
    db.load_packaged()
    with store.engine.begin() as conn:
        conn.execute(text("CREATE TABLE effects (record TEXT)"))
        conn.execute(
            text(
                "CREATE TRIGGER log_orders AFTER UPDATE ON retail_orders "
                "WHEN OLD.data <> NEW.data BEGIN INSERT INTO effects VALUES (NEW.id); END"
            )
        )
    store.close()


def _suspend_and_kill(url: str, tmp_path: Path) -> dict[str, str]:
    marker = tmp_path / "suspended"
    ids: dict[str, str] = json.loads(
        _kill_when_reached(_spawn("suspend", url, str(marker)), marker)
    )
    return ids


def _effects(store: RunStore) -> list[str]:
    with store.engine.connect() as conn:
        return list(conn.execute(text("SELECT record FROM effects")).scalars().all())


def _wait_for_lease_to_lapse(store: RunStore, run_id: str) -> None:
    """Until the killed process's lease on the run has expired: a process that resumes the run
    before then finds it held and returns it as stored, which is not what this test is about
    (and a process starting in under the lease's second would meet it)."""
    query = text("SELECT lease_expires_at FROM runs WHERE id = :id")
    deadline = time.monotonic() + 30
    while True:
        with store.engine.connect() as conn:
            expires = conn.execute(query, {"id": run_id}).scalar()
        if expires is None or expires < time.time():
            return
        assert time.monotonic() < deadline, "the killed process's lease never expired"
        time.sleep(min(0.1, max(0.01, expires - time.time())))


def _check_done_once(url: str, run_id: str, approval_id: str) -> None:
    store = RunStore.open(url)
    order = RetailDB(store.engine).order(ORDER)
    assert order is not None and order["status"] == "return requested"
    assert order["return_items"] == ["7848293342"]
    assert _effects(store) == [ORDER]  # the order changed once, and only once
    with store.engine.connect() as conn:
        assert len(conn.execute(select(idempotency_table.c.key)).all()) == 1
    run = store.get_run(run_id)
    assert run.status is RunStatus.COMPLETED and run.decision is not None
    assert run.decision.kind is DecisionKind.ACTION
    assert sum(s.kind is StepKind.TOOL and s.name == TOOL for s in run.steps) == 1
    desk = open_retail_desk(store, approvals=True, escalations=EscalationConfig())
    assert desk.approvals is not None
    assert desk.approvals.get(approval_id).status is ApprovalStatus.APPROVED
    with pytest.raises(TetherError) as again:  # approving once more changes nothing
        desk.approvals.approve(approval_id, Approver("operator:kim", "approver"))
    assert again.value.code is ErrorCode.APPROVAL_ALREADY_DECIDED
    assert _effects(store) == [ORDER]
    store.close()


def test_a_run_killed_while_waiting_for_approval_completes_once_after_restart(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'tether.db'}"
    _prepare(url)
    ids = _suspend_and_kill(url, tmp_path)

    store = RunStore.open(url)  # what the killed process left: a durably suspended run
    run = store.get_run(ids["run"])
    assert run.status is RunStatus.SUSPENDED and run.decision is None
    assert run.steps[-1].kind is StepKind.APPROVAL
    order = RetailDB(store.engine).order(ORDER)
    assert order is not None and order["status"] == "delivered" and _effects(store) == []
    store.close()

    ended = _finish("approve", url, ids["approval"], "operator:sam")  # after the restart
    assert ended["id"] == ids["run"] and ended["status"] == "completed"
    assert ended["decision"]["kind"] == "action"
    _check_done_once(url, ids["run"], ids["approval"])


@pytest.mark.parametrize("boundary", ["before_call", "after_call"])
def test_a_process_killed_around_the_approved_call_does_not_repeat_it(
    tmp_path: Path, boundary: str
) -> None:
    url = f"sqlite:///{tmp_path / 'tether.db'}"
    _prepare(url)
    ids = _suspend_and_kill(url, tmp_path)
    marker = tmp_path / boundary
    approving = _spawn("approve", url, ids["approval"], "operator:sam", boundary, str(marker))
    _kill_when_reached(approving, marker)

    store = RunStore.open(url)  # decided, and the run left running
    assert store.get_run(ids["run"], with_steps=False).status is RunStatus.RUNNING
    expected = ["#W1067251"] if boundary == "after_call" else []
    assert _effects(store) == expected
    _wait_for_lease_to_lapse(store, ids["run"])
    store.close()

    ended = _finish("resume", url, ids["approval"])  # any process finishes it
    assert ended["decision"]["kind"] == "action"
    _check_done_once(url, ids["run"], ids["approval"])
