"""Conversation turns are runs on the run queue: an API replica with no workers (PostgreSQL)
serves turns that a separate worker executes and folds into the conversation; a turn still
queued can be cancelled, which frees its conversation; a full queue refuses a turn before it
holds anything; and a turn is folded into its conversation once, whoever tries."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from tests.server.conftest import serve
from tests.server.conversation_site import (
    ANYTHING_ELSE_SCRIPT,
    CANCEL_SCRIPT,
    CANCEL_TEXT,
    CANCELLED_SCRIPT,
    ORDER,
    USER,
    GatedModel,
    assert_problem,
    open_site,
)
from tether.conversations import Conversations, ConversationStore
from tether.conversations.store import ConversationRecord
from tether.conversations.turns import fold_turn
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import DecisionKind, Run, RunStatus, StepKind
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.models.scripted import ScriptedModel, parse_script
from tether.sdk import Desk
from tether.server.app import create_app
from tether.store.conversations_schema import conversations
from tether.store.runs import RunFilter, RunStore
from tether.workers.config import store_url
from tether.workers.executor import RunExecutor
from tether.workers.pg_queue import PostgresQueue


class Ended:
    """A run observer: the runs that ended or waited in the runtime it watches."""

    def __init__(self) -> None:
        self.ids: set[str] = set()

    def on_steps(self, run: Run, steps: Any) -> None:
        pass

    def on_run_end(self, run: Run) -> None:
        self.ids.add(run.id)


@dataclass
class Split:
    """An API replica with no workers, and a worker of its own over the same database."""

    client: httpx.Client
    api: Desk
    worker: Desk
    worked: Ended
    data: RetailDB

    def conversation(self) -> str:
        created = self.client.post("/v1/conversations", json={"principal": USER})
        assert created.status_code == 201, created.text
        return str(created.json()["id"])

    def say(self, cid: str, body: dict[str, Any], wait: float | None = None) -> httpx.Response:
        params = {"wait": wait} if wait is not None else {}
        return self.client.post(f"/v1/conversations/{cid}/messages", json=body, params=params)


@pytest.fixture
def split(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Split]:
    monkeypatch.setenv("TETHER_QUEUE", "postgres")
    data = RetailDB.fresh_copy()  # the retail system both roles act on
    api = open_retail_desk(RunStore.open(pg_url), db=data)
    worker = open_retail_desk(RunStore.open(pg_url), db=data)
    worked = Ended()
    worker.runtime.observers = (*worker.runtime.observers, worked)
    queue = PostgresQueue(store_url(worker.store), 100, pack=worker.domain.name)
    queue.start(RunExecutor(worker.runtime, None), 2)
    gate = threading.Event()
    app = create_app(api, model_factory=lambda: GatedModel(gate), allow_scripts=True, workers=0)
    key, _ = app.state.operators.create("service", name="tests", actor="tests")
    try:
        with serve(app) as url:
            headers = {"Authorization": f"Bearer {key}"}
            with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
                yield Split(client, api, worker, worked, data)
    finally:
        gate.set()
        queue.stop(timeout_s=5)
        api.store.close()
        worker.store.close()


def test_an_api_without_workers_serves_turns_a_separate_worker_executes(split: Split) -> None:
    cid = split.conversation()
    asked = split.say(cid, {"text": CANCEL_TEXT, "script": CANCEL_SCRIPT}, wait=30)
    assert asked.status_code == 200, asked.text
    first = asked.json()
    assert first["decision"]["kind"] == "confirmation" and first["turn"] == 1
    nonce = first["pending_action"]["nonce"]
    assert first["run_id"] in split.worked.ids  # executed by the worker, not the API

    done = split.say(cid, {"confirm": nonce, "script": CANCELLED_SCRIPT}, wait=30)
    assert done.status_code == 200, done.text
    second = done.json()
    assert second["turn"] == 2 and second["decision"]["kind"] == "action"
    assert second["pending_action"] is None and second["run_id"] in split.worked.ids
    order = split.data.order(ORDER)
    assert order is not None and order["status"] == "cancelled"

    # without waiting: the worker alone folds the turn into the conversation
    accepted = split.say(cid, {"text": "Thanks!", "script": ANYTHING_ELSE_SCRIPT})
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["status"] in ("queued", "running", "completed")
    conversations = ConversationStore(split.api.store.engine)
    deadline = time.monotonic() + 30
    while conversations.get(cid).turns < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    record = conversations.get(cid)
    assert (record.turns, record.busy_run, record.pending) == (3, None, None)
    turns = conversations.turns(cid)
    assert [t.kind for t in turns] == ["text", "confirm", "text"]
    assert [t.run_id for t in turns][:2] == [first["run_id"], second["run_id"]]
    assert record.state["messages"][-1]["content"] == ANYTHING_ELSE_SCRIPT[0]["answer"]


def test_a_queued_turn_cancelled_frees_its_conversation(tmp_path: Any, monkeypatch: Any) -> None:
    """On SQLite with one in-process worker, held by another conversation's turn."""
    monkeypatch.setenv("TETHER_WORKERS", "1")
    monkeypatch.setenv("TETHER_QUEUE_DEPTH", "1")
    with open_site(f"sqlite:///{tmp_path / 't.db'}") as site:
        busy, waiting, refused = site.start(), site.start(), site.start()
        with site.client("service") as c:
            held = c.post(f"/v1/conversations/{busy}/messages", json={"text": "Hello"})
            assert held.status_code == 202, held.text  # the gated model holds the one worker
            deadline = time.monotonic() + 10
            while site.wait_for_run(held.json()["run_id"], 0)["status"] != "running":
                assert time.monotonic() < deadline
                time.sleep(0.02)
            body = {"text": CANCEL_TEXT, "script": CANCEL_SCRIPT}
            queued = c.post(f"/v1/conversations/{waiting}/messages", json=body)
            assert queued.status_code == 202, queued.text
            turn = queued.json()
            assert turn["status"] == "queued" and site.record(waiting).busy_run is not None

            # the queue is full: a turn is refused before it holds its conversation
            runs = site.total_runs()
            full = c.post(f"/v1/conversations/{refused}/messages", json={"text": "Hi"})
            assert_problem(full, 429, ErrorCode.QUEUE_FULL)
            assert site.total_runs() == runs
            assert (site.record(refused).turns, site.record(refused).busy_run) == (0, None)

            cancelled = c.post(f"/v1/runs/{turn['run_id']}/cancel")
            assert cancelled.status_code == 200, cancelled.text
            assert cancelled.json()["decision"]["reason"]["code"] == "RUN_CANCELLED"
            record = site.record(waiting)
            assert (record.turns, record.busy_run, record.pending) == (1, None, None)
            assert record.state["messages"][0]["content"] == CANCEL_TEXT  # what was asked
            site.gate.set()
            assert site.wait_for_run(held.json()["run_id"])["status"] == "completed"
            again = c.post(
                f"/v1/conversations/{waiting}/messages?wait=10",
                json={"text": CANCEL_TEXT, "script": CANCEL_SCRIPT},
            )
        assert again.status_code == 200, again.text
        assert again.json()["turn"] == 2 and again.json()["decision"]["kind"] == "confirmation"
        steps = site.desk.store.get_run(turn["run_id"]).steps
        assert [s.kind for s in steps] == [StepKind.DECISION]  # it never started
        assert site.order_status() == "pending"


