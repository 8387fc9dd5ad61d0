"""README, *HTTP API* / *Operator dashboard*: a run whose stored input this version cannot read
is listed as `unknown`, and the other runs are listed as ever. Input whose `messages` are not a
list of message objects (hand-edited, or a later version's shape) is such input: the store reads
the run as unknown, where the dashboard's runs list built each row's preview with `m.get(...)`
on every item and one such run made the whole page 500, hiding every other run on it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.server.conftest import open_desk, order_run_body
from tether.server.app import create_app


@pytest.mark.parametrize(
    "stored",
    ['{"messages": "hello"}', '{"messages": [1, 2]}', '{"messages": {"role": "user"}}'],
)
def test_a_run_whose_messages_are_not_objects_is_unknown_on_the_runs_page(
    tmp_path: Path, serve_app: Callable[[FastAPI], httpx.Client], stored: str
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
        conn.execute(text("UPDATE runs SET input = :v WHERE id = :id"), {"v": stored, "id": odd})

    listed = {r["id"]: r["status"] for r in client.get("/v1/runs").json()["runs"]}
    assert listed == {odd: "unknown", fine: "completed"}

    page = client.get("/")
    assert page.status_code == 200, page.text[:500]
    assert fine in page.text and odd in page.text
