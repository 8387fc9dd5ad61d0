"""Closing a conversation stops it: no more turns, and what it had pending is dropped. An
escalated action still waiting for a supervisor is the conversation's pending action too; a
customer who closed the thread must not have the write performed on their behalf later, so
the close is refused (APPROVAL_PENDING) until the approval is rejected."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.approvals.escalated_return import escalated_return
from tests.server.conftest import admin_headers, open_desk, serve
from tether.server.app import create_app


@pytest.fixture
def two_admins(tmp_path: Path) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    desk = open_desk(tmp_path)
    app = create_app(desk)
    try:
        with (
            serve(app) as url,
            httpx.Client(base_url=url, headers=admin_headers(app), timeout=30) as asker,
            httpx.Client(base_url=url, headers=admin_headers(app), timeout=30) as supervisor,
        ):
            yield asker, supervisor
    finally:
        desk.store.close()


def test_closing_while_a_return_awaits_approval_means_it_never_runs(
    two_admins: tuple[httpx.Client, httpx.Client],
) -> None:
    asker, supervisor = two_admins
    cid, approval = escalated_return(asker)
    run_id = approval["run_id"]

    closed = asker.post(f"/v1/conversations/{cid}/close")
    if closed.status_code == 409:  # refused while a person decides: nothing changed
        assert closed.json()["code"] == "APPROVAL_PENDING"
        assert asker.get(f"/v1/conversations/{cid}").json()["status"] == "open"
        rejected = supervisor.post(
            f"/v1/approvals/{approval['id']}/reject?wait=20", json={"note": "customer left"}
        )
        assert rejected.status_code == 200, rejected.text
        ended = supervisor.get(f"/v1/runs/{run_id}").json()
        assert ended["status"] == "completed", ended["status"]
        closed = asker.post(f"/v1/conversations/{cid}/close")
        assert closed.status_code == 200, closed.text
        assert closed.json()["status"] == "closed"
        return
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"

    decided = supervisor.post(
        f"/v1/approvals/{approval['id']}/approve?wait=20",
        json={"argument_hash": approval["argument_hash"], "note": "looks fine"},
    )
    run = supervisor.get(f"/v1/runs/{run_id}").json()
    results = (run["decision"] or {}).get("results") or []
    wrote = [r for r in results if r["tool"] == "return_delivered_order_items"]
    assert not wrote, (decided.status_code, run["decision"]["kind"])
    assert decided.status_code in (409, 410), decided.text
