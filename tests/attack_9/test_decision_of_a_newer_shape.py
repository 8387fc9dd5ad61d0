"""README, *HTTP API*: a run whose stored Decision this version cannot read ("a newer version's
kind of Decision") is listed "with `"decision": null`, and the other runs are listed as ever".
`decision_from_dict` accepts a Decision whose `text` is not a string (a later version's
structured answer, `{"parts": [...]}`), and the response model then refuses it: `GET /v1/runs`
and `GET /v1/runs/{id}` answer 500 INTERNAL, and one such run hides every other."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from tests.server.conftest import open_desk, order_run_body, serve_app  # noqa: F401
from tether.server.app import create_app

STRUCTURED = (
    '{"kind": "answer", "text": {"parts": ["Order #W4566809 is pending."]},'
    ' "citations": ["tool:2"], "results": [], "reason": null}'
)


def test_a_decision_with_structured_text_does_not_hide_the_runs(
    tmp_path: Path, serve_app: Callable[[FastAPI], httpx.Client]
) -> None:
    desk = open_desk(tmp_path)
    client = serve_app(create_app(desk))
    ids = []
    for _ in range(2):
        started = client.post("/v1/runs?wait=10", json=order_run_body())
        assert started.status_code == 200, started.text
        ids.append(started.json()["id"])
    odd, fine = ids
    with desk.store.engine.begin() as conn:
        conn.execute(
            text("UPDATE runs SET decision = :d WHERE id = :id"), {"d": STRUCTURED, "id": odd}
        )

    listed = client.get("/v1/runs")
    assert listed.status_code == 200, listed.text
    assert {r["id"] for r in listed.json()["runs"]} == {odd, fine}

    one = client.get(f"/v1/runs/{odd}")
    assert one.status_code == 200, one.text
    assert one.json()["decision"] is None
