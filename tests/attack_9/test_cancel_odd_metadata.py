"""Cancelling or rating a run reads `run.input["metadata"]["conversation"]` with `.get` on
whatever is stored (`runs_api.may_act_on`): a run whose stored metadata is not an object
(hand-edited, or a later version's shape; the API lists and shows such a run as ever) makes
`POST /v1/runs/{id}/cancel` and `/feedback` answer 500 INTERNAL instead of a stable code
(README: every bad input gets a stable code; a run this version cannot read is never acted on,
`409 RUN_STATUS_UNKNOWN`, and an ended one is `409 RUN_ENDED`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from tests.server.conftest import open_desk, order_run_body, serve_app  # noqa: F401
from tether.server.app import create_app


def test_cancel_and_feedback_of_a_run_with_odd_metadata_get_a_stable_code(
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
    assert client.get(f"/v1/runs/{run_id}").status_code == 200  # shown as ever

    cancelled = client.post(f"/v1/runs/{run_id}/cancel")
    assert cancelled.status_code < 500, cancelled.text
    assert cancelled.json()["code"] in ("RUN_ENDED", "RUN_STATUS_UNKNOWN")

    rated = client.post(f"/v1/runs/{run_id}/feedback", json={"resolved": True, "given_by": "ops"})
    assert rated.status_code < 500, rated.text
