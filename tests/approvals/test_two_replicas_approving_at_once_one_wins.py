"""Races between principals over the real HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.approvals.escalated_return import escalated_return
from tests.server.conftest import HELD, HeldModel, admin_headers, serve
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.server.app import create_app
from tether.store.runs import RunStore


def at_once(*calls: Callable[[], httpx.Response]) -> list[httpx.Response]:
    """Each call on its own thread, released together."""
    gate = threading.Barrier(len(calls))
    out: list[httpx.Response | None] = [None] * len(calls)

    def go(i: int) -> None:
        gate.wait(10)
        out[i] = calls[i]()

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert all(r is not None for r in out)
    return [r for r in out if r is not None]


@pytest.fixture
def apps(store_url: str) -> Iterator[tuple[httpx.Client, httpx.Client, httpx.Client]]:
    """Two API replicas over one store (each its own desk and workers): a requester's client
    and two other admins' clients, one per replica."""
    HELD.clear()
    stores = [RunStore.open(store_url), RunStore.open(store_url)]
    retail = RetailDB.fresh_copy()
    desks = [open_retail_desk(s, db=retail) for s in stores]
    app_a = create_app(desks[0], model_factory=HeldModel)
    app_b = create_app(desks[1], model_factory=HeldModel)
    try:
        with (
            serve(app_a) as url_a,
            serve(app_b) as url_b,
            httpx.Client(base_url=url_a, headers=admin_headers(app_a), timeout=30) as a,
            httpx.Client(base_url=url_b, headers=admin_headers(app_b), timeout=30) as b,
            httpx.Client(base_url=url_a, headers=admin_headers(app_a), timeout=30) as asker,
        ):
            try:
                yield asker, a, b
            finally:
                HELD.set()  # held turns end before their replicas stop
    finally:
        for s in stores:
            s.close()


def test_two_replicas_deciding_one_approval_exactly_one_wins(
    apps: tuple[httpx.Client, httpx.Client, httpx.Client],
) -> None:
    asker, a, b = apps
    _, approval = escalated_return(asker)
    url = f"/v1/approvals/{approval['id']}"
    body = {"argument_hash": approval["argument_hash"]}

    answers = at_once(
        lambda: a.post(f"{url}/approve", json=body),
        lambda: b.post(f"{url}/approve", json=body),
    )

    codes = sorted(r.status_code for r in answers)
    assert codes == [200, 409], [r.text for r in answers]
    loser = next(r for r in answers if r.status_code == 409)
    assert loser.json()["code"] == "APPROVAL_ALREADY_DECIDED"
    run = a.get(f"/v1/runs/{approval['run_id']}").json()
    writes = [
        s
        for s in run["steps"]
        if s["kind"] == "tool_call" and s["name"] == "return_delivered_order_items"
    ]
    assert len(writes) <= 1, writes
