"""A model may name a tool that does not exist, with any name: the runtime records a guard step
named after it (`steps.name`, VARCHAR(128)) and hands UNKNOWN_TOOL back to the model. On SQLite
a 300-character name is stored as is and the run ends in its Decision; on PostgreSQL the same
insert is refused (value too long), so the same request through the HTTP API does not end the
same way. README: alike on SQLite and PostgreSQL, every run ends in exactly one Decision."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from fastapi import FastAPI

from tests.server.conftest import serve_app  # noqa: F401  (fixture)
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.server.app import create_app
from tether.store.runs import RunStore

LONG_NAME = "lookup_" + "x" * 293  # 300 characters


def test_a_long_unknown_tool_name_ends_the_run_on_postgres(
    pg_url: str, serve_app: Callable[[FastAPI], httpx.Client]
) -> None:
    store = RunStore.open(pg_url)
    try:
        desk = open_retail_desk(store, db=RetailDB.fresh_copy())
        client = serve_app(create_app(desk))
        body = {
            "principal": "raj_sanchez_2970",
            "input": "hi",
            "script": [{"tool": LONG_NAME, "args": {}}, {"refuse": "I can't help with that."}],
        }
        started = client.post("/v1/runs?wait=20", json=body)
        assert started.status_code == 200, started.text[:500]
        run = started.json()
        assert run["status"] == "completed", run
        assert run["decision"]["reason"]["code"] == "MODEL_REFUSED", run["decision"]
        shown = client.get(f"/v1/runs/{run['id']}")
        assert shown.status_code == 200
        assert any(LONG_NAME in str(step) for step in shown.json()["steps"])
    finally:
        store.close()
