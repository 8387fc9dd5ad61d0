"""README, *HTTP API*: a run whose stored Decision this version cannot read is listed "with
`"decision": null`, and the other runs are listed as ever". A Decision of a known kind whose
fields are of another type (a later version's structured `text`, citations kept as one string,
results that are not objects, a reason whose message is not text) is such a Decision: the store
reads the run as unknown, where the response model refused it and every list holding it
answered 500 INTERNAL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.server.edited_runs import two_runs_one_edited

SHAPES = {
    "structured text": '{"kind": "answer", "text": {"parts": ["Order #W4566809 is pending."]},'
    ' "citations": ["tool:2"], "results": [], "reason": null}',
    "citations as one string": '{"kind": "answer", "text": "pending", "citations": "tool:2"}',
    "results not objects": '{"kind": "action", "text": "done", "results": ["ok"]}',
    "reason not text": '{"kind": "refusal", "text": "no",'
    ' "reason": {"code": "POLICY_DENIED", "message": {"en": "no"}}}',
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_decision_of_another_shape_is_unknown_and_hides_no_run(
    tmp_path: Path, serve_app: Callable[[FastAPI], httpx.Client], shape: str
) -> None:
    client, odd, fine = two_runs_one_edited(tmp_path, serve_app, decision=SHAPES[shape])

    listed = client.get("/v1/runs")
    assert listed.status_code == 200, listed.text
    assert {r["id"] for r in listed.json()["runs"]} == {odd, fine}

    one = client.get(f"/v1/runs/{odd}")
    assert one.status_code == 200, one.text
    assert one.json()["decision"] is None and one.json()["status"] == "unknown"
    assert client.get(f"/v1/runs/{fine}").json()["decision"]["kind"] == "answer"
