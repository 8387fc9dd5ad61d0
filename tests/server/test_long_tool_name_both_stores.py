"""A model may name a tool that does not exist, with any name: the runtime records a guard step
named after it and hands UNKNOWN_TOOL back to the model. The step's name is cut to the width of
`steps.name` (128 characters) on every store, the full name kept in the step's data, so a run
naming a 300-character tool ends in its Decision alike on SQLite and PostgreSQL (which refused
the longer name: the run ended in an INTERNAL escalation) and replays without a divergence."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from fastapi import FastAPI

from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.runtime.replay import Replayer
from tether.server.app import create_app
from tether.store.runs import RunStore

LONG_NAME = "lookup_" + "x" * 293  # 300 characters


def test_a_long_unknown_tool_name_ends_the_run_alike_on_both_stores(
    store_url: str, serve_app: Callable[[FastAPI], httpx.Client]
) -> None:
    store = RunStore.open(store_url)
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
        (guard,) = [s for s in shown.json()["steps"] if s["kind"] == "guard"]
        assert len(guard["name"]) == 128 and LONG_NAME.startswith(guard["name"][:-1])
        assert guard["data"]["call"]["name"] == LONG_NAME

        report = Replayer(desk.runtime).replay(store.get_run(run["id"]))
        assert report.identical, report.to_dict()
    finally:
        store.close()
