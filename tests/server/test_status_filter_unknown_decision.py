"""README, *HTTP API*: a run whose stored Decision names a kind or a reason code this version
does not know is listed as `unknown`, and `?status=` agrees with what is listed: such a run is
found by `?status=unknown` (its total too), never by `?status=completed`, and a readable run
stays where it was. The filter reads the Decision's columns in SQL, as it reads the status."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.server.conftest import open_desk, order_run_body
from tether.server.app import create_app

NEWER = {
    "kind": (
        '{"kind": "delegation", "text": "handed to agent B", "reason": null}',
        "delegation",
        None,
    ),
    "code": (
        '{"kind": "escalation", "text": "later", "reason": {"code": "DEFERRED", "message": "m"}}',
        "escalation",
        "DEFERRED",
    ),
}


@pytest.mark.parametrize("newer", sorted(NEWER))
def test_the_status_filter_agrees_with_the_status_listed(
    tmp_path: Path, serve_app: Callable[[FastAPI], httpx.Client], newer: str
) -> None:
    desk = open_desk(tmp_path)
    client = serve_app(create_app(desk))
    ids = []
    for _ in range(2):
        started = client.post("/v1/runs?wait=10", json=order_run_body())
        assert started.status_code == 200, started.text
        ids.append(started.json()["id"])
    run_id, fine = ids
    decision, kind, code = NEWER[newer]
    with desk.store.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE runs SET decision = :d, decision_kind = :k, decision_code = :c WHERE id = :id"
            ),
            {"d": decision, "k": kind, "c": code, "id": run_id},
        )
    assert client.get(f"/v1/runs/{run_id}").json()["status"] == "unknown"

    completed = client.get("/v1/runs?status=completed").json()
    assert [r["id"] for r in completed["runs"]] == [fine]
    assert completed["total"] == 1

    unknown = client.get("/v1/runs?status=unknown").json()
    assert [r["id"] for r in unknown["runs"]] == [run_id]
    assert unknown["total"] == 1
