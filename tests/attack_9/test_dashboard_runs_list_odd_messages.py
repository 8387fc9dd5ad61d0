"""README, *Operator dashboard* / *HTTP API*: "everything a run recorded is shown as text", and a
run whose stored input this version cannot read is "shown as it is ... and the other runs are
listed as ever". The API lists a run whose stored `messages` are not a list of message objects
(hand-edited, or a later version's shape) without trouble, but the dashboard's runs list builds
each row's preview with `m.get(...)` on every item of `messages` (`dashboard_runs._preview`):
one such run makes the whole page 500, hiding every other run on it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.server.conftest import open_desk, order_run_body, serve_app  # noqa: F401
from tether.server.app import create_app


@pytest.mark.parametrize(
    "stored",
    ['{"messages": "hello"}', '{"messages": [1, 2]}', '{"messages": {"role": "user"}}'],
)
def test_one_odd_run_does_not_break_the_runs_page(
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

    assert client.get("/v1/runs").status_code == 200  # the API lists it as ever

    page = client.get("/")
    assert page.status_code == 200, page.text[:500]
    assert fine in page.text and odd in page.text
