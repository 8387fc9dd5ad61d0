"""Feedback on runs: stored, shown on the run, rolled into KPIs; bad input gets stable codes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.conftest import admin_headers, serve
from tether.core.errors import ErrorCode, TetherError
from tether.observe import FeedbackStore, KpiStore
from tether.server.app import create_app
from tether.store.runs import RunStore

from .conftest import EMAIL, RECOVERY_SCRIPT, ask, observability, open_desk


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[httpx.Client, RunStore, str]]:
    store = RunStore.open(f"sqlite:///{tmp_path / 'f.db'}")
    desk = open_desk(store, observability())
    run = ask(desk, f"Where is order W4566809? I am {EMAIL}", RECOVERY_SCRIPT)
    app = create_app(desk)
    headers = admin_headers(app)
    with serve(app) as url, httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        yield client, store, run.id
    store.close()


def test_feedback_is_stored_shown_on_the_run_and_rolled_into_kpis(
    api: tuple[httpx.Client, RunStore, str],
) -> None:
    client, store, run_id = api
    first = client.post(
        f"/v1/runs/{run_id}/feedback",
        json={"resolved": True, "csat": 5, "note": "quick and right", "given_by": "customer"},
    )
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["run_id"] == run_id and body["csat"] == 5 and body["resolved"] is True
    second = client.post(
        f"/v1/runs/{run_id}/feedback", json={"resolved": False, "given_by": "operator:ana"}
    )
    assert second.status_code == 201
    assert second.json()["csat"] is None and second.json()["note"] is None

    shown = client.get(f"/v1/runs/{run_id}").json()["feedback"]
    assert [(f["resolved"], f["csat"], f["given_by"]) for f in shown] == [
        (True, 5, "customer"),
        (False, None, "operator:ana"),
    ]
    totals = KpiStore(store.engine).totals("retail-desk")
    assert (totals.count("feedback"), totals.count("resolved")) == (2, 1)
    assert totals.resolved_rate == 0.5 and totals.csat_mean == 5.0
    metrics = client.get("/metrics").text
    assert 'tether_feedback_total{resolved="true"} 1.0' in metrics


@pytest.mark.parametrize(
    "body",
    [
        {"resolved": True, "csat": 0, "given_by": "x"},
        {"resolved": True, "csat": 6, "given_by": "x"},
        {"resolved": True, "csat": "5", "given_by": "x"},
        {"resolved": True, "csat": 4.5, "given_by": "x"},
        {"resolved": "yes", "given_by": "x"},
        {"resolved": True, "note": "n" * 2001, "given_by": "x"},
        {"resolved": True, "given_by": ""},
        {"resolved": True},
        {"resolved": True, "given_by": "x", "extra": 1},
    ],
)
def test_out_of_range_feedback_is_a_bad_request(
    api: tuple[httpx.Client, RunStore, str], body: dict[str, Any]
) -> None:
    client, store, run_id = api
    response = client.post(f"/v1/runs/{run_id}/feedback", json=body)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "BAD_REQUEST"
    assert FeedbackStore(store.engine).for_run(run_id) == []


def test_feedback_on_an_unknown_run_is_not_found(api: tuple[httpx.Client, RunStore, str]) -> None:
    client, _, _ = api
    response = client.post("/v1/runs/run_nope/feedback", json={"resolved": True, "given_by": "x"})
    assert response.status_code == 404
    assert response.json()["code"] == "RUN_NOT_FOUND"
    anonymous = httpx.post(
        f"{client.base_url}/v1/runs/run_nope/feedback", json={"resolved": True, "given_by": "x"}
    )
    assert anonymous.status_code == 401


def test_feedback_store_on_both_backends(store_url: str) -> None:
    store = RunStore.open(store_url)
    run = ask(open_desk(store, observability()), "Do you price-match?", [{"refuse": "no"}])
    feedback = FeedbackStore(store.engine)
    given = feedback.add(run.id, False, 2, "not helpful", "customer", at=1_800_000_030.0)
    assert feedback.for_run(run.id) == [given]
    with pytest.raises(TetherError) as missing:
        feedback.add("run_missing", True, None, None, "x")
    assert missing.value.code is ErrorCode.RUN_NOT_FOUND
    for bad in ({"csat": 9}, {"csat": True}, {"note": "x" * 2001}, {"given_by": " "}):
        args: dict[str, Any] = {"csat": None, "note": None, "given_by": "x", **bad}
        with pytest.raises(TetherError) as invalid:
            feedback.add(run.id, True, args["csat"], args["note"], args["given_by"])
        assert invalid.value.code is ErrorCode.BAD_REQUEST
    point = KpiStore(store.engine).series(since=1_800_000_000.0, until=1_800_000_060.0)[0]
    assert (point.count("feedback"), point.count("resolved"), point.csat_mean) == (1, 0, 2.0)
    store.close()
