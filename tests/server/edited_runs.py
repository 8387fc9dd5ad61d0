"""Two completed runs over a served desk, then one of them edited in the store as a later
version (or a hand) might leave it: for the tests of runs this version cannot read."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from tests.server.conftest import open_desk, order_run_body
from tether.server.app import create_app


def two_runs_one_edited(
    tmp_path: Path, serve_app: Callable[[FastAPI], httpx.Client], **columns: Any
) -> tuple[httpx.Client, str, str]:
    """A client of a fresh desk holding two completed runs, the first with `columns` (column
    name → stored value) written over; the client, the edited run's id and the other's."""
    desk = open_desk(tmp_path)
    client = serve_app(create_app(desk))
    ids = []
    for _ in range(2):
        started = client.post("/v1/runs?wait=10", json=order_run_body())
        assert started.status_code == 200, started.text
        ids.append(started.json()["id"])
    edited, fine = ids
    sets = ", ".join(f"{name} = :{name}" for name in columns)
    with desk.store.engine.begin() as conn:
        conn.execute(text(f"UPDATE runs SET {sets} WHERE id = :id"), {**columns, "id": edited})
    return client, edited, fine
