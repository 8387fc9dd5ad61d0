"""Cancel racing an approved write. Once a supervisor approved a return, the run waits on the
queue for a worker to make the call; a cancel accepted before any worker took it stops the
call: the run ends in a RUN_CANCELLED refusal and the order is never returned.
Replicas as deployed at scale: an API replica without workers (`TETHER_WORKERS=0`) and a
worker replica, over one PostgreSQL store."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.approvals.escalated_return import WRITE, escalated_return
from tests.server.conftest import admin_headers, serve
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.sdk import Desk
from tether.server.app import create_app
from tether.store.runs import RunStore


@pytest.fixture
def retail() -> RetailDB:
    """The desks' shared retail data, where a refund would show."""
    return RetailDB.fresh_copy()


@pytest.fixture
def desks(pg_url: str, retail: RetailDB) -> Iterator[list[Desk]]:
    made = [open_retail_desk(RunStore.open(pg_url), db=retail) for _ in range(3)]
    try:
        yield made
    finally:
        for d in made:
            d.store.close()


def test_cancel_accepted_after_approval_stops_the_write(
    desks: list[Desk], retail: RetailDB
) -> None:
    # 1. a worker replica takes the conversation to a return waiting for a supervisor
    app = create_app(desks[0])
    with serve(app) as url, httpx.Client(base_url=url, headers=admin_headers(app), timeout=30) as c:
        _, approval = escalated_return(c)
        run_id = approval["run_id"]

    # 2. on an API replica without workers a supervisor approves, then the caller cancels
    api = create_app(desks[1], workers=0)
    with serve(api) as url, httpx.Client(base_url=url, headers=admin_headers(api), timeout=30) as c:
        decided = c.post(
            f"/v1/approvals/{approval['id']}/approve",
            json={"argument_hash": approval["argument_hash"]},
        )
        assert decided.status_code == 200, decided.text
        cancel = c.post(f"/v1/runs/{run_id}/cancel")
        assert cancel.status_code in (200, 202), cancel.text

    # 3. a worker replica picks the run up and ends it
    worker = create_app(desks[2])
    with (
        serve(worker) as url,
        httpx.Client(base_url=url, headers=admin_headers(worker), timeout=30) as c,
    ):
        stream = c.get(f"/v1/runs/{run_id}/events")
        assert "event: decision" in stream.text, stream.text
        run = c.get(f"/v1/runs/{run_id}").json()

    executed = [s for s in run["steps"] if s["kind"] == "tool" and s["name"] == WRITE]
    decision = run["decision"]
    # the cancel was accepted before any worker could take the run: the write never starts
    assert decision["kind"] == "refusal", decision
    assert decision["reason"]["code"] == "RUN_CANCELLED", decision
    assert executed == [], (decision["text"], [s["name"] for s in executed])
    assert not decision.get("results"), decision
    order = retail.order("#W1067251")
    assert order is not None and order["status"] == "delivered", order
