"""README, *HTTP API*: a run whose stored status this version does not know "is listed with
`"status": "unknown"` (filter with `?status=unknown`) ...; so is one whose stored Decision or
input it cannot read (a newer version's kind of Decision, or a row cut short)". The store
reports such a run as `unknown`, but the `status` filter is applied to the raw column in SQL:
`?status=completed` returns a run whose `status` is `unknown`, and `?status=unknown` does not
find it. A client paging through `?status=unknown` for the runs it must look at by hand misses
every one whose Decision is from a newer version."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from tests.server.conftest import open_desk, order_run_body, serve_app  # noqa: F401
from tether.server.app import create_app

NEWER_DECISION = '{"kind": "delegation", "text": "handed to agent B", "reason": null}'


def test_the_status_filter_agrees_with_the_status_listed(
    tmp_path: Path, serve_app: Callable[[FastAPI], httpx.Client]
) -> None:
    desk = open_desk(tmp_path)
    client = serve_app(create_app(desk))
    started = client.post("/v1/runs?wait=10", json=order_run_body())
    assert started.status_code == 200, started.text
    run_id = started.json()["id"]
    with desk.store.engine.begin() as conn:
        conn.execute(
            text("UPDATE runs SET decision = :d, decision_kind = 'delegation' WHERE id = :id"),
            {"d": NEWER_DECISION, "id": run_id},
        )
    assert client.get(f"/v1/runs/{run_id}").json()["status"] == "unknown"

    completed = client.get("/v1/runs?status=completed").json()
    assert [r["status"] for r in completed["runs"] if r["id"] == run_id] == []

    unknown = client.get("/v1/runs?status=unknown").json()
    assert run_id in [r["id"] for r in unknown["runs"]]
    assert unknown["total"] == len(unknown["runs"])
