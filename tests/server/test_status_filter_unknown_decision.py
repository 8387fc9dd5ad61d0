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

from tests.server.edited_runs import two_runs_one_edited

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
    decision, kind, code = NEWER[newer]
    client, run_id, fine = two_runs_one_edited(
        tmp_path, serve_app, decision=decision, decision_kind=kind, decision_code=code
    )
    assert client.get(f"/v1/runs/{run_id}").json()["status"] == "unknown"

    completed = client.get("/v1/runs?status=completed").json()
    assert [r["id"] for r in completed["runs"]] == [fine]
    assert completed["total"] == 1

    unknown = client.get("/v1/runs?status=unknown").json()
    assert [r["id"] for r in unknown["runs"]] == [run_id]
    assert unknown["total"] == 1
