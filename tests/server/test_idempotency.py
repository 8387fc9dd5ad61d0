"""Idempotency keys on POST /v1/...: a retry gets the first response and starts nothing new,
on SQLite and PostgreSQL, through a real server."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text, update

from tether.access.operators import OperatorKeys
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import RunStatus
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.models.base import ModelAdapter
from tether.models.scripted import ScriptedModel, parse_script
from tether.runtime import RunRequest
from tether.sdk import Desk
from tether.server import run_events
from tether.server.app import create_app
from tether.server.idempotency import Keyed, keyed_id
from tether.server.run_events import RunSignals
from tether.server.run_models import RunCreate
from tether.store.request_keys import CLAIM_TTL_S, KEY_TTL_S, KeyScope, request_keys
from tether.store.runs import RunFilter, RunStore
from tether.workers.executor import RunExecutor

from .conftest import ORDER_QUESTION, ORDER_SCRIPT, serve


@dataclass
class Model:
    """The model factory of the API: the order script, after `delay` seconds; the next
    `failures` calls fail instead (an exception, or a store outage answered with 503)."""

    delay: float = 0.0
    failures: list[Exception] = field(default_factory=list)

    def __call__(self) -> ModelAdapter:
        time.sleep(self.delay)
        if self.failures:
            raise self.failures.pop(0)
        return ScriptedModel(parse_script(ORDER_SCRIPT, "script"))


@dataclass
class Api:
    url: str
    desk: Desk
    model: Model
    operators: OperatorKeys
    admin: dict[str, str]
    desk_queue: Any = None

    def client(self, headers: dict[str, str] | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, timeout=30, headers=self.admin if headers is None else headers
        )

    def new_key(self, role: str = "admin") -> dict[str, str]:
        key, _ = self.operators.create(role, name="tests", actor="tests")
        return {"Authorization": f"Bearer {key}"}

    def runs(self) -> int:
        return self.desk.store.count_runs(RunFilter())


@pytest.fixture
def api(store_url: str) -> Iterator[Api]:
    desk = open_retail_desk(RunStore.open(store_url), db=RetailDB.fresh_copy())
    model = Model()
    app = create_app(desk, model_factory=model, allow_scripts=True)
    try:
        with serve(app) as url:
            api = Api(url, desk, model, app.state.operators, {}, app.state.queue)
            api.admin = api.new_key()
            yield api
    finally:
        app.state.approvals.service.stop()
        desk.store.close()


def run_body(question: str = ORDER_QUESTION) -> dict[str, Any]:
    return {"principal": "raj_sanchez_2970", "input": question}


def post_run(client: httpx.Client, key: str | None, body: dict[str, Any]) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post("/v1/runs?wait=60", json=body, headers=headers)


def test_a_retry_replays_the_first_response_and_starts_one_run(api: Api) -> None:
    with api.client() as c:
        first = post_run(c, "order-1", run_body())
        again = post_run(c, "order-1", run_body())
    assert first.status_code == 200, first.text
    assert "Idempotent-Replayed" not in first.headers
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["content-type"] == first.headers["content-type"]
    assert api.runs() == 1


def test_the_same_key_with_another_body_is_refused(api: Api) -> None:
    with api.client() as c:
        assert post_run(c, "k", run_body()).status_code == 200
        other = post_run(c, "k", run_body("Where is order #W4566809?"))
    assert other.status_code == 422
    assert other.headers["content-type"].startswith("application/problem+json")
    assert other.json()["code"] == ErrorCode.IDEMPOTENCY_KEY_REUSED
    assert api.runs() == 1


def test_keys_are_scoped_to_the_operator_key_and_the_route(api: Api) -> None:
    with api.client() as c, api.client(api.new_key("service")) as other:
        first = post_run(c, "shared", run_body())
        theirs = post_run(other, "shared", run_body())
        theirs_again = post_run(other, "shared", run_body())
        run_id = first.json()["id"]
        feedback = {"resolved": True, "given_by": "agent"}
        given = c.post(
            f"/v1/runs/{run_id}/feedback", json=feedback, headers={"Idempotency-Key": "shared"}
        )
    assert theirs.status_code == 200 and "Idempotent-Replayed" not in theirs.headers
    assert theirs.json()["id"] != run_id
    assert theirs_again.headers["Idempotent-Replayed"] == "true"
    assert theirs_again.json()["id"] == theirs.json()["id"]
    assert given.status_code == 201 and "Idempotent-Replayed" not in given.headers
    assert api.runs() == 2


def test_concurrent_requests_with_one_key_start_one_run(api: Api) -> None:
    api.model.delay = 0.5  # the first request holds the key while the second arrives
    results: list[httpx.Response] = []
    start = threading.Barrier(2)

    def send() -> None:
        with api.client() as c:
            start.wait()
            results.append(post_run(c, "race", run_body()))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == 2
    fresh = [r for r in results if r.status_code == 200 and "Idempotent-Replayed" not in r.headers]
    others = [r for r in results if r not in fresh]
    assert len(fresh) == 1 and len(others) == 1
    (other,) = others
    if other.status_code == 409:
        assert other.json()["code"] == ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS
        assert other.headers["Retry-After"] == "1"
    else:
        assert other.headers["Idempotent-Replayed"] == "true"
        assert other.json() == fresh[0].json()
    assert api.runs() == 1


@pytest.mark.parametrize(
    "failure",
    [RuntimeError("the model adapter crashed"), TetherError(ErrorCode.STORE_UNAVAILABLE, "down")],
    ids=["exception", "503"],
)
def test_a_request_that_failed_with_5xx_can_be_retried(api: Api, failure: Exception) -> None:
    api.model.failures.append(failure)
    responses = []
    for _ in range(3):  # a connection each: the server closes one after a crashed handler
        with api.client() as c:
            responses.append(post_run(c, "retry-me", run_body()))
    failed, retried, again = responses
    assert failed.status_code >= 500
    assert retried.status_code == 200 and "Idempotent-Replayed" not in retried.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert api.runs() == 1


def failing_hand_over(api: Api, after_enqueue: bool) -> list[str]:
    """The queue's next hand-over fails with QUEUE_UNAVAILABLE: before the job is on the
    queue, or after (the answer lost on the way back). Returns the run ids it was given."""
    queue = api.desk_queue
    real, given = queue.enqueue, []

    def enqueue(run_id: str) -> None:
        given.append(run_id)
        if len(given) == 1:
            if after_enqueue:  # and a worker has taken the run before the error comes back
                real(run_id)
                deadline = time.monotonic() + 30
                while api.desk.store.get_run(run_id, False).status is RunStatus.QUEUED:
                    assert time.monotonic() < deadline, "no worker took the run"
                    time.sleep(0.01)
            raise TetherError(ErrorCode.QUEUE_UNAVAILABLE, "the run queue is unavailable")
        real(run_id)

    queue.enqueue = enqueue
    return given


@pytest.mark.parametrize("after_enqueue", [False, True], ids=["refused", "answer-lost"])
def test_a_run_whose_hand_over_failed_is_stored_once_across_retries(
    api: Api, after_enqueue: bool
) -> None:
    given = failing_hand_over(api, after_enqueue)
    with api.client() as c:
        failed = post_run(c, "hand-over", run_body())
        retried = post_run(c, "hand-over", run_body())
    assert failed.status_code == 503 and failed.json()["code"] == "QUEUE_UNAVAILABLE"
    assert retried.status_code == 200, retried.text
    assert retried.json()["decision"]["kind"] == "answer"
    assert set(given) == {retried.json()["id"]}  # one run id, whichever attempt stored it
    assert api.runs() == 1


@pytest.mark.parametrize("after_enqueue", [False, True], ids=["refused", "answer-lost"])
def test_a_failed_keyed_request_does_not_lend_its_key_to_another_body(
    api: Api, after_enqueue: bool
) -> None:
    failing_hand_over(api, after_enqueue)
    other_agent = {**run_body(), "agent": "no-such-agent"}  # same principal and message
    with api.client() as c:
        failed = post_run(c, "hand-over", run_body())
        others = [post_run(c, "hand-over", body) for body in (run_body("Where else?"), other_agent)]
    assert failed.status_code == 503
    for other in others:
        assert other.status_code == 422 and other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert api.runs() == (1 if after_enqueue else 0)


def test_without_the_header_every_post_starts_a_run(api: Api) -> None:
    with api.client() as c:
        first, second = post_run(c, None, run_body()), post_run(c, None, run_body())
    assert first.status_code == second.status_code == 200
    assert "Idempotent-Replayed" not in second.headers
    assert first.json()["id"] != second.json()["id"]
    assert api.runs() == 2


@pytest.mark.parametrize("key", ["", "has space", "x" * 201, "caf\u00e9"])
def test_a_malformed_key_is_refused(api: Api, key: str) -> None:
    with api.client() as c:
        response = c.post(
            "/v1/runs?wait=60", json=run_body(), headers={"Idempotency-Key": key.encode("utf-8")}
        )
    assert response.status_code == 400
    assert response.json()["code"] == ErrorCode.IDEMPOTENCY_KEY_INVALID
    assert api.runs() == 0


def test_an_unauthenticated_request_gets_401_not_a_key_check(api: Api) -> None:
    with api.client({}) as c:
        response = post_run(c, "", run_body())
    assert response.status_code == 401
    assert response.json()["code"] == ErrorCode.AUTH_REQUIRED


def test_a_key_without_the_right_to_start_runs_is_403_with_or_without_a_key(api: Api) -> None:
    """The route reuses the operator the key's claim authenticated, and still checks its role."""
    with api.client(api.new_key("viewer")) as c:
        keyed, plain = post_run(c, "viewer-1", run_body()), post_run(c, None, run_body())
    assert keyed.status_code == plain.status_code == 403
    assert keyed.json()["code"] == plain.json()["code"] == ErrorCode.ROLE_FORBIDDEN
    assert api.runs() == 0


