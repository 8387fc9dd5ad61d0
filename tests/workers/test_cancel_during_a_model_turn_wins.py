"""`POST /v1/runs/{id}/cancel`: "Cancel a run: it ends in a refusal coded RUN_CANCELLED". A
cancel accepted (202) while the model is mid-turn must still end the run as cancelled, not
hand the cancelled request to a person as an escalation."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import ORDER_QUESTION, admin_headers, open_desk, serve
from tether.core.errors import ErrorCode, TetherError
from tether.models.base import ModelRequest, ModelTurn
from tether.server.app import create_app

ENTERED = threading.Event()  # a model turn has begun
RELEASE = threading.Event()  # the model turn may end (in a failure)


class MidTurnModel:
    """A model whose turn tells the test it began, waits for it, then fails (a provider
    outage at the worst moment)."""

    name = "mid-turn"

    def propose(self, request: ModelRequest) -> ModelTurn:
        ENTERED.set()
        RELEASE.wait(20)
        raise TetherError(ErrorCode.MODEL_UNAVAILABLE, "provider went away")


@pytest.fixture
def api(tmp_path: Path) -> Iterator[httpx.Client]:
    ENTERED.clear()
    RELEASE.clear()
    desk = open_desk(tmp_path)
    app = create_app(desk, model_factory=MidTurnModel)
    try:
        with serve(app) as url, httpx.Client(base_url=url, headers=admin_headers(app)) as c:
            yield c
    finally:
        RELEASE.set()
        desk.store.close()


def test_a_run_cancelled_mid_turn_ends_cancelled_not_escalated(api: httpx.Client) -> None:
    started = api.post(
        "/v1/runs", json={"principal": "raj_sanchez_2970", "input": ORDER_QUESTION}, timeout=30
    )
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    assert ENTERED.wait(20), "the worker never asked the model"

    cancelled = api.post(f"/v1/runs/{run_id}/cancel", timeout=30)
    assert cancelled.status_code == 202, cancelled.text
    RELEASE.set()
    # the events stream ends after the run's decision: no polling
    stream = api.get(f"/v1/runs/{run_id}/events", timeout=30)
    assert "event: decision" in stream.text, stream.text
    run = api.get(f"/v1/runs/{run_id}", timeout=30).json()
    assert run["status"] == "completed", run["status"]

    decision = run["decision"]
    assert decision["kind"] == "refusal", decision
    assert decision["reason"]["code"] == "RUN_CANCELLED", decision
