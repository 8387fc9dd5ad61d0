"""`tether approvals list | show | approve | reject | resume` as a user runs them: real
subprocesses over a store where a run waits for approval; exit codes, no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli import no_traceback, tether
from tether.approvals import EscalationConfig
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.store.runs import RunStore

from .conftest import ORDER, start_return


def _waiting_run(home: Path) -> tuple[str, str]:
    """A run of the large return waiting for approval in `home`'s store: (run id, request id)."""
    store = RunStore.open(f"sqlite:///{home / 'tether.db'}")
    desk = open_retail_desk(store, approvals=True, escalations=EscalationConfig())
    run = start_return(desk)
    assert desk.approvals is not None
    (approval,) = desk.approvals.list(run_id=run.id)
    store.close()
    return run.id, approval.id


def _order_status(home: Path) -> str:
    store = RunStore.open(f"sqlite:///{home / 'tether.db'}")
    order = RetailDB(store.engine).order(ORDER)
    store.close()
    assert order is not None
    return str(order["status"])


def test_list_show_and_approve(tmp_path: Path) -> None:
    run_id, approval_id = _waiting_run(tmp_path)
    listed = tether("approvals", "list", "--json", home=tmp_path)
    assert listed.returncode == 0, listed.stderr
    (item,) = json.loads(listed.stdout)["approvals"]
    assert item["id"] == approval_id and item["run_id"] == run_id and item["status"] == "pending"

    table = tether("approvals", "list", home=tmp_path)
    assert table.returncode == 0 and approval_id in table.stdout

    shown = tether("approvals", "show", approval_id, home=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "return_delivered_order_items" in shown.stdout and "supervisor" in shown.stdout

    approved = tether(
        "approvals", "approve", approval_id, "--note", "checked", "--json", home=tmp_path
    )
    assert approved.returncode == 0, approved.stderr
    body = json.loads(approved.stdout)
    assert body["approval"]["status"] == "approved"
    assert body["approval"]["decided_by"].startswith("cli")
    assert body["run"]["decision"]["kind"] == "action"  # continued with the run's own script
    assert _order_status(tmp_path) == "return requested"

    again = tether("approvals", "approve", approval_id, home=tmp_path)
    assert again.returncode == 2 and "APPROVAL_ALREADY_DECIDED" in again.stderr
    no_traceback(again)
    done = tether("approvals", "list", "--status", "approved", "--json", home=tmp_path)
    assert [a["id"] for a in json.loads(done.stdout)["approvals"]] == [approval_id]


def test_reject_ends_the_run_in_a_refusal(tmp_path: Path) -> None:
    _, approval_id = _waiting_run(tmp_path)
    rejected = tether("approvals", "reject", approval_id, "--note", "too late", home=tmp_path)
    assert rejected.returncode == 0, rejected.stderr
    assert "refusal" in rejected.stdout and "APPROVAL_REJECTED" in rejected.stdout
    assert _order_status(tmp_path) == "delivered"


def test_bad_input_exits_2_with_its_code(tmp_path: Path) -> None:
    _, approval_id = _waiting_run(tmp_path)
    for args, code in [
        (("approvals", "show", "apr_nope"), "APPROVAL_NOT_FOUND"),
        (("approvals", "approve", "apr_nope"), "APPROVAL_NOT_FOUND"),
        (("approvals", "list", "--status", "maybe"), "BAD_REQUEST"),
        (("approvals", "approve", approval_id, "--hash", "sha256:0"), "ARGUMENTS_NOT_APPROVED"),
        (("approvals", "resume", approval_id), "BAD_REQUEST"),  # nothing decided yet
    ]:
        proc = tether(*args, home=tmp_path)
        assert proc.returncode == 2 and code in proc.stderr, (args, proc.stderr)
        no_traceback(proc)
    assert _order_status(tmp_path) == "delivered"


def test_notices_are_listed(tmp_path: Path) -> None:
    proc = tether("approvals", "notices", "--json", home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"notices": []}