@pytest.mark.parametrize("valid_first", [True, False], ids=["valid-first", "invalid-first"])
def test_two_authorization_headers_are_read_alike_by_the_claim_and_the_route(
    api: Api, valid_first: bool
) -> None:
    """The claim and the route both take the first Authorization header: a valid first key
    claims the Idempotency-Key and is the route's operator, an invalid first key claims nothing
    (no 401 is kept under the valid key's scope) and is refused by the route."""
    valid = api.admin["Authorization"]
    invalid = "Bearer tk_" + "0" * 16 + "." + "A" * 43
    pair = [valid, invalid] if valid_first else [invalid, valid]
    headers = [("Authorization", value) for value in pair] + [("Idempotency-Key", "pair")]
    with api.client({}) as c:
        first = c.post("/v1/runs?wait=60", json=run_body(), headers=headers)
        again = c.post("/v1/runs?wait=60", json=run_body(), headers=headers)
        alone = post_run(api.client(), "pair", run_body())  # the valid key on its own
    if valid_first:
        assert first.status_code == 200, first.text
        assert again.headers["Idempotent-Replayed"] == "true" and again.json() == first.json()
        assert alone.headers["Idempotent-Replayed"] == "true"
        assert api.runs() == 1
    else:
        assert first.status_code == again.status_code == 401, first.text
        assert first.json()["code"] == ErrorCode.AUTH_INVALID
        assert alone.status_code == 200 and "Idempotent-Replayed" not in alone.headers
        assert api.runs() == 1


