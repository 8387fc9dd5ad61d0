"""Runs over HTTP execute on workers: `202` then the Decision, `?wait`, the events stream,
cancellation, and backpressure (`429` with `Retry-After`), through a real server on both
stores (the in-process queue on SQLite, procrastinate on PostgreSQL)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tether.core.types import ModelTurn
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.models.base import ModelAdapter, ModelRequest
from tether.models.scripted import ScriptedModel, parse_script
from tether.sdk import Desk
from tether.server.app import create_app
from tether.store.runs import RunFilter, RunStore

from .conftest import ORDER_QUESTION, ORDER_SCRIPT, serve

BODY = {"principal": "raj_sanchez_2970", "input": ORDER_QUESTION}


@dataclass
class Gate:
    """The API's model: the order script, whose second turn waits until the gate opens."""

    open: threading.Event = field(default_factory=threading.Event)
    reached: threading.Event = field(default_factory=threading.Event)

    def __call__(self) -> ModelAdapter:
        return GatedModel(self)


class GatedModel(ScriptedModel):
    def __init__(self, gate: Gate) -> None:
        super().__init__(parse_script(ORDER_SCRIPT, "script"))
        self.gate = gate

    def propose(self, request: ModelRequest) -> ModelTurn:
        if request.turn == 1:
            self.gate.reached.set()
            assert self.gate.open.wait(30), "the test never opened the gate"
        return super().propose(request)


@dataclass
class Api:
    client: httpx.Client
    desk: Desk
    gate: Gate

    def runs(self) -> int:
        return self.desk.store.count_runs(RunFilter())


