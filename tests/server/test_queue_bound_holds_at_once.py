"""The bounded run queue on PostgreSQL holds its bound when requests arrive all at once, at one
API replica or at several: `TETHER_QUEUE_DEPTH` runs are queued, every other request is
`429 QUEUE_FULL` with `Retry-After`, and none of the refused runs stays queued."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tether.core.errors import ErrorCode
from tether.core.types import RunStatus
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.server.app import create_app
from tether.store.runs import RunFilter, RunStore

from .conftest import order_run_body, serve


def test_the_postgres_run_queue_admits_no_more_than_its_depth_to_requests_sent_at_once(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    depth, replicas, requests = 3, 2, 16
    monkeypatch.setenv("TETHER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TETHER_QUEUE_DEPTH", str(depth))
    with ExitStack() as stack:
        stores = [RunStore.open(pg_url) for _ in range(replicas)]
        for store in stores:
            stack.callback(store.close)
        apps = [  # API-only replicas, each with its own connections: the runs wait
            create_app(open_retail_desk(s, db=RetailDB.fresh_copy()), allow_scripts=True, workers=0)
            for s in stores
        ]
        key, _ = apps[0].state.operators.create("admin", name="t", actor="tests")
        headers = {"Authorization": f"Bearer {key}"}
        clients = [
            stack.enter_context(httpx.Client(base_url=url, timeout=30, headers=headers))
            for url in [stack.enter_context(serve(app)) for app in apps]
        ]
        gate = threading.Barrier(requests)

        def post(n: int) -> httpx.Response:
            gate.wait()
            return clients[n % replicas].post("/v1/runs", json=order_run_body())

        with ThreadPoolExecutor(requests) as pool:
            answers = list(pool.map(post, range(requests)))
        waiting = apps[1].state.queue.depth()
        codes = [a.status_code for a in answers]
        accepted = [a for a in answers if a.status_code == 202]
        refused = [a for a in answers if a.status_code == 429]
        assert len(accepted) + len(refused) == len(answers), codes
        assert all(a.json()["code"] == ErrorCode.QUEUE_FULL.value for a in refused)
        assert all("Retry-After" in a.headers for a in refused)
        assert len(accepted) == depth, (
            f"{len(accepted)} runs queued on a queue {depth} deep (waiting now: {waiting}): {codes}"
        )
        assert waiting == depth
        # a run the queue refused does not stay queued: it ended, or was never stored
        queued = stores[0].list_runs(RunFilter(status=RunStatus.QUEUED), limit=100)
        assert {r.id for r in queued} == {a.json()["id"] for a in accepted}
        for run in stores[0].list_runs(RunFilter(status=RunStatus.COMPLETED), limit=100):
            assert run.decision is not None and run.decision.reason is not None
            assert run.decision.reason.code is ErrorCode.RUN_CANCELLED