# -- the service and the worker, without HTTP ----------------------------------------------


@pytest.fixture
def desk(store_url: str) -> Iterator[Desk]:
    store = RunStore.open(store_url)
    yield open_retail_desk(store, db=RetailDB.fresh_copy())
    store.close()


def _queued_turn(desk: Desk, service: Conversations, cid: str) -> str:
    claim = service.begin_turn(cid, USER, text=CANCEL_TEXT)
    return service.submit_claimed(claim, {"script": CANCEL_SCRIPT}).id


def test_a_turn_is_folded_in_once_when_two_parties_try_at_once(desk: Desk) -> None:
    service = Conversations(desk.runtime, ConversationStore(desk.store.engine))
    cid = service.start(USER).id
    run_id = _queued_turn(desk, service, cid)
    desk.runtime.execute(run_id, ScriptedModel(parse_script(CANCEL_SCRIPT)))
    run = desk.store.get_run(run_id)
    start = threading.Barrier(2)
    results: list[bool] = []

    def fold() -> None:
        store = ConversationStore(desk.store.engine)  # another party: nothing cached
        start.wait()
        results.append(fold_turn(store, run, time.time()))

    threads = [threading.Thread(target=fold) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [False, True]
    record = service.store.get(cid)
    assert (record.turns, record.busy_run) == (1, None)
    assert record.pending is not None and record.pending.tool == "cancel_pending_order"
    assert [t.run_id for t in service.store.turns(cid)] == [run_id]
    assert fold_turn(service.store, run, time.time()) is False  # and never again


def test_a_worker_cancels_a_turn_whose_conversation_moved_on(desk: Desk) -> None:
    service = Conversations(desk.runtime, ConversationStore(desk.store.engine))
    cid = service.start(USER).id
    stale = _queued_turn(desk, service, cid)
    held = service.store.get(cid).busy_run
    assert held is not None
    service.store.release(cid, held)  # its claim lapsed, and another turn took the conversation
    newer = _queued_turn(desk, service, cid)
    executor = RunExecutor(desk.runtime, None)
    executor(stale)
    run = desk.store.get_run(stale)
    assert run.status is RunStatus.COMPLETED and run.decision is not None
    assert run.decision.reason is not None
    assert run.decision.reason.code is ErrorCode.RUN_CANCELLED
    assert not any(s.kind is StepKind.MODEL_TURN for s in run.steps)
    assert service.store.get(cid).turns == 0  # the newer turn still holds it
    executor(newer)
    ended = desk.store.get_run(newer)
    assert ended.decision is not None and ended.decision.kind is DecisionKind.CONFIRMATION
    record = service.store.get(cid)
    assert (record.turns, record.busy_run) == (1, None) and record.pending is not None
    assert desk.store.count_runs(RunFilter(status=RunStatus.QUEUED)) == 0


def test_a_conversation_is_not_closed_while_a_turn_whose_claim_lapsed_may_still_run(
    desk: Desk,
) -> None:
    # the claim lapses after 5 minutes, but its run may wait longer on a long queue or for
    # recovery after its worker died; a close then would leave a write to run for a closed
    # conversation
    service = Conversations(desk.runtime, ConversationStore(desk.store.engine))
    cid = service.start(USER).id
    run_id = _queued_turn(desk, service, cid)
    with desk.store.engine.begin() as conn:
        conn.execute(update(conversations).where(conversations.c.id == cid).values(busy_until=1.0))
    with pytest.raises(TetherError) as refused:
        service.close(cid, USER)
    assert refused.value.code is ErrorCode.CONVERSATION_BUSY
    assert service.store.get(cid).status == "open"
    desk.runtime.execute(run_id, ScriptedModel(parse_script(CANCEL_SCRIPT)))
    service.close(cid, USER)  # the run has ended: nothing of it may still run
    assert service.store.get(cid).status == "closed"


def test_a_message_sent_once_the_turns_run_ended_is_taken_before_its_worker_folds_it_in(
    desk: Desk,
) -> None:
    # a client that saw the run end (its ?wait answer, its events stream) sends the next
    # message at once: the ended turn is folded in there and then, not refused as busy
    service = Conversations(desk.runtime, ConversationStore(desk.store.engine))
    cid = service.start(USER).id
    run_id = _queued_turn(desk, service, cid)
    desk.runtime.execute(run_id, ScriptedModel(parse_script(CANCEL_SCRIPT)))
    assert service.store.get(cid).busy_run == run_id  # ended, not yet folded in
    claim = service.begin_turn(cid, USER, text="Thanks, that is all.")
    record = service.store.get(cid)
    assert record.turns == 1 and record.busy_run == claim.claimant
    assert [t.run_id for t in service.store.turns(cid)] == [run_id]
    service.release(claim)


class _FoldedMeanwhile(ConversationStore):
    """A conversation store whose `where` ("claim" or "look") lets the worker fold the ended
    turn in: after this party's claim was refused, or after it read who holds the claim."""

    def __init__(self, desk: Desk, run_id: str, where: str) -> None:
        super().__init__(desk.store.engine)
        self.desk, self.run_id, self.where, self.folded = desk, run_id, where, False
        self.looks = 0

    def _worker_folds(self) -> None:
        if not self.folded:
            self.folded = True
            worker = ConversationStore(self.desk.store.engine)
            assert fold_turn(worker, self.desk.store.get_run(self.run_id), time.time())

    def claim(self, conversation_id: str, claimant: str, now: float, lease_s: float) -> bool:
        taken = super().claim(conversation_id, claimant, now, lease_s)
        if not taken and self.where == "claim":
            self._worker_folds()
        return taken

    def get(self, conversation_id: str, with_state: bool = True) -> ConversationRecord:
        record = super().get(conversation_id, with_state)
        if not with_state and self.where == "look":
            self.looks += 1  # the first look is the turn's check, the second the claim's
            if self.looks == 2 and record.busy_run == self.run_id:
                self._worker_folds()
        return record


@pytest.mark.parametrize("where", ["claim", "look"])
def test_a_message_is_taken_when_the_worker_folds_the_ended_turn_in_at_the_same_moment(
    desk: Desk, where: str
) -> None:
    # the worker lets go of the conversation between this request's refused claim and its own
    # fold: the turn is folded in once (by the worker), and the message is still taken
    service = Conversations(desk.runtime, ConversationStore(desk.store.engine))
    cid = service.start(USER).id
    run_id = _queued_turn(desk, service, cid)
    desk.runtime.execute(run_id, ScriptedModel(parse_script(CANCEL_SCRIPT)))
    racing = _FoldedMeanwhile(desk, run_id, where)
    service.store = racing
    claim = service.begin_turn(cid, USER, text="Thanks, that is all.")
    assert racing.folded
    record = racing.get(cid)
    assert record.turns == 1 and record.busy_run == claim.claimant
    assert [t.run_id for t in racing.turns(cid)] == [run_id]
    service.release(claim)


def test_a_message_is_still_busy_while_the_turns_run_goes_on(desk: Desk) -> None:
    service = Conversations(desk.runtime, ConversationStore(desk.store.engine))
    cid = service.start(USER).id
    run_id = _queued_turn(desk, service, cid)  # queued, not run
    with pytest.raises(TetherError) as busy:
        service.begin_turn(cid, USER, text="Are you there?")
    assert busy.value.code is ErrorCode.CONVERSATION_BUSY
    record = service.store.get(cid)
    assert (record.turns, record.busy_run) == (0, run_id)