@pytest.fixture
def make_api(store_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    opened: list[Any] = []

    def make(workers: int = 4, **env: str) -> Api:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        desk = open_retail_desk(RunStore.open(store_url), db=RetailDB.fresh_copy())
        gate = Gate()
        app = create_app(desk, model_factory=gate, allow_scripts=True, workers=workers)
        served = serve(app)
        url = served.__enter__()
        key, _ = app.state.operators.create("admin", name="tests", actor="tests")
        client = httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {key}"})
        opened.append((served, app, desk, client, gate))
        return Api(client, desk, gate)

    yield make
    for served, app, desk, client, gate in opened:
        gate.open.set()
        client.close()
        app.state.queue.stop()
        app.state.recovery.stop()
        app.state.approvals.service.stop()
        served.__exit__(None, None, None)
        desk.store.close()


def test_a_run_is_accepted_at_once_and_followed_to_its_decision(make_api: Any) -> None:
    api = make_api()
    accepted = api.client.post("/v1/runs", json=BODY)
    assert accepted.status_code == 202, accepted.text
    run = accepted.json()
    assert run["status"] in ("queued", "running") and run["decision"] is None
    assert accepted.headers["Location"] == f"/v1/runs/{run['id']}"
    assert api.gate.reached.wait(30)  # a worker executes it, off the request
    waited = api.client.post("/v1/runs?wait=0.3", json={**BODY, "principal": "raj_sanchez_2970"})
    assert waited.status_code == 202 and waited.json()["status"] in ("queued", "running")
    events: list[tuple[str, Any, str | None]] = []
    follower = threading.Thread(target=follow, args=(api.client, run["id"], events, None))
    follower.start()
    api.gate.open.set()
    follower.join(30)
    assert not follower.is_alive()
    kinds = [kind for kind, _, _ in events]
    assert kinds[0] == "status" and kinds[-1] == "decision"
    steps = [data for kind, data, _ in events if kind == "step"]
    stored = api.client.get(f"/v1/runs/{run['id']}").json()
    assert [s["seq"] for s in steps] == [s["seq"] for s in stored["steps"]]  # all, in order
    assert [i for kind, _, i in events if kind == "step"] == [str(s["seq"]) for s in steps]
    assert events[-1][1] == stored["decision"] and stored["decision"]["kind"] == "answer"
    statuses = [data["status"] for kind, data, _ in events if kind == "status"]
    assert statuses[-1] == "completed"
    # reconnecting after step 5 replays only what came after it
    later: list[tuple[str, Any, str | None]] = []
    follow(api.client, run["id"], later, "5")
    assert [d["seq"] for k, d, _ in later if k == "step"] == [s["seq"] for s in steps[5:]]
    done = api.client.post("/v1/runs?wait=60", json=BODY)
    assert done.status_code == 200 and done.json()["decision"]["kind"] == "answer"


def follow(client: httpx.Client, run_id: str, into: list[Any], last_event_id: str | None) -> None:
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    with client.stream("GET", f"/v1/runs/{run_id}/events", headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        kind, data, event_id = "", "", None
        for line in response.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("id: "):
                event_id = line[4:]
            elif line.startswith("data: "):
                data = line[6:]
            elif not line and kind:
                into.append((kind, json.loads(data), event_id))
                kind, data, event_id = "", "", None


def test_a_running_run_cancelled_ends_in_a_refusal_before_its_next_turn(make_api: Any) -> None:
    api = make_api()
    run = api.client.post("/v1/runs", json=BODY).json()
    assert api.gate.reached.wait(30)
    cancelled = api.client.post(f"/v1/runs/{run['id']}/cancel")
    assert cancelled.status_code == 202, cancelled.text
    api.gate.open.set()
    later = api.client.post("/v1/runs?wait=0", json=BODY)  # a later run is unaffected
    # 202 while it runs; 200 if a worker decided it before the answer was written
    assert later.status_code in (200, 202), later.text
    assert wait_for(api, later.json()["id"])["decision"]["kind"] == "answer"
    stored = wait_for(api, run["id"])
    assert stored["decision"]["kind"] == "refusal"
    assert stored["decision"]["reason"]["code"] == "RUN_CANCELLED"
    turns = [s for s in stored["steps"] if s["kind"] == "model_turn"]
    assert len(turns) == 2  # the turn in hand finished; no third turn was asked for
    again = api.client.post(f"/v1/runs/{run['id']}/cancel")
    assert again.status_code == 409 and again.json()["code"] == "RUN_ENDED"


def wait_for(api: Api, run_id: str) -> dict[str, Any]:
    events: list[Any] = []
    follow(api.client, run_id, events, None)
    stored: dict[str, Any] = api.client.get(f"/v1/runs/{run_id}").json()
    assert stored["status"] == "completed", stored["status"]
    return stored


def test_a_full_queue_answers_429_with_retry_after_and_stores_nothing(make_api: Any) -> None:
    api = make_api(workers=1, TETHER_QUEUE_DEPTH="1")
    first = api.client.post("/v1/runs", json=BODY).json()  # the worker holds it
    assert api.gate.reached.wait(30)
    second = api.client.post("/v1/runs", json=BODY)  # waits in the queue
    assert second.status_code == 202
    refused = api.client.post("/v1/runs", json=BODY)
    assert refused.status_code == 429, refused.text
    assert refused.json()["code"] == "QUEUE_FULL" and int(refused.headers["Retry-After"]) >= 1
    assert api.runs() == 2  # the refused request left no run behind
    api.gate.open.set()
    for run_id in (first["id"], second.json()["id"]):
        assert wait_for(api, run_id)["decision"]["kind"] == "answer"
    assert api.client.post("/v1/runs?wait=60", json=BODY).status_code == 200  # room again


def test_a_principal_over_its_quota_gets_429(make_api: Any) -> None:
    api = make_api(TETHER_MAX_ACTIVE_RUNS_PER_PRINCIPAL="1")
    first = api.client.post("/v1/runs", json=BODY).json()
    assert api.gate.reached.wait(30)
    refused = api.client.post("/v1/runs", json=BODY)
    assert refused.status_code == 429 and refused.json()["code"] == "QUOTA_EXCEEDED"
    assert "Retry-After" in refused.headers
    api.gate.open.set()
    wait_for(api, first["id"])
    assert api.client.post("/v1/runs?wait=60", json=BODY).status_code == 200


def test_events_of_an_unknown_run_are_a_404_problem(make_api: Any) -> None:
    api = make_api()
    missing = api.client.get("/v1/runs/run_nope/events")
    assert missing.status_code == 404 and missing.json()["code"] == "RUN_NOT_FOUND"
    gone = api.client.post("/v1/runs/run_nope/cancel")
    assert gone.status_code == 404 and gone.json()["code"] == "RUN_NOT_FOUND"


def test_reading_a_run_with_wait_answers_when_it_settles(make_api: Any) -> None:
    """`GET /v1/runs/{id}?wait=` long-polls the `Location` a 202 gave: it answers the run as
    it is when the wait runs out, or at once when it ends, with every step."""
    api = make_api()
    run = api.client.post("/v1/runs", json=BODY).json()
    assert api.gate.reached.wait(30)
    early = api.client.get(f"/v1/runs/{run['id']}?wait=0.2")
    assert early.status_code == 200, early.text
    assert early.json()["status"] == "running" and early.json()["decision"] is None
    answered: list[httpx.Response] = []
    poller = threading.Thread(
        target=lambda: answered.append(api.client.get(f"/v1/runs/{run['id']}?wait=30"))
    )
    poller.start()
    poller.join(0.5)
    assert poller.is_alive() and not answered  # it waits for the run, not for nothing
    api.gate.open.set()
    poller.join(30)
    assert not poller.is_alive() and answered[0].status_code == 200, answered
    ended = answered[0].json()
    assert ended["status"] == "completed" and ended["decision"]["kind"] == "answer"
    assert ended["steps"] == api.client.get(f"/v1/runs/{run['id']}").json()["steps"]
    assert ended["feedback"] == []


def test_reading_an_unknown_run_with_wait_is_a_404_at_once(make_api: Any) -> None:
    api = make_api()
    # a wait on a run that does not exist would hold the request for the whole wait
    missing = api.client.get("/v1/runs/run_nope?wait=30", timeout=10)
    assert missing.status_code == 404 and missing.json()["code"] == "RUN_NOT_FOUND"


@pytest.mark.parametrize("wait", ["61", "-1", "soon"])
def test_reading_a_run_with_a_wait_out_of_range_is_400(make_api: Any, wait: str) -> None:
    api = make_api()
    run = api.client.post("/v1/runs", json=BODY).json()
    bad = api.client.get(f"/v1/runs/{run['id']}?wait={wait}")
    assert bad.status_code == 400 and bad.json()["code"] == "BAD_REQUEST", bad.text