def signals_of(api: Api) -> RunSignals:
    return next(o for o in api.desk.runtime.observers if isinstance(o, RunSignals))


def test_a_run_the_queue_refuses_leaves_no_watch_behind(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(run_id: str) -> None:
        raise TetherError(ErrorCode.QUEUE_FULL, "full", {"max_depth": 1})

    monkeypatch.setattr(api.desk_queue, "enqueue", refuse)
    with api.client() as c:
        answers = [post_run(c, key, run_body()) for key in ("refused-1", None, "refused-2")]
    assert [a.status_code for a in answers] == [429, 429, 429]
    assert signals_of(api)._waiters == {}


def test_a_run_settled_while_it_was_queued_is_answered_from_the_wake(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A queue that runs the run to its end inside `enqueue`: the end's wake-up, with the run
    as it ended, lands before the POST starts waiting, and only a watch begun before the
    hand-over sees it. A missed wake-up would leave the POST polling (here: every 30 s, past
    the client's timeout)."""
    monkeypatch.setattr(run_events, "POLL_S", 30.0)
    execute = RunExecutor(api.desk.runtime, None)
    monkeypatch.setattr(api.desk_queue, "enqueue", execute)
    reads: list[bool] = []
    read = run_events._read

    def counted(store: Any, run_id: str, likely_settled: bool) -> Any:
        reads.append(likely_settled)
        return read(store, run_id, likely_settled)

    monkeypatch.setattr(run_events, "_read", counted)
    body = run_body() | {"script": ORDER_SCRIPT}
    with httpx.Client(base_url=api.url, timeout=10, headers=api.admin) as c:
        answer = post_run(c, "at-once", body)
        plain = post_run(c, None, body)
        stored = [c.get(f"/v1/runs/{r.json()['id']}").json() for r in (answer, plain)]
    for response, kept in zip((answer, plain), stored, strict=True):
        assert response.status_code == 200, response.text
        assert response.json()["decision"]["kind"] == "answer"
        assert response.json() == kept  # what the store holds, though never read back
    assert reads == []
    assert signals_of(api)._waiters == {} and signals_of(api)._ended == {}


def test_a_turn_settled_while_it_was_queued_is_answered_from_the_wake(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A conversation's turn is a run: a queue that runs it to its end inside `enqueue` wakes
    a watch begun before the hand-over, and the turn is answered from the run as it ended,
    without reading it again, as the store and the conversation then hold it."""
    monkeypatch.setattr(run_events, "POLL_S", 30.0)
    execute = RunExecutor(api.desk.runtime, None)
    executing = threading.local()

    def enqueue(run_id: str) -> None:
        executing.now = True
        try:
            execute(run_id)
        finally:
            executing.now = False

    monkeypatch.setattr(api.desk_queue, "enqueue", enqueue)
    store = api.desk.store
    get_run = store.get_run
    reads: list[str] = []  # reads of the run outside its execution

    def counted(run_id: str, with_steps: bool = True) -> Any:
        if not getattr(executing, "now", False):
            reads.append(run_id)
        return get_run(run_id, with_steps)

    body = {"text": ORDER_QUESTION, "script": ORDER_SCRIPT}
    with httpx.Client(base_url=api.url, timeout=10, headers=api.admin) as c:
        created = c.post("/v1/conversations", json={"principal": "raj_sanchez_2970"})
        cid = created.json()["id"]
        monkeypatch.setattr(store, "get_run", counted)
        said = c.post(f"/v1/conversations/{cid}/messages?wait=20", json=body)
        monkeypatch.setattr(store, "get_run", get_run)
        turn = said.json()
        run = c.get(f"/v1/runs/{turn['run_id']}").json()
        held = c.get(f"/v1/conversations/{cid}").json()
    assert said.status_code == 200, said.text
    assert reads == []
    assert turn["status"] == run["status"] == "completed"
    assert turn["decision"]["kind"] == run["decision"]["kind"] == "answer"
    assert turn["decision"]["text"] == run["decision"]["text"]
    assert held["turn_count"] == 1 and held["turns"][-1]["run"]["id"] == run["id"]  # folded in
    assert held["turns"][-1]["run"]["steps"] == run["steps"]
    assert signals_of(api)._waiters == {} and signals_of(api)._ended == {}


def test_a_waited_run_is_answered_as_the_store_holds_it(api: Api) -> None:
    """The POST answers a run that ended in this process from the run as it ended: the same
    JSON a read of the store gives, for an answer, a refusal and an escalation alike."""
    denied = run_body() | {"principal": "raj_sanchez_2970", "input": "Refund order #W4566809"}
    bodies = [
        run_body() | {"script": ORDER_SCRIPT},
        denied | {"script": [{"answer": "I can't help with that."}]},
        run_body() | {"script": [{"tool": "no_such_tool", "args": {}}]},
    ]
    with api.client() as c:
        answers = [post_run(c, None, body) for body in bodies]
        stored = [c.get(f"/v1/runs/{a.json()['id']}").json() for a in answers]
    kinds = set()
    for answer, kept in zip(answers, stored, strict=True):
        assert answer.status_code == 200, answer.text
        assert answer.json() == kept
        kinds.add(answer.json()["decision"]["kind"])
    assert len(kinds) >= 2, kinds
    assert signals_of(api)._ended == {}


def test_a_client_error_is_kept_and_replayed_too(api: Api) -> None:
    body = run_body() | {"principal": "nobody_at_all"}
    with api.client() as c:
        first, again = post_run(c, "lost", body), post_run(c, "lost", body)
    assert first.status_code == again.status_code == 404
    assert again.json() == first.json()
    assert again.json()["code"] == ErrorCode.UNKNOWN_PRINCIPAL
    assert again.headers["content-type"].startswith("application/problem+json")
    assert again.headers["Idempotent-Replayed"] == "true"


def test_a_key_older_than_a_day_is_replaced(api: Api) -> None:
    with api.client() as c:
        first = post_run(c, "old", run_body())
        with api.desk.store.engine.begin() as conn:  # a day and a second pass
            conn.execute(update(request_keys).values(created_at=time.time() - KEY_TTL_S - 1))
        again = post_run(c, "old", run_body())
    assert first.status_code == again.status_code == 200
    assert "Idempotent-Replayed" not in again.headers
    assert again.json()["id"] != first.json()["id"]
    assert api.runs() == 2


def test_a_claim_left_by_a_dead_process_lapses_within_minutes(api: Api) -> None:
    """A process killed mid-request never finishes or releases its claim: the retry is told
    to wait while the first request might still run, then takes the key over."""
    scope = {"operator_id": _key_id(api), "route": "POST /v1/runs", "key": "orphan"}
    row = scope | {"body_hash": _digest(run_body()), "state": "in_progress"}
    with api.desk.store.engine.begin() as conn:
        claimed = time.time() - 5
        conn.execute(request_keys.insert().values(**row, created_at=claimed, claimed_at=claimed))
    with api.client() as c:
        early = post_run(c, "orphan", run_body())
        with api.desk.store.engine.begin() as conn:  # the claim's lifetime passes
            conn.execute(update(request_keys).values(claimed_at=time.time() - CLAIM_TTL_S - 1))
        late, again = post_run(c, "orphan", run_body()), post_run(c, "orphan", run_body())
    assert early.status_code == 409, early.text
    assert early.json()["code"] == ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS
    assert late.status_code == 200 and "Idempotent-Replayed" not in late.headers
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == late.json()
    assert api.runs() == 1


def dead_claim(api: Api, key: str, age: float, store_run: bool) -> str:
    """What a process killed mid-request leaves: its claim of `key` taken `age` seconds ago and
    never finished or released, and (`store_run`) the run it had stored under the key, queued
    and never handed over. Returns that run's id."""
    since = time.time() - age
    where = KeyScope.of(_key_id(api), "POST", "/v1/runs", key)
    row = {"operator_id": where.operator_id, "route": where.route, "key": key}
    row |= {"body_hash": _digest(run_body()), "state": "in_progress"}
    with api.desk.store.engine.begin() as conn:
        conn.execute(request_keys.insert().values(**row, created_at=since, claimed_at=since))
    run_id = keyed_id(Keyed(where, since), "run")
    if store_run:
        body = RunCreate.model_validate(run_body())
        request = RunRequest(body.principal, body.chat(), metadata={"operator": "tests"})
        api.desk.runtime.submit(replace(request, run_id=run_id))
    return run_id


@pytest.mark.parametrize("store_run", [True, False], ids=["run-stored", "nothing-stored"])
def test_a_retry_after_a_dead_process_carries_on_its_run(api: Api, store_run: bool) -> None:
    """The claim lapses, and the retry takes the key over in the same life: it finds the run
    the dead process stored instead of starting a second one beside it."""
    first_id = dead_claim(api, "crashed", CLAIM_TTL_S + 1, store_run)
    with api.client() as c:
        other = post_run(c, "crashed", run_body("Where is order #W4566809?"))
        retried = post_run(c, "crashed", run_body())
        again = post_run(c, "crashed", run_body())
    assert other.status_code == 422 and other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert retried.status_code == 200, retried.text
    assert "Idempotent-Replayed" not in retried.headers
    assert retried.json()["id"] == first_id
    assert retried.json()["decision"]["kind"] == "answer"
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == retried.json()
    assert api.runs() == 1


def test_a_dead_claim_older_than_a_day_starts_a_new_life(api: Api) -> None:
    first_id = dead_claim(api, "ancient", KEY_TTL_S + 1, store_run=True)
    with api.client() as c:
        retried = post_run(c, "ancient", run_body("Where is order #W4566809?"))
    assert retried.status_code == 200, retried.text
    assert retried.json()["id"] != first_id
    assert api.runs() == 2  # the day-old run stays as it was, the new life has its own


def test_a_claim_taken_over_late_is_not_lapsed_by_the_age_of_its_key(api: Api) -> None:
    """A key released ten minutes ago is taken over by a retry: while that retry runs, another
    one is told to wait, not handed a new life of the key (which would run a second time)."""
    released = time.time() - 2 * CLAIM_TTL_S
    where = KeyScope.of(_key_id(api), "POST", "/v1/runs", "late")
    row = {"operator_id": where.operator_id, "route": where.route, "key": "late"}
    row |= {"body_hash": _digest(run_body()), "state": "released"}
    with api.desk.store.engine.begin() as conn:
        conn.execute(request_keys.insert().values(**row, created_at=released, claimed_at=released))
    api.model.delay = 1.0  # the taking-over request holds the key while the other arrives
    results: dict[str, httpx.Response] = {}

    def send(name: str) -> None:
        with api.client() as c:
            results[name] = post_run(c, "late", run_body())

    first = threading.Thread(target=send, args=("first",))
    first.start()
    deadline = time.monotonic() + 10
    while _state(api, where) != "in_progress":
        assert time.monotonic() < deadline, "the retry never took the key over"
        time.sleep(0.01)
    send("second")
    first.join(timeout=60)
    assert results["first"].status_code == 200, results["first"].text
    assert results["first"].json()["id"] == keyed_id(Keyed(where, released), "run")
    assert results["second"].status_code == 409, results["second"].text
    assert results["second"].json()["code"] == ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS
    assert api.runs() == 1


def _state(api: Api, where: KeyScope) -> str | None:
    t = request_keys.c
    with api.desk.store.engine.connect() as conn:
        return conn.execute(
            select(t.state).where(
                t.operator_id == where.operator_id, t.route == where.route, t.key == where.key
            )
        ).scalar()


def _key_id(api: Api) -> str:
    token = api.admin["Authorization"].removeprefix("Bearer ")
    return api.operators.authenticate(token).key_id


def _digest(body: dict[str, Any]) -> str:
    query = b"wait=60"
    return hashlib.sha256(query + b"\n" + httpx.Request("POST", "/", json=body).content).hexdigest()


def test_a_key_that_cannot_be_claimed_starts_no_run(sqlite_url: str) -> None:
    desk = open_retail_desk(RunStore.open(sqlite_url), db=RetailDB.fresh_copy())
    app = create_app(desk, model_factory=Model(), allow_scripts=True)
    key, _ = app.state.operators.create("admin", name="tests", actor="tests")
    with desk.store.engine.begin() as conn:  # the table is gone: every claim fails
        conn.execute(text("DROP TABLE request_keys"))
    try:
        with serve(app) as url, httpx.Client(base_url=url, timeout=30) as c:
            headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "k"}
            response = c.post("/v1/runs?wait=60", json=run_body(), headers=headers)
        assert response.status_code == 503
        assert response.json()["code"] == ErrorCode.STORE_UNAVAILABLE
        assert desk.store.count_runs(RunFilter()) == 0
    finally:
        app.state.approvals.service.stop()
        desk.store.close()
