"""A run whose stored metadata is not an object (hand-edited, or a later version's shape) is a
run whose input this version cannot read: listed as `unknown`, and never acted on, so cancelling
it is `409 RUN_STATUS_UNKNOWN` (an operator may still rate it), where `may_act_on` called
`.get` on whatever was stored and both answered 500 INTERNAL."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from tests.server.conftest import open_desk, order_run_body
from tether.server.app import create_app


def test_a_run_with_unreadable_metadata_is_never_acted_on(
    tmp_path: Path, serve_app: Callable[[FastAPI], httpx.Client]
) -> None:
    desk = open_desk(tmp_path)
    client = serve_app(create_app(desk))
    started = client.post("/v1/runs?wait=10", json=order_run_body())
    assert started.status_code == 200, started.text
    run_id = started.json()["id"]
    with desk.store.engine.begin() as conn:
        row = conn.execute(text("SELECT input FROM runs WHERE id = :id"), {"id": run_id})
        stored = json.loads(row.scalar_one())
        stored["metadata"] = "written by a later version"
        conn.execute(
            text("UPDATE runs SET input = :v WHERE id = :id"),
            {"v": json.dumps(stored), "id": run_id},
        )
    shown = client.get(f"/v1/runs/{run_id}")
    assert shown.status_code == 200 and shown.json()["status"] == "unknown", shown.text

    cancelled = client.post(f"/v1/runs/{run_id}/cancel")
    assert cancelled.status_code < 500, cancelled.text
    assert cancelled.json()["code"] == "RUN_STATUS_UNKNOWN"

    rated = client.post(f"/v1/runs/{run_id}/feedback", json={"resolved": True, "given_by": "ops"})
    assert rated.status_code == 201, rated.text  # an operator's rating of the outcome is kept
